"""Relay signed readings to the MeterRegistry in batches: resumable, and never silent about a refusal.

- **Resumable from the chain itself.** A meter's intervals strictly advance on-chain, so every
  reading whose interval starts before the meter's ``nextIntervalStart`` is already verified (or
  superseded). A rerun after a crash reads that state and submits only what is missing: nothing is
  lost, nothing is counted twice (the contract would refuse a second copy anyway).
- **Batches are all-or-nothing on-chain.** Each batch is first simulated with ``eth_call``; if it
  would revert, the first refused reading is found by bisection over prefixes, set aside with its
  decoded custom error, and the rest of the batch goes on.
- Readings are sent grouped by meter and in interval order, which the contract handles cheapest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from gridshare.deployment import Community
from gridshare.revert import CustomError
from gridshare.reading import SignedReading


@dataclass
class Rejection:
    reading: SignedReading
    error: CustomError

    def __str__(self) -> str:
        r = self.reading.reading
        return f"meter 0x{r.meter_id.hex()[:12]}.. interval {r.interval_start}: {self.error}"


@dataclass
class RelayReport:
    total: int = 0
    already_verified: int = 0
    submitted: int = 0
    batches: int = 0
    gas_used: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def pending(community: Community, readings: Sequence[SignedReading]) -> tuple[list[SignedReading], int]:
    """The readings not yet verified on-chain, grouped by meter in interval order, and how many
    were dropped as already verified."""
    by_meter: dict[bytes, list[SignedReading]] = defaultdict(list)
    for s in readings:
        by_meter[s.reading.meter_id].append(s)
    todo: list[SignedReading] = []
    done = 0
    for meter_id in sorted(by_meter):
        try:
            next_start = community.registry.functions.meterState(meter_id).call()[0]
        except Exception as exc:  # noqa: BLE001 - an unknown meter: its readings get refused below
            if community.errors.from_exception(exc) is None:
                raise
            next_start = 0
        unique = {s.reading.interval_start: s for s in by_meter[meter_id]}  # a file may repeat a row
        for start in sorted(unique):
            if start < next_start:
                done += 1
            else:
                todo.append(unique[start])
    return todo, done


def _call(community: Community, batch: Sequence[SignedReading]):
    return community.registry.functions.submitReadings([s.as_call_arg() for s in batch])


def _first_refused(community: Community, batch: list[SignedReading]) -> tuple[int, CustomError]:
    """Index of the first reading whose prefix makes the batch revert, and its error."""
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
    readings: Sequence[SignedReading],
    *,
    batch_size: int = 100,
    on_progress: Callable[[int], None] | None = None,
) -> RelayReport:
    """Submit every not-yet-verified reading; ``on_progress(n)`` is called as n readings are done."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = RelayReport(total=len(readings))
    todo, report.already_verified = pending(community, readings)
    if on_progress and report.already_verified:
        on_progress(report.already_verified)
    for offset in range(0, len(todo), batch_size):
        batch = list(todo[offset : offset + batch_size])
        size = len(batch)
        while batch:
            if community.simulate(_call(community, batch)) is None:
                break
            index, error = _first_refused(community, batch)
            report.rejected.append(Rejection(batch.pop(index), error))
        if batch:
            receipt = community.transact(_call(community, batch), simulated=True)
            report.submitted += len(batch)
            report.batches += 1
            report.gas_used += receipt["gasUsed"]
        if on_progress:
            on_progress(size)
    return report
