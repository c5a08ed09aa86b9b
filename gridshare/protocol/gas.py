"""Upper bounds of the gas of verifying (and sharing) runs of readings, to plan transactions.

EIP-7825 caps a transaction at 2^24 gas. The relayer and the operation's allocation plan each batch
under :data:`BATCH_GAS` with these bounds, measured with ``benchmarks/self_consumption.py`` in the
worst case (every lane slot a run touches fresh): a fixed part per run (the signature, the meter's
cold slots, its state write, the event and the token call), 22,100 gas per fresh slot of eight lanes
of each figure the meter's kind writes, and a per-interval part. Pure: no chain access.
"""

from __future__ import annotations

from typing import Iterable

from gridshare.protocol.meters import MeterKind

#: What the tools plan a transaction under (EIP-7825's cap is 16,777,216).
BATCH_GAS = 16_000_000
RUN_GAS = 46_000
FRESH_SLOT_GAS = 22_100
INTERVAL_GAS = 3_000
#: A producer's or prosumer's run writes its verified export total at each UTC day start it reaches.
CHECKPOINT_GAS = 22_100
#: The figures (lanes) a meter of each kind may write per interval: import and redeemed for a
#: consumer; export, balance and auxiliaries' import for a producer; all four for a prosumer.
LANES = {MeterKind.CONSUMER: 2, MeterKind.PRODUCER: 3, MeterKind.PROSUMER: 4}


def groups_touched(first_interval_id: int, intervals: int) -> int:
    """The groups of eight lane slots intervals ``[first, first + intervals)`` touch."""
    if intervals <= 0:
        return 0
    return (first_interval_id + intervals - 1) // 8 - first_interval_id // 8 + 1


def run_gas(kind: MeterKind, first_interval_id: int, intervals: int, days: int = 0) -> int:
    """An upper bound of the gas of verifying (and sharing) one run that reaches ``days`` UTC day
    starts (in its outage or its intervals)."""
    fresh = groups_touched(first_interval_id, intervals) * LANES[kind] * FRESH_SLOT_GAS
    checkpoints = 0 if kind == MeterKind.CONSUMER else days * CHECKPOINT_GAS
    return RUN_GAS + fresh + intervals * INTERVAL_GAS + checkpoints


def days_reached(previous_end: int, end: int) -> int:
    """The UTC day starts in ``(previous_end, end]``: the checkpoints a run writes."""
    return end // 86_400 - previous_end // 86_400


def cadence_gas(kinds: Iterable[MeterKind], intervals: int) -> int:
    """An upper bound of the gas of a batch where every meter (of these kinds) has a run of
    ``intervals`` intervals, cut every ``intervals`` intervals since the epoch (the worst
    alignment)."""
    worst_groups = max(groups_touched(offset * intervals % 8, intervals) for offset in range(8))
    days = 1  # a run of at most a day reaches at most one day start
    return sum(RUN_GAS + worst_groups * LANES[k] * FRESH_SLOT_GAS + intervals * INTERVAL_GAS
               + (0 if k == MeterKind.CONSUMER else days * CHECKPOINT_GAS) for k in kinds)


def run_intervals_for(kinds: Iterable[MeterKind], interval_seconds: int = 900) -> int:
    """How many intervals the members of an operation should each sign per run so that a batch
    of every member's run fits a transaction even in the worst case: the largest divisor of a
    day's intervals that does (1 at least)."""
    kinds = list(kinds)
    per_day = 86_400 // interval_seconds
    fitting = [d for d in range(1, per_day + 1) if per_day % d == 0 and cadence_gas(kinds, d) <= BATCH_GAS]
    return max(fitting, default=1)
