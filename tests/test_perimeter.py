"""The operation's perimeter: distance between the furthest members and total capacity."""

import pytest

from gridshare.domain.perimeter import Site, check, distance_km, load_sites
from gridshare.errors import GridshareError

BELLECOUR = Site("bellecour", 45.7578, 4.8320, 36)
TERREAUX = Site("terreaux", 45.7676, 4.8344, 9)  # about 1.1 km north
VILLEURBANNE = Site("villeurbanne", 45.7719, 4.8902, 0)  # about 4.8 km east-north-east


def test_haversine_distance():
    assert distance_km(BELLECOUR, TERREAUX) == pytest.approx(1.10, abs=0.02)
    assert distance_km(BELLECOUR, BELLECOUR) == 0


def test_a_compact_operation_passes():
    widest, total = check([BELLECOUR, TERREAUX])
    assert widest == pytest.approx(1.10, abs=0.02) and total == 45


def test_too_wide_for_an_urban_operation_names_the_pair():
    with pytest.raises(GridshareError, match="bellecour and villeurbanne are 4.7. km apart; a urban operation allows 2 km"):
        check([BELLECOUR, TERREAUX, VILLEURBANNE])
    check([BELLECOUR, TERREAUX, VILLEURBANNE], zone="peri-urban", exemption="arrêté 2024-123 of 2024-03-01")


@pytest.mark.parametrize("zone", ["peri-urban", "rural"])
def test_a_wider_zone_needs_the_exemption_that_grants_it(zone):
    """10 and 20 km are exemptions the authorities grant, not a choice: without a reference, refused."""
    for exemption in (None, "", "  "):
        with pytest.raises(GridshareError, match=f"a {zone} operation .* needs the exemption that grants it: pass "
                                                 "--exemption"):
            check([BELLECOUR, TERREAUX], zone=zone, exemption=exemption)


def test_members_behind_one_substation_need_no_distance_check():
    far = [Site(s.name, s.latitude, s.longitude, s.capacity_kw, "HTA-BT 0421") for s in (BELLECOUR, VILLEURBANNE)]
    widest, _ = check(far)
    assert widest > 4
    with pytest.raises(GridshareError, match="or all members behind one HV/LV substation"):
        check([far[0], Site(VILLEURBANNE.name, VILLEURBANNE.latitude, VILLEURBANNE.longitude, 0, "HTA-BT 9999")])
    with pytest.raises(GridshareError, match="km apart"):  # a member without a substation: the distance applies
        check([far[0], VILLEURBANNE])


def test_the_sites_file_may_name_substations(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("name,latitude,longitude,capacity_kw,substation\nA,45.7,4.8,3,HTA-BT 1\nB,45.8,4.9,0, HTA-BT 1 \n")
    sites = load_sites(path)
    assert sites["a"].substation == sites["b"].substation == "HTA-BT 1"


def test_capacity_limit():
    big = Site("plant", 45.7580, 4.8321, 4_990)
    with pytest.raises(GridshareError, match="5,026 kW; it must stay below 5,000 kW"):
        check([BELLECOUR, big])
    check([BELLECOUR, big], capacity="public")


def test_the_capacity_limit_is_strict():
    """Exactly 5 MW is refused (the rule: strictly below); a watt less passes."""
    at = Site("plant", 45.7580, 4.8321, 5_000 - BELLECOUR.capacity_kw)
    with pytest.raises(GridshareError, match="5,000 kW; it must stay below 5,000 kW .the default limit."):
        check([BELLECOUR, at])
    check([BELLECOUR, Site("plant", 45.7580, 4.8321, 4_999.999 - BELLECOUR.capacity_kw)])


def test_sites_file_errors(tmp_path):
    bad = tmp_path / "sites.csv"
    bad.write_text("name,latitude,longitude\nx,north,4.8\n")
    with pytest.raises(GridshareError, match="line 2: latitude, longitude and capacity_kw must be numbers"):
        load_sites(bad)
    bad.write_text("name,lat\n")
    with pytest.raises(GridshareError, match="the header must name"):
        load_sites(bad)
    bad.write_text("name,latitude,longitude,capacity_kw\nA,45.7,4.8,3\n")
    assert load_sites(bad)["a"].capacity_kw == 3
