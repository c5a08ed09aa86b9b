"""A collective self-consumption operation on-chain: members, and sharing interval by interval.

:func:`allocate` relays the members' signed runs of readings through ``SelfConsumption``, which
verifies them and shares each interval in the same transaction. The registry accepts a member's
readings of its intervals in the operation only from the operation, and the operation shares its
intervals in order, each once: nothing can be verified and left unshared, or skipped. It is
idempotent and resumable: intervals up to the operation's ``lastAllocated`` are done and skipped,
so a run killed in the middle and started again loses nothing and counts nothing twice. It stops
at the first interval a member's runs do not reach, and says which meter and interval.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from eth_abi import encode
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from web3.logs import DISCARD
from web3.utils.abi import get_abi_element

from gridshare.chain.deployment import KEY_MODES, Community
from gridshare.chain.relayer import relay
from gridshare.domain.allocation import AllocationKey, allocate_or_default, split_pro_rata
from gridshare.errors import GridshareError
from gridshare.protocol.gas import BATCH_GAS, run_gas
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.operation import KeyFault
from gridshare.protocol.readings import SignedReadings
from gridshare.protocol.units import interval_id

STILL_IN = 2**32 - 1
MAX_MEMBERS = 120  # SelfConsumption.MAX_MEMBERS (tests/test_self_consumption.py checks they agree)


@dataclass(frozen=True)
class Member:
    meter_id: bytes
    account: str
    from_interval: int
    until_interval: int

    def active(self, interval_id: int) -> bool:
        return self.from_interval <= interval_id < self.until_interval


@dataclass
class AllocationReport:
    intervals: int = 0
    already_allocated: int = 0
    transactions: int = 0
    gas_used: int = 0
    incomplete: tuple[int, bytes] | None = None  # (interval id, missing meter) where it stopped
    why: str = ""  # why that meter's runs do not reach that interval
    skipped_ids: list[int] = field(default_factory=list)
    batches: list[tuple[list[int], int]] = field(default_factory=list)  # per transaction: interval ids, gas
    #: intervals the operation shared with the default key instead of its supplied one, and why
    #: (``DefaultKeyApplied``: the list was missing, or invalid for that interval's members)
    defaulted: list[tuple[int, str]] = field(default_factory=list)


class EncodedCall:
    """A contract call encoded once with eth_abi, sent and simulated like a web3 contract function
    (:meth:`Community.transact` and :meth:`Community.simulate` take either). web3 normalizes every
    element of a large argument first: 30 ms for a batch of 102 readings, against 2 ms here."""

    def __init__(self, contract, name: str, *args):
        abi = get_abi_element(contract.abi, name)
        self._w3, self._to = contract.w3, contract.address
        self.data = "0x" + (function_abi_to_4byte_selector(abi) + encode(get_abi_input_types(abi), args)).hex()

    def transact(self, params: dict):
        return self._w3.eth.send_transaction({**params, "to": self._to, "data": self.data})

    def call(self, params: dict, block_identifier="latest"):
        return self._w3.eth.call({**params, "to": self._to, "data": self.data}, block_identifier)


def members(community: Community) -> list[Member]:
    return [Member(*m) for m in community.operation.functions.members().call()]


def key_name(community: Community) -> str:
    return KEY_MODES[community.operation.functions.key().call()]


def defaulted_intervals(community: Community, start: int, end: int) -> list[tuple[int, str]]:
    """The intervals starting in [start, end) that the operation shared with the default key instead
    of its supplied one (``DefaultKeyApplied``), with why."""
    seconds = community.interval_seconds
    events = community.operation.events.DefaultKeyApplied().get_logs(from_block=community.deployed_at)
    return sorted((e.args.intervalId, KeyFault(e.args.fault).text) for e in events
                  if start <= e.args.intervalId * seconds < end)


def join(community: Community, meter_ids: Sequence[bytes], from_interval: int) -> None:
    """Add meters to the operation from ``from_interval`` on, in one transaction (skips those
    already members): the contract rewrites its whole member list at each join."""
    present = {m.meter_id for m in members(community)}
    new = list(dict.fromkeys(m for m in meter_ids if m not in present))
    if new:
        community.transact(community.operation.functions.join(new, from_interval))


def _chains(community: Community, ms: list[Member], runs: Sequence[SignedReadings]) -> dict[bytes, list[SignedReadings]]:
    """Per member meter, its runs that continue its verified readings on-chain, in order."""
    seconds = community.interval_seconds
    by_meter: dict[bytes, dict[int, SignedReadings]] = defaultdict(dict)
    for s in runs:
        by_meter[s.run.meter_id][s.run.previous_end] = s
    chains: dict[bytes, list[SignedReadings]] = {}
    for m in ms:
        cursor = community.registry.functions.meterState(m.meter_id).call()[0]
        chain = []
        mine = by_meter.get(m.meter_id, {})
        while cursor in mine:
            chain.append(mine[cursor])
            cursor = mine[cursor].run.end(seconds)
        chains[m.meter_id] = chain
    return chains


def allocate(
    community: Community,
    runs: Sequence[SignedReadings],
    *,
    key: AllocationKey | None = None,
    max_gas: int = BATCH_GAS,
    on_progress: Callable[[int], None] | None = None,
    check_first: bool = True,
) -> AllocationReport:
    """Share every interval the members' runs in ``runs`` reach, not shared yet.

    A batch shares the intervals from ``lastAllocated + 1`` to an end every member active in them
    has a run ending at (a member leaving before: at or after it leaves; runs are signed by the
    meters and cannot be cut): the largest such end whose batch's worst-case gas
    (:mod:`gridshare.protocol.gas`) is at most ``max_gas``, or the first one if even that is larger (its
    members should sign shorter runs: ``gas.run_intervals_for``). A member's runs that end before
    it joined are its own: relayed straight to the registry first.

    ``key`` is required when the operation's key is ``supplied``: the shares are computed here with
    it (see :mod:`gridshare.domain.allocation`) and the contract checks their bounds.
    ``check_first=False`` sends each transaction without simulating it first (a refusal is still
    named, by replaying it: see :meth:`Community.transact`).
    """
    operation = community.operation
    supplied = key_name(community) == "supplied"
    if supplied and key is None:
        raise GridshareError("this operation's key is 'supplied': pass the allocation key that computes the shares")
    seconds = community.interval_seconds
    ms = members(community)
    last = operation.functions.lastAllocated().call()
    report = AllocationReport()
    report.already_allocated = len({interval_id(t, seconds) for s in runs for t in s.run.interval_starts(seconds)
                                    if interval_id(t, seconds) <= last})
    if on_progress and report.already_allocated:
        on_progress(report.already_allocated)
    # a member's runs before it joined are its own: verified straight by the registry (a meter
    # joining long after its registration declares that outage there, not in a shared batch)
    joined = {m.meter_id: m.from_interval for m in ms}
    early = [s for s in runs if s.run.meter_id in joined and s.run.end(seconds) <= joined[s.run.meter_id] * seconds]
    if early:
        relayed = relay(community, early)
        report.gas_used += relayed.gas_used
        report.transactions += relayed.batches
    chains = _chains(community, ms, runs)
    ends = {mid: [interval_id(s.run.end(seconds), seconds) for s in chain] for mid, chain in chains.items()}
    kinds = {m.meter_id: MeterKind(community.registry.functions.meter(m.meter_id).call()[2]) for m in ms}
    start = last + 1
    while True:
        batch_end, incomplete = _next_end(ms, kinds, ends, start, max_gas)
        if batch_end is None:
            # stopped short only if some member's run given is left unshared
            member_ids = {m.meter_id for m in ms}
            left = any(s.run.meter_id in member_ids and interval_id(s.run.end(seconds), seconds) > start for s in runs)
            if left and incomplete is not None:
                report.incomplete = incomplete
                report.why = _why(community, incomplete, ms)
            break
        active = [m for m in ms if m.from_interval < batch_end and m.until_interval > start
                  and m.from_interval < m.until_interval]
        batch: list[SignedReadings] = []
        for m in active:
            while chains[m.meter_id] and interval_id(chains[m.meter_id][0].run.end(seconds), seconds) <= batch_end:
                batch.append(chains[m.meter_id].pop(0))
            ends[m.meter_id] = [e for e in ends[m.meter_id] if e > batch_end]
        args = [s.as_call_arg() for s in batch]
        if supplied:
            assert key is not None  # checked above
            call = EncodedCall(operation, "submitAndAllocateSupplied", args,
                               _shares(key, batch, active, start, batch_end, seconds))
        else:
            call = EncodedCall(operation, "submitAndAllocate", args)
        receipt = community.transact(call, simulated=not check_first)
        if supplied:
            report.defaulted += [(e.args.intervalId, KeyFault(e.args.fault).text) for e in
                                 operation.events.DefaultKeyApplied().process_receipt(receipt, errors=DISCARD)]
        report.transactions += 1
        report.gas_used += receipt["gasUsed"]
        ids = list(range(start, batch_end))
        report.batches.append((ids, receipt["gasUsed"]))
        report.intervals += len(ids)
        report.skipped_ids += [i for i in ids if not any(m.active(i) for m in active)]
        if on_progress:
            on_progress(len(ids))
        start = batch_end
    return report


def _next_end(ms: list[Member], kinds: dict[bytes, MeterKind], ends: dict[bytes, list[int]], start: int,
              budget: int) -> tuple[int | None, tuple[int, bytes] | None]:
    """The end (first interval id after) of the next batch from ``start``, or None and the first
    (interval id, meter) no run reaches."""
    candidates = sorted({e for es in ends.values() for e in es if e > start})
    best = None
    for end in candidates:
        active = [m for m in ms if m.from_interval < end and m.until_interval > start and m.from_interval < m.until_interval]
        # every active member's runs reach the end (or, if it leaves before, its leaving)
        if not all(max((e for e in ends[m.meter_id] if e <= end), default=-1) >= min(end, m.until_interval)
                   for m in active):
            continue
        cost = sum(run_gas(kinds[m.meter_id], max(start, m.from_interval), end - max(start, m.from_interval))
                   for m in active)
        if best is not None and cost > budget:
            break
        best = end
    if best is not None:
        return best, None
    # where it stops: the first interval a member is in the operation but its runs do not reach
    # (runs cannot be cut: when members' runs end at different intervals, the member whose runs
    # stop first is the one missing runs; in member order for the same interval)
    missing = []
    for m in ms:
        if m.until_interval > start and m.from_interval < m.until_interval:
            first = max(start, m.from_interval)
            reach = max((e for e in ends[m.meter_id] if e > first), default=first)
            if reach < m.until_interval:
                missing.append((reach, m.meter_id))
    return None, min(missing, key=lambda x: x[0]) if missing else None


def _why(community: Community, incomplete: tuple[int, bytes], ms: list[Member]) -> str:
    iid, meter = incomplete
    nxt = community.registry.functions.meterState(meter).call()[0]
    return (f"the meter's verified readings end at {nxt}; no run continuing them "
            f"reaches interval {iid} (starting {iid * community.interval_seconds})")


def _shares(key: AllocationKey, batch: list[SignedReadings], active: list[Member], start: int, end: int,
            seconds: int) -> list[list[int]]:
    """Per interval of the batch, each active member's share with ``key``, followed by what each
    gives when the key does not split the total between producers pro rata of their export (a
    key per producer-consumer pair); members are named by their meter id in hex (e.g. for static
    coefficients). An interval the key cannot serve gets no list: the operation shares it with
    the default key (``DefaultKeyApplied``)."""
    energy: dict[tuple[bytes, int], tuple[int, int]] = {}
    for s in batch:
        r = s.run
        for t, imp, exp in zip(r.interval_starts(seconds), r.import_wh, r.export_wh):
            energy[(r.meter_id, interval_id(t, seconds))] = (imp, exp)
    out: list[list[int]] = []
    for iid in range(start, end):
        now = [m for m in active if m.active(iid)]
        names = ["0x" + m.meter_id.hex() for m in now]
        values = [energy.get((m.meter_id, iid), (0, 0)) for m in now]  # an outage counts zero
        if not now:
            out.append([])
            continue
        allocation, why = allocate_or_default(key, {n: v[1] for n, v in zip(names, values)},
                                              {n: v[0] for n, v in zip(names, values)})
        # a key that cannot serve the interval: no list, and the operation applies the default key
        if why:
            out.append([])
            continue
        received = [allocation.received(n) for n in names]
        given = [allocation.given(n) for n in names]
        # the producers' gives go with the shares only where the key splits them otherwise than
        # the contract would (pro rata of export): a key per producer-consumer pair
        pooled = given == split_pro_rata(sum(received), [v[1] for v in values])
        out.append(received if pooled else received + given)
    return out
