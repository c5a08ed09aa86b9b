"""Time-matched claims read back from the chain: what an account consumed against its verified
import, interval by interval, and which producing device each Wh came from.

- **Shared** Wh: the operation's ``SettledLocally`` entries of the interval; the account's
  receipt is attributed to the members that gave, pro rata of what each gave (as the
  settlement's total is split, :func:`gridshare.domain.allocation.split_pro_rata`).
- **Claimed** Wh: the account's own burns of the interval's crypto-kWh (``redeem``); attributed
  to where its tokens of that interval came from, pro rata: a seller in the market (its
  ``Traded`` fills of the account's bids) or the participant that transferred them.

A device is the exporting meter of the account that produced the Wh (an account exports through
one meter at most). One ``eth_getLogs`` per event kind, filtered by the account where it can be.
"""

from __future__ import annotations

from collections import defaultdict

from gridshare.chain.deployment import Community
from gridshare.domain.allocation import split_pro_rata
from gridshare.protocol.guarantees import TimeMatchedClaim
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.settlement import decode_entries
from gridshare.protocol.units import ZERO_ADDRESS


def _devices(community: Community) -> dict[str, bytes]:
    """Account -> its exporting meter."""
    out = {}
    for e in community.registry.events.MeterRegistered().get_logs(from_block=community.deployed_at):
        if MeterKind(e.args.kind) != MeterKind.CONSUMER:
            out[e.args.owner] = bytes(e.args.meterId)
    return out


def _split(amount: int, sources: dict[str, int]) -> dict[str, int]:
    """``amount`` Wh attributed to ``sources`` (account -> Wh they supplied), pro rata, in order."""
    names = list(sources)
    total = sum(sources.values())
    if total == 0:
        return {}
    parts = split_pro_rata(min(amount, total), [sources[n] for n in names])
    return {n: p for n, p in zip(names, parts) if p}


def time_matched_claims(community: Community, account: str) -> list[TimeMatchedClaim]:
    """Every Wh ``account`` consumed against its verified import, by interval and device."""
    token, start = community.token, community.deployed_at
    seconds = community.interval_seconds
    devices = _devices(community)
    claims: list[TimeMatchedClaim] = []

    def add(producer: str, iid: int, wh: int, how: str, tx: str) -> None:
        claims.append(TimeMatchedClaim(account, devices.get(producer, bytes(32)), producer, iid * seconds,
                                       (iid + 1) * seconds, wh, how, tx))

    for e in token.events.SettledLocally().get_logs(from_block=start):
        entries = decode_entries(e.args.entries)
        received = sum(x.received_wh for x in entries if x.account == account)
        if received:
            givers = {x.account: x.given_wh for x in entries if x.given_wh}
            for producer, wh in _split(received, givers).items():
                add(producer, e.args.intervalId, wh, "shared", "0x" + bytes(e.transactionHash).hex())

    # where the account's tokens of each interval came from: market fills of its bids, transfers
    sources: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    market = community.market
    bids = {e.args.orderId for e in market.events.OrderPlaced().get_logs(from_block=start,
                                                                        argument_filters={"owner": account})
            if e.args.side == 0}
    owners = {e.args.orderId: e.args.owner for e in market.events.OrderPlaced().get_logs(from_block=start)}
    for e in market.events.Traded().get_logs(from_block=start):
        if e.args.bidId in bids:
            sources[e.args.intervalId][owners[e.args.askId]] += e.args.quantityWh
    burns: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for name in ("TransferSingle", "TransferBatch"):
        for e in token.events[name]().get_logs(from_block=start):
            a = e.args
            ids, values = ((a.ids, a["values"]) if name == "TransferBatch" else ([a.id], [a.value]))
            if a.to == account and a["from"] not in (ZERO_ADDRESS, market.address):
                for iid, v in zip(ids, values):
                    sources[iid][a["from"]] += v
            # the account's own burns: its claims (the operation's and the certificates' burns
            # have them as operator)
            if a["from"] == account and a.to == ZERO_ADDRESS and a.operator not in (
                    community.operation.address, community.guarantees.address):
                for iid, v in zip(ids, values):
                    burns[iid].append((v, "0x" + bytes(e.transactionHash).hex()))
    for iid, done in sorted(burns.items()):  # an interval's claims together: its sources split once
        txs = " ".join(tx for _, tx in done)
        for producer, part in _split(sum(wh for wh, _ in done), dict(sources[iid])).items():
            add(producer, iid, part, "claimed", txs)
    return sorted(claims, key=lambda c: (c.interval_start, c.how, c.producer))
