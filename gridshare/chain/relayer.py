"""Relay signed runs of readings to the MeterRegistry in batches: resumable, and exact about what
is missing.

- **Resumable from the chain itself.** A meter's runs form one chain on-chain: each starts where
  the meter's verified readings end (``meterState(meterId).nextIntervalStart``). A rerun after a
  crash reads that state and submits only the runs that continue it: nothing is lost, nothing is
  counted twice (the contract would refuse a second copy anyway).
- **Nothing is reported verified that is not.** A run whose intervals the chain has already passed
  is checked against the meter's ``ReadingsVerified`` events: reported ``already verified`` only if
  the chain holds exactly its data, otherwise refused as ``superseded`` (the chain holds other data
  or an outage for those intervals).
- **Batches are all-or-nothing on-chain.** Each batch is first simulated with ``eth_call``; if it
  would revert, the first refused run is found by bisection over prefixes and set aside with its
  decoded custom error; the meter's later runs wait behind it (``blocked``), since they cannot be
  verified before it. A refused run signed again correctly is verified by a later relay.
- Runs a meter's chain cannot reach (a run starting after intervals the file lacks) are reported
  ``waiting`` with the missing span.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from gridshare.chain.deployment import Community
from gridshare.chain.events import verified_intervals
from gridshare.chain.revert import CustomError
from gridshare.protocol.gas import BATCH_GAS, days_reached, run_gas
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.readings import SignedReadings
from gridshare.protocol.units import interval_id



@dataclass
class Rejection:
    """A run not verified, and why: a contract ``error``, or a ``reason`` found before sending."""

    run: SignedReadings
    error: CustomError | None = None
    reason: str = ""

    def __str__(self) -> str:
        r = self.run.run
        why = str(self.error) if self.error is not None else self.reason
        return f"meter 0x{r.meter_id.hex()[:12]}.. run from {r.previous_end} ({len(r)} intervals): {why}"


@dataclass
class RelayReport:
    total: int = 0  # runs given
    already_verified: int = 0
    submitted: int = 0
    intervals: int = 0  # intervals verified by this relay
    batches: int = 0
    gas_used: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def missing(self) -> list[Rejection]:
        return self.rejected


def _on_chain(community: Community, meter_id: bytes) -> dict[int, tuple[int, int]]:
    """The meter's verified intervals: interval start -> (importWh, exportWh); outages absent."""
    logs = community.registry.events.ReadingsVerified().get_logs(
        from_block=community.deployed_at, argument_filters={"meterId": meter_id})
    return {v.interval_start: (v.import_wh, v.export_wh)
            for v in verified_intervals(logs, community.interval_seconds)}


def plan(community: Community, runs: Sequence[SignedReadings]) -> tuple[list[list[SignedReadings]], RelayReport]:
    """Per meter, the runs that continue its chain on-chain, in order; and the report of those
    already verified or that cannot be submitted (superseded, overlapping, waiting)."""
    report = RelayReport(total=len(runs))
    seconds = community.interval_seconds
    by_meter: dict[bytes, list[SignedReadings]] = defaultdict(list)
    for s in runs:
        by_meter[s.run.meter_id].append(s)
    chains: list[list[SignedReadings]] = []
    for meter_id in sorted(by_meter):
        try:
            next_start = community.registry.functions.meterState(meter_id).call()[0]
        except Exception as exc:  # noqa: BLE001 - an unknown meter: its runs get refused below
            if community.errors.from_exception(exc) is None:
                raise
            next_start = None
        todo = sorted(dict.fromkeys(by_meter[meter_id]), key=lambda s: s.run.previous_end)  # a file may repeat a run
        if next_start is None:  # submitted, to be refused with the contract's own error
            chains.append(todo)
            continue
        verified: dict[int, tuple[int, int]] | None = None
        pending: list[SignedReadings] = []
        for s in todo:
            r = s.run
            if r.end(seconds) <= next_start:
                if verified is None:
                    verified = _on_chain(community, meter_id)
                mine = dict(zip(r.interval_starts(seconds), zip(r.import_wh, r.export_wh, strict=True)))
                if all(verified.get(t) == v for t, v in mine.items()) and all(
                        t not in verified for t in range(r.previous_end, r.first_interval_start, seconds)):
                    report.already_verified += 1
                else:
                    report.rejected.append(Rejection(s, reason="superseded: the chain holds other data or "
                                                                "an outage for these intervals"))
            elif r.previous_end < next_start:
                report.rejected.append(Rejection(s, reason=f"overlaps the meter's verified readings, which end at "
                                                           f"{next_start}"))
            else:
                pending.append(s)
        chain: list[SignedReadings] = []
        cursor = next_start
        by_start: dict[int, list[SignedReadings]] = defaultdict(list)
        for s in pending:
            by_start[s.run.previous_end].append(s)
        while by_start.get(cursor):
            s = by_start[cursor].pop(0)  # two different runs from one point: the first; the other is refused
            chain.append(s)
            cursor = s.run.end(seconds)
        for s in sorted((s for runs in by_start.values() for s in runs), key=lambda s: s.run.previous_end):
            if s.run.previous_end < cursor:
                reason = f"conflicts with another run of the meter from {s.run.previous_end}, sent instead"
            else:
                reason = f"waiting: the meter's readings from {cursor} to {s.run.previous_end} are missing"
            report.rejected.append(Rejection(s, reason=reason))
        if chain:
            chains.append(chain)
    return chains, report


