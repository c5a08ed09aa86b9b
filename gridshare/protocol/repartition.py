"""The operation's results as the grid operator sends them back: per meter point, quantity and step,
the Wh of collective self-consumption (docs/enedis.md, "Allocation results").

The file has the layout of the Enedis per-step CSV (:mod:`gridshare.protocol.enedis_csv`) with a
``Grandeur métier`` column naming the quantity of each row, in the vocabulary of the R15 flow:
``CONS`` and ``PROD`` (measured), ``AUTOCONS`` and ``COMPLEMENT`` (a consumer's local share and the
rest), ``AUTOPROD`` and ``SURPLUS`` (a producer's local share and the rest); ``Unité`` ``Wh`` (the
step's energy) or ``W`` (its average power). :func:`read_repartition` returns whole Wh per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gridshare.errors import GridshareError
from gridshare.protocol.enedis_csv import StepValue, read_steps
from gridshare.protocol.load_curve import to_intervals

QUANTITIES = ("CONS", "AUTOCONS", "COMPLEMENT", "PROD", "AUTOPROD", "SURPLUS")


@dataclass(frozen=True)
class Shared:
    """One meter point's quantity in one step, in whole Wh."""

    prm: str
    quantity: str
    start: int  # unix seconds
    seconds: int
    wh: int


def read_repartition(path: Path) -> list[Shared]:
    """Every value of the file, checked; each series in whole Wh per step (an average power in W is
    converted with the cumulative flooring of :mod:`gridshare.protocol.load_curve`)."""
    steps = read_steps(path, units=("Wh", "W"), default_unit="Wh")
    for s in steps:
        if s.quantity not in QUANTITIES:
            raise GridshareError(f"{path} line {s.line}: Grandeur métier {s.quantity or '(none)'}: the operation's "
                                 f"results name each row's quantity, one of {', '.join(QUANTITIES)}")
    by_series: dict[tuple[str, str], list[StepValue]] = {}
    for s in steps:
        by_series.setdefault((s.prm, s.quantity), []).append(s)
    out = []
    for (prm, quantity), series in sorted(by_series.items()):
        step = series[0].seconds  # one per series (read_steps)
        for start, wh in sorted(to_intervals(series, step, path)[(prm, quantity)].items()):
            out.append(Shared(prm, quantity, start, step, wh))
    return out
