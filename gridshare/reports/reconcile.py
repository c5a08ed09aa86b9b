"""The reconciliation with the grid operator, for people: a CSV and a table
(:func:`gridshare.domain.reconcile.reconcile` computes it)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from rich.table import Table

from gridshare.domain.reconcile import Difference

COLUMNS = ["month", "member", "meter_points", "quantity", "chain_wh", "enedis_wh", "difference_wh", "steps",
           "steps_differing"]


def write_reconciliation(diffs: Sequence[Difference], path: Path) -> Path:
    """One row per member, month and quantity (LF line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for d in diffs:
            w.writerow([d.month, d.member, " ".join(d.points), d.quantity, d.chain_wh, d.enedis_wh, d.difference_wh,
                        d.steps, d.steps_differing])
    return path


def reconciliation_table(diffs: Sequence[Difference], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("month", "member", "PRM", "quantity", "chain Wh", "Enedis Wh", "difference Wh", "steps differing"):
        table.add_column(col, justify="right" if "Wh" in col or col == "steps differing" else "left")
    for d in diffs:
        style = "bold red" if d.difference_wh or d.steps_differing else None
        table.add_row(d.month, d.member, " ".join(d.points), d.quantity, f"{d.chain_wh:,}", f"{d.enedis_wh:,}",
                      f"{d.difference_wh:+,}", f"{d.steps_differing} of {d.steps}", style=style)
    return table
