"""Enedis load curves on gridshare's interval grid: per-interval whole Wh (docs/enedis.md).

A load curve gives, per meter point and step, the average power in W over the step
(:mod:`gridshare.protocol.enedis_csv`). :func:`to_intervals` turns each series into whole Wh per
interval of the deployment (``intervalSeconds``, 900 or 1800 s of unix time):

1. the steps are grouped in **blocks** of ``lcm(step, interval)`` (30 minutes for 30-minute steps
   on 15-minute intervals, or 10-minute steps; 15 minutes for 15-minute steps), each a whole number
   of steps and of intervals, aligned on unix time (Paris is a whole number of hours from UTC);
2. a block's Wh are ``floor(E(end)) - floor(E(start))``, ``E`` the series' exact cumulative energy
   (W x seconds / 3,600) since its first step: whole Wh that never drift, the series' total is
   ``floor`` of its exact total;
3. a block's Wh split evenly into its intervals, the remainder in the first:
   ``q, r = divmod(Wh, n)``, the first interval ``q + r``, the others ``q`` (a 30-minute step of
   1,001 Wh gives 501 and 500).

A series must start and end on a block's boundary (a file of 10-minute steps starting at 00:10 on
15-minute intervals is refused).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from gridshare.errors import GridshareError
from gridshare.protocol.enedis_csv import StepValue

#: Grandeur métier of a load curve: what the meter point drew or injected.
CONSUMPTION, PRODUCTION = "CONS", "PROD"


def to_intervals(steps: Iterable[StepValue], interval_seconds: int, path: Path | str = "") -> dict[tuple[str, str], dict[int, int]]:
    """Per series ``(prm, quantity)``: interval start -> whole Wh (see the module)."""
    by_series: dict[tuple[str, str], list[StepValue]] = {}
    for s in steps:
        by_series.setdefault((s.prm, s.quantity), []).append(s)
    out: dict[tuple[str, str], dict[int, int]] = {}
    for (prm, quantity), series in by_series.items():
        series.sort(key=lambda s: s.end)
        step = series[0].seconds
        block = math.lcm(step, interval_seconds)
        first, last = series[0], series[-1]
        for s, edge in ((first, first.start), (last, last.end)):
            if edge % block:
                raise GridshareError(f"{path} line {s.line}: PRM {prm} {'starts' if s is first else 'ends'} inside a "
                                     f"{block // 60}-minute block ({step // 60}-minute steps on {interval_seconds // 60}"
                                     "-minute intervals); export whole hours")
        intervals: dict[int, int] = {}
        cumulative = Fraction(0)
        floored = 0
        per_block = block // interval_seconds
        i = 0
        for block_start in range(first.start, last.end, block):
            while i < len(series) and series[i].end <= block_start + block:
                cumulative += series[i].wh
                i += 1
            wh = math.floor(cumulative) - floored
            floored += wh
            q, r = divmod(wh, per_block)
            for k in range(per_block):
                intervals[block_start + k * interval_seconds] = q + (r if k == 0 else 0)
        out[(prm, quantity)] = intervals
    return out


def meter_series(curves: dict[tuple[str, str], dict[int, int]], prm: str, flow: str | None,
                 path: Path | str = "") -> tuple[list[int], list[int], list[int]]:
    """One meter point's interval starts, import Wh and export Wh: its ``CONS`` series is what it
    imported and its ``PROD`` series what it exported (both for a prosumer); a file without the
    ``Grandeur métier`` column is read as ``flow`` (``CONS`` or ``PROD``). Intervals only one
    series covers count 0 for the other."""
    points = sorted({p for p, _ in curves})
    if prm not in points:
        raise GridshareError(f"{path}: no load curve of PRM {prm} (the file has {', '.join(points)}); check --point")
    series = {q: v for (p, q), v in curves.items() if p == prm}
    if "" in series:
        if flow is None:
            raise GridshareError(f"{path}: the file does not say whether PRM {prm} consumed or produced (no "
                                 "Grandeur métier column); pass --flow consumption or --flow production")
        series = {flow: series.pop("")}
    elif flow is not None and flow not in series:
        raise GridshareError(f"{path}: PRM {prm} has no {flow} curve (it has {', '.join(sorted(series))}); "
                             "check --flow, or drop it to import every curve of the file")
    elif flow is not None:
        series = {flow: series[flow]}
    unknown = sorted(set(series) - {CONSUMPTION, PRODUCTION})
    if unknown:
        raise GridshareError(f"{path}: PRM {prm} has Grandeur métier {', '.join(unknown)}; a load curve is CONS "
                             "(drawn) or PROD (injected)")
    imports, exports = series.get(CONSUMPTION, {}), series.get(PRODUCTION, {})
    starts = sorted(set(imports) | set(exports))
    return starts, [imports.get(t, 0) for t in starts], [exports.get(t, 0) for t in starts]
