"""The one reader of the R15 quantities (:mod:`gridshare.domain.quantities`) from a community's events.

PROD and CONS come from the verified readings (``ReadingsVerified``, credited to the meter's
owner), AUTOPROD and AUTOCONS from the operation's settlements alone (``SettledLocally``: what each
member gave and received): the grid operator's figures of collective self-consumption. Market
trades, escrows and redemptions of bought crypto-kWh are not sharing and do not count here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping

from hexbytes import HexBytes

from gridshare.chain.deployment import Community
from gridshare.chain.events import verified_intervals
from gridshare.domain.quantities import Quantities
from gridshare.protocol.settlement import decode_entries


def quantities_of(events: Iterable, owners: Mapping[bytes, str], interval_seconds: int, start: int,
                  end: int) -> list[Quantities]:
    """PROD, AUTOPROD, CONS and AUTOCONS of every account in every interval starting in
    [start, end) (unix seconds) where it had a verified reading or shared, from decoded
    ``ReadingsVerified`` and ``SettledLocally`` events (others are ignored); ``owners``: meter id ->
    the account its readings are credited to. Sorted by account and interval."""
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # prod, autoprod, cons, autocons
    for e in events:
        if e["event"] == "ReadingsVerified":
            first = e["args"]["firstIntervalStart"]
            if first >= end or first + len(e["args"]["energyWh"]) // 8 * interval_seconds <= start:
                continue  # the run is outside the period: not decoded interval by interval
            for v in verified_intervals([e], interval_seconds):
                if start <= v.interval_start < end:
                    cell = cells[(owners[bytes(v.meter_id)], v.interval_start)]
                    cell[0] += v.export_wh
                    cell[2] += v.import_wh
        elif e["event"] == "SettledLocally":
            interval_start = e["args"]["intervalId"] * interval_seconds
            if start <= interval_start < end:
                for entry in decode_entries(e["args"]["entries"]):
                    cell = cells[(entry.account, interval_start)]
                    cell[1] += entry.given_wh
                    cell[3] += entry.received_wh
    return [Quantities(account, s, *cell) for (account, s), cell in sorted(cells.items())]


def _first_block_at_or_after(w3, timestamp: int, low: int, high: int) -> int:
    """The first block in [low, high] whose timestamp is >= ``timestamp`` (high if none)."""
    while low < high:
        mid = (low + high) // 2
        if w3.eth.get_block(mid)["timestamp"] >= timestamp:
            high = mid
        else:
            low = mid + 1
    return low


def quantities(community: Community, start: int, end: int) -> list[Quantities]:
    """The R15 quantities of every participant in every interval starting in [start, end), read
    from the chain: at most two ``eth_getLogs`` calls whatever the number of participants and
    intervals (events about an interval come after it ends, so the scan starts at the first block
    at or after ``start``; meters registered before that block take one more call; an embedded
    chain scans every receipt per call, so one call for all the events, not one per event)."""
    w3 = community.chain.w3
    deployed, latest = community.deployed_at, w3.eth.block_number
    from_block = _first_block_at_or_after(w3, start, deployed, latest)
    registry, token = community.registry, community.token
    registered = registry.events.MeterRegistered()
    wanted = {bytes(HexBytes(e.topic)): e
              for e in (registered, registry.events.ReadingsVerified(), token.events.SettledLocally())}
    logs = []
    if from_block > deployed:
        logs += w3.eth.get_logs({"address": registry.address, "topics": [registered.topic],
                                 "fromBlock": deployed, "toBlock": from_block - 1})
    logs += w3.eth.get_logs({"address": [registry.address, token.address], "topics": [[e.topic for e in wanted.values()]],
                             "fromBlock": from_block, "toBlock": latest})
    events = [wanted[bytes(HexBytes(log["topics"][0]))].process_log(log) for log in logs]
    owners = {bytes(e["args"]["meterId"]): e["args"]["owner"] for e in events if e["event"] == "MeterRegistered"}
    return quantities_of(events, owners, community.interval_seconds, start, end)
