"""`gridshare simulate` with pledges (the packaged AMEP scenario, shortened to one day): the chain's
gifts equal the pure rule on the engine's allocation, one Wh one claim holds across sharing, gifts
and the supplier, and the reports show what was given and received."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gridshare.chain.network import connect
from gridshare.simulate.report import summary_rows
from gridshare.simulate.scenario import DEFAULT_SCENARIO, parse_scenario
from gridshare.simulate.simulation import simulate

AMEP = DEFAULT_SCENARIO.parent / "amep.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    scenario = parse_scenario(AMEP.read_text().replace("days = 2", "days = 1"), "amep.toml")
    chain = connect("embedded")
    try:
        return scenario, simulate(scenario, chain, tmp_path_factory.mktemp("amep"), plots=False)
    finally:
        chain.close()


def test_the_pledges_gifts_equal_the_rule_and_reach_only_energy_poor_households(run):
    scenario, result = run
    assert result.mismatches == [] and result.checks["solidarity gifts"] == 96
    poor = {r["participant"] for r in result.participants if r["energy_poor"]}
    producers = {r["participant"] for r in result.participants if r["role"] != "consumer"}
    assert len(poor) == 5 and result.gifts
    assert {g["recipient"] for g in result.gifts} <= poor and {g["giver"] for g in result.gifts} <= producers
    assert all(g["wh"] > 0 for g in result.gifts)


def test_every_wh_ends_once_in_the_participants_report(run):
    _, result = run
    rows = {r["participant"]: r for r in result.participants}
    given = sum(r["given_solidarity_kwh"] for r in rows.values())
    assert given == pytest.approx(sum(r["received_solidarity_kwh"] for r in rows.values()))
    assert given == pytest.approx(sum(g["wh"] for g in result.gifts) / 1000)
    for r in rows.values():  # export: shared, given, sold or to the grid; import: received, given, bought or supplied
        assert r["exported_kwh"] == pytest.approx(r["given_locally_kwh"] + r["given_solidarity_kwh"]
                                                  + r["sold_market_kwh"] + r["to_grid_kwh"])
        assert r["imported_kwh"] == pytest.approx(r["received_locally_kwh"] + r["received_solidarity_kwh"]
                                                  + r["bought_market_kwh"] + r["from_supplier_kwh"])
    summary = {row["figure"]: row["value"] for row in summary_rows(result)}
    assert summary["given to energy-poor households (kWh)"] == pytest.approx(given, abs=1e-3)


def test_the_gifts_file_lists_every_gift(run):
    _, result = run
    with Path(result.files["solidarity"]).open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["giver"], r["recipient"], int(r["wh"])) for r in rows] == [
        (g["giver"], g["recipient"], g["wh"]) for g in result.gifts]


def test_the_members_vote_the_treasurys_payout_to_the_energy_poor_households(run):
    scenario, result = run
    vote = result.vote
    assert scenario.treasury.donation == 100_000_000 and vote["state"] == "Executed"
    assert vote["for_votes"] + vote["against_votes"] + vote["abstain_votes"] == pytest.approx(vote["total_votes"])
    assert vote["for_votes"] > vote["against_votes"]  # (70 % of the draws for)
    # every meter one vote, plus its export of the year (in MWh, capped at 10): 21 meters, the producers' export
    exported_mwh = sum(r["exported_kwh"] for r in result.participants) / 1000
    assert vote["total_votes"] == pytest.approx(len(result.participants) + exported_mwh, abs=1e-6)
    paid = {r["participant"]: r["treasury_paid_eur"] for r in result.participants}
    assert {name: eur for name, eur in paid.items() if eur} == {
        r["participant"]: 20.0 for r in result.participants if r["energy_poor"]}
    summary = {row["figure"]: row["value"] for row in summary_rows(result)}
    assert summary["treasury proposal 1 (pay the energy-poor households)"] == "executed"
