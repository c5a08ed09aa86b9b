"""The one reader of the R15 quantities (:mod:`gridshare.domain.quantities`) from a community's events."""

from __future__ import annotations

from collections import defaultdict

from hexbytes import HexBytes

from gridshare.chain.deployment import Community
from gridshare.chain.events import verified_intervals
from gridshare.domain.quantities import Quantities
from gridshare.protocol.settlement import decode_entries
from gridshare.protocol.units import ZERO_ADDRESS


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
    """PROD, AUTOPROD, CONS and AUTOCONS of every participant in every interval starting in
    [start, end) (unix seconds) where it had a verified reading or moved crypto-kWh.

    Read from events: ``MeterRegistered`` (meter -> owner), ``ReadingsVerified`` (PROD / CONS of the
    owner, per interval of each verified run), the token's ``TransferSingle`` / ``TransferBatch`` (to the zero address: a redemption,
    AUTOCONS of ``from``; between two participants: a local delivery, AUTOPROD of ``from``; mints
    are counted as PROD from the reading). Events about an interval come after it ends, so the
    scan starts at the first block at or after ``start``; meters registered before that block
    take one more call: at most two ``eth_getLogs`` in all (an embedded chain scans every receipt
    per call, so one call for all the events, not one per event).
    """
    seconds = community.interval_seconds
    w3 = community.chain.w3
    deployed = community.deployed_at
    latest = w3.eth.block_number
    from_block = _first_block_at_or_after(w3, start, deployed, latest)
    registry, token = community.registry, community.token
    wanted = (registry.events.MeterRegistered(), registry.events.ReadingsVerified(),
              token.events.TransferSingle(), token.events.TransferBatch(), token.events.SettledLocally())
    allocator = community.operation.address
    events = {(e.address, bytes(HexBytes(e.topic))): e for e in wanted}
    registered = wanted[0].topic
    logs = []
    if from_block > deployed:
        logs += w3.eth.get_logs({"address": registry.address, "topics": [registered],
                                 "fromBlock": deployed, "toBlock": from_block - 1})
    logs += w3.eth.get_logs({"address": [registry.address, token.address], "topics": [[e.topic for e in wanted]],
                             "fromBlock": from_block, "toBlock": latest})
    owners: dict[bytes, str] = {}
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # prod, autoprod, cons, autocons

    def movement(operator: str, sender: str, receiver: str, iid: int, value: int) -> None:
        if sender == ZERO_ADDRESS or not start <= iid * seconds < end:
            return  # a mint: counted as PROD from the reading
        if receiver == ZERO_ADDRESS and operator != allocator:
            cells[(sender, iid * seconds)][3] += value  # a redemption
        elif receiver != sender:  # a delivery, or the operation's settlement burning what it gives
            cells[(sender, iid * seconds)][1] += value

    # logs come in chain order: a meter's registration precedes its readings
    for log in logs:
        event = events.get((log["address"], bytes(log["topics"][0])))
        if event is None:
            continue
        e = event.process_log(log)
        a, name = e["args"], e["event"]
        if name == "MeterRegistered":
            owners[a["meterId"]] = a["owner"]
        elif name == "ReadingsVerified":
            for v in verified_intervals([e], seconds):
                if start <= v.interval_start < end:
                    cell = cells[(owners[v.meter_id], v.interval_start)]
                    cell[0] += v.export_wh
                    cell[2] += v.import_wh
        elif name == "TransferSingle":
            movement(a["operator"], a["from"], a["to"], a["id"], a["value"])
        elif name == "TransferBatch":
            for iid, value in zip(a["ids"], a["values"], strict=True):
                movement(a["operator"], a["from"], a["to"], iid, value)
        elif start <= a["intervalId"] * seconds < end:  # SettledLocally: consumed by the consumers
            for entry in decode_entries(a["entries"]):
                cells[(entry.account, a["intervalId"] * seconds)][3] += entry.received_wh
    return [Quantities(account, s, *cell) for (account, s), cell in sorted(cells.items())]
