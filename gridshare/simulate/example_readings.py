"""Example readings for a registered meter: what its data would be on clear-sky days (pure Python).

``gridshare meter example-readings`` writes them so that a newcomer on a devnet can try the whole
flow (sign, submit, certify, trade) without a real meter: a producer exports the clear-sky energy
of a PV plant of its capacity (:func:`gridshare.simulate.profiles.pv_export_wh`, Lyon), a consumer
imports a household's BDEW H0 load (:func:`~gridshare.simulate.profiles.household_import_wh`, its
annual consumption scaled on its capacity), a prosumer the two netted per interval. Deterministic:
the noise is seeded by the meter id.
"""

from __future__ import annotations

from gridshare.protocol.meters import MeterKind
from gridshare.protocol.readings import MeterReading, series_to_readings
from gridshare.simulate.profiles import household_import_wh, pv_export_wh

__all__ = ["example_readings"]

#: kWh a year a household draws per kW of its meter's capacity (6 kVA: ~3,000 kWh a year)
ANNUAL_KWH_PER_KW = 500


def example_readings(meter_id: bytes, kind: MeterKind, capacity_w: int, start: int, end: int,
                     interval_seconds: int, import_register_wh: int = 0,
                     export_register_wh: int = 0) -> list[MeterReading]:
    """The meter's readings of every interval in [start, end) (unix seconds, on the interval grid),
    its registers advancing from the given values."""
    starts = list(range(start, end, interval_seconds))
    zero = [0] * len(starts)
    produced = pv_export_wh(capacity_w, starts, interval_seconds) if kind is not MeterKind.CONSUMER else zero
    drawn = (household_import_wh(capacity_w / 1000 * ANNUAL_KWH_PER_KW, starts, interval_seconds,
                                 seed=int.from_bytes(meter_id[:8], "big"))
             if kind is not MeterKind.PRODUCER else zero)
    imports = [max(0, d - p) for d, p in zip(drawn, produced)]
    exports = [max(0, p - d) for d, p in zip(drawn, produced)]
    return series_to_readings(meter_id, starts, imports, exports, import_register_wh=import_register_wh,
                              export_register_wh=export_register_wh)
