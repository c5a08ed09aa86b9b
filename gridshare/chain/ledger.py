"""Read a community's energy ledger back from the chain: meters, verified readings, token balances."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gridshare.chain.deployment import Community
from gridshare.chain.events import verified_intervals
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.units import ZERO_ADDRESS, interval_id


@dataclass
class MeterSummary:
    meter_id: bytes
    owner: str
    kind: MeterKind
    capacity_w: int
    readings: int = 0
    import_wh: int = 0
    export_wh: int = 0


@dataclass(frozen=True)
class Position:
    """One account in one interval: tokens held, verified import, redeemed (all Wh)."""

    account: str
    interval_id: int
    balance_wh: int
    import_wh: int
    redeemed_wh: int


def _from_block(community: Community) -> int:
    return min(c["blockNumber"] for c in community.manifest["contracts"].values())


def _registered(community: Community) -> dict[bytes, MeterSummary]:
    result: dict[bytes, MeterSummary] = {}
    for e in community.registry.events.MeterRegistered().get_logs(from_block=_from_block(community)):
        a = e["args"]
        result[a["meterId"]] = MeterSummary(a["meterId"], a["owner"], MeterKind(a["kind"]), a["capacityW"])
    return result


def participants(community: Community) -> list[str]:
    """Every participant, in the order admitted (the registry's ``ParticipantRegistered`` events)."""
    logs = community.registry.events.ParticipantRegistered().get_logs(from_block=_from_block(community))
    return list(dict.fromkeys(e["args"]["account"] for e in logs))


def meters(community: Community) -> dict[bytes, MeterSummary]:
    """Every registered meter with the totals of its verified readings, from the registry's events."""
    result = _registered(community)
    logs = community.registry.events.ReadingsVerified().get_logs(from_block=_from_block(community))
    for v in verified_intervals(logs, community.interval_seconds):
        m = result[v.meter_id]
        m.readings += 1
        m.import_wh += v.import_wh
        m.export_wh += v.export_wh
    return result


def intervals_with_energy(community: Community) -> dict[str, set[int]]:
    """For each meter owner, the interval ids in which a verified reading credited it energy."""
    owners = {m.meter_id: m.owner for m in _registered(community).values()}
    seconds = community.interval_seconds
    result: dict[str, set[int]] = defaultdict(set)
    logs = community.registry.events.ReadingsVerified().get_logs(from_block=_from_block(community))
    for v in verified_intervals(logs, seconds):
        if v.import_wh or v.export_wh:
            result[owners[v.meter_id]].add(interval_id(v.interval_start, seconds))
    return result


def positions(community: Community, accounts: list[str] | None = None) -> list[Position]:
    """Token balance, verified import and redeemed amount of each account in each interval where
    it was credited energy or received tokens."""
    start = _from_block(community)
    touched = intervals_with_energy(community)
    for e in community.token.events.TransferSingle().get_logs(from_block=start):
        a = e["args"]
        if a["to"] != ZERO_ADDRESS:
            touched[a["to"]].add(a["id"])
    for e in community.token.events.TransferBatch().get_logs(from_block=start):
        a = e["args"]
        if a["to"] != ZERO_ADDRESS:
            touched[a["to"]].update(a["ids"])
    token = community.token.functions
    rows = []
    for account in sorted(touched):
        if accounts and account not in accounts:
            continue
        ids = sorted(touched[account])
        balances = token.balanceOfBatch([account] * len(ids), ids).call()
        for iid, balance in zip(ids, balances):
            rows.append(Position(account, iid, balance, token.verifiedImport(account, iid).call(),
                                 token.redeemed(account, iid).call()))
    return rows


def redeem(community: Community, account: str, amounts: dict[int, int]) -> None:
    """``account`` consumes crypto-kWh it holds against its verified import: Wh per interval id."""
    ids = sorted(amounts)
    community.transact(community.token.functions.redeemBatch(account, ids, [amounts[i] for i in ids]), account)
