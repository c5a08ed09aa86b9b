"""Who a meter's readings are credited to: the registry's ``meterOwner`` of each meter id."""

from __future__ import annotations

from typing import Mapping

from gridshare.chain.deployment import Community
from gridshare.errors import GridshareError
from gridshare.protocol.units import ZERO_ADDRESS


def owners(community: Community, meters: Mapping[str, bytes]) -> dict[str, str]:
    """For each name (a meter point) -> meter id: the account that owns the meter; refuses a meter
    the registry does not know."""
    out = {}
    for name, meter_id in meters.items():
        try:
            owner = community.registry.functions.meterOwner(meter_id).call()[0]
        except Exception as exc:  # noqa: BLE001 - decoded below; anything else is not ours to name
            error = community.errors.from_exception(exc)
            if error is None or error.name != "MeterRegistryUnknownMeter":
                raise
            owner = ZERO_ADDRESS
        if owner == ZERO_ADDRESS:
            raise GridshareError(f"meter point {name} (meter 0x{meter_id.hex()}) is not registered; check the PRM "
                                 "and the community salt")
        out[name] = owner
    return out
