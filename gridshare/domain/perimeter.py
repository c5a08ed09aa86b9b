"""The perimeter of a collective self-consumption operation, checked off-chain at registration.

French rules (Code de l'énergie L315-2, arrêté of 21 November 2019 and later): the participants are
behind one HV/LV substation, or, in an "extended" operation, the two furthest apart are at most 2 km
apart (10 km peri-urban, 20 km rural, by an exemption the authorities grant: its reference is
required, a zone is not just a choice), and the
operation's total production capacity stays strictly below a limit (3 MW, raised to 5 MW; 10 MW for
public bodies; 0.5 MW in non-interconnected zones): exactly 5 MW is refused. Coordinates are personal data: they stay off-chain,
in the operator's files; the chain only learns that the operation was checked.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from gridshare.errors import GridshareError

EARTH_RADIUS_KM = 6371.0088
#: maximum distance between the two furthest participants, km
DISTANCE_KM = {"urban": 2.0, "peri-urban": 10.0, "rural": 20.0}
#: production capacity limits, kW
CAPACITY_KW = {"default": 5_000.0, "public": 10_000.0, "non-interconnected": 500.0}


@dataclass(frozen=True)
class Site:
    name: str  # a meterId (0x...) or any label the operator uses
    latitude: float
    longitude: float
    capacity_kw: float = 0.0  # production capacity; 0 for a consumer
    substation: str = ""  # the HV/LV substation it is connected behind (the grid operator's id), if known


def distance_km(a: Site, b: Site) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp, dl = p2 - p1, math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def check(sites: list[Site], *, zone: str = "urban", capacity: str = "default",
          exemption: str | None = None) -> tuple[float, float]:
    """Raise :class:`GridshareError` naming the problem if the sites break the perimeter rules;
    return (the largest distance in km, the total capacity in kW). Sites all behind the same HV/LV
    substation need no distance check; otherwise the extended perimeter applies, ``zone``
    ``peri-urban`` or ``rural`` only with the reference of the exemption that grants it."""
    if zone not in DISTANCE_KM:
        raise GridshareError(f"unknown zone {zone!r}: use {', '.join(DISTANCE_KM)}")
    if capacity not in CAPACITY_KW:
        raise GridshareError(f"unknown capacity rule {capacity!r}: use {', '.join(CAPACITY_KW)}")
    if zone != "urban" and not (exemption or "").strip():
        raise GridshareError(f"a {zone} operation ({DISTANCE_KM[zone]:g} km) needs the exemption that grants it: pass "
                             "--exemption with its reference (the decision's number and date)")
    widest, pair = 0.0, None
    for a, b in combinations(sites, 2):
        d = distance_km(a, b)
        if d > widest:
            widest, pair = d, (a, b)
    substations = {s.substation for s in sites}
    same_substation = len(substations) == 1 and "" not in substations
    if pair and widest > DISTANCE_KM[zone] and not same_substation:
        raise GridshareError(f"{pair[0].name} and {pair[1].name} are {widest:.2f} km apart; a {zone} operation "
                             f"allows {DISTANCE_KM[zone]:g} km (or all members behind one HV/LV substation: a "
                             "substation column in the sites file)")
    total = sum(s.capacity_kw for s in sites)
    if total >= CAPACITY_KW[capacity]:
        raise GridshareError(f"the operation's production capacity would be {total:,.0f} kW; it must stay below "
                             f"{CAPACITY_KW[capacity]:,.0f} kW (the {capacity} limit)")
    return widest, total


def load_sites(path: Path) -> dict[str, Site]:
    """Sites from a CSV with columns name,latitude,longitude[,capacity_kw][,substation]."""
    if not path.exists():
        raise GridshareError(f"{path} not found")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"name", "latitude", "longitude"} <= set(reader.fieldnames):
            raise GridshareError(f"{path}: the header must name the columns "
                                 "name,latitude,longitude[,capacity_kw][,substation]")
        sites = {}
        for line, row in enumerate(reader, start=2):
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
                cap = float(row.get("capacity_kw") or 0)
            except ValueError:
                raise GridshareError(f"{path} line {line}: latitude, longitude and capacity_kw must be numbers") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or cap < 0:
                raise GridshareError(f"{path} line {line}: coordinates or capacity out of range")
            sites[row["name"].strip().lower()] = Site(row["name"].strip(), lat, lon, cap,
                                                      (row.get("substation") or "").strip())
        return sites