def _kind(community: Community, meter_id: bytes) -> MeterKind:
    """The meter's kind (the costliest, for an unknown meter: its runs get refused anyway)."""
    try:
        return MeterKind(community.registry.functions.meter(meter_id).call()[2])
    except Exception as exc:  # noqa: BLE001 - an unknown meter
        if community.errors.from_exception(exc) is None:
            raise
        return MeterKind.PROSUMER


def _call(community: Community, batch: Sequence[SignedReadings]):
    return community.registry.functions.submitReadings([s.as_call_arg() for s in batch])


def _first_refused(community: Community, batch: list[SignedReadings]) -> tuple[int, CustomError]:
    """Index of the first run whose prefix makes the batch revert, and its error."""
    lo, hi = 1, len(batch)  # the full batch fails; find the shortest failing prefix
    error = community.simulate(_call(community, batch))
    assert error is not None
    while lo < hi:
        mid = (lo + hi) // 2
        e = community.simulate(_call(community, batch[:mid]))
        if e is None:
            lo = mid + 1
        else:
            hi, error = mid, e
    return lo - 1, error


def relay(
    community: Community,
    runs: Sequence[SignedReadings],
    *,
    max_gas: int = BATCH_GAS,
    on_progress: Callable[[int], None] | None = None,
) -> RelayReport:
    """Submit every run that continues its meter's verified readings; ``on_progress(n)`` is
    called as n runs are done. A batch holds whole runs whose worst-case gas
    (:mod:`gridshare.protocol.gas`) adds up to at most ``max_gas`` (or one run, if it alone is more)."""
    chains, report = plan(community, runs)
    seconds = community.interval_seconds
    kinds = {c[0].run.meter_id: _kind(community, c[0].run.meter_id) for c in chains}

    def cost(s: SignedReadings) -> int:
        r = s.run
        return run_gas(kinds[r.meter_id], interval_id(r.first_interval_start, seconds), len(r), days_reached(r.previous_end, r.end(seconds)))

    if on_progress and (report.already_verified or report.rejected):
        on_progress(report.already_verified + len(report.rejected))
    # interleave the meters' chains: each batch takes the next runs of every meter in turn
    queue = [list(c) for c in chains]
    while queue:
        batch: list[SignedReadings] = []
        size = 0
        full = False
        for chain in queue:
            while chain and not full:
                if batch and size + cost(chain[0]) > max_gas:
                    full = True
                    break
                size += cost(chain[0])
                batch.append(chain.pop(0))
            if full:
                break
        queue = [c for c in queue if c]
        taken = len(batch)  # done, one way or another, when this batch is (for the progress)
        while batch:
            if community.simulate(_call(community, batch)) is None:
                break
            index, error = _first_refused(community, batch)
            refused = batch.pop(index)
            report.rejected.append(Rejection(refused, error))
            meter = refused.run.meter_id
            # the meter's later runs wait behind the refused one
            blocked = [s for s in batch[index:] if s.run.meter_id == meter]
            for c in queue:
                if c and c[0].run.meter_id == meter:
                    taken += len(c)
                    blocked += c
                    c.clear()
            for s in blocked:
                if s in batch:
                    batch.remove(s)
                report.rejected.append(Rejection(s, reason="blocked: an earlier run of this meter was refused"))
            queue = [c for c in queue if c]
        if batch:
            receipt = community.transact(_call(community, batch), simulated=True)
            report.submitted += len(batch)
            report.intervals += sum(len(s.run) for s in batch)
            report.batches += 1
            report.gas_used += receipt["gasUsed"]
        if on_progress:
            on_progress(taken)
    return report
