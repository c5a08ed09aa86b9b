"""Reconciliation: the grid operator's figures of the operation against the chain's, per member and
month (docs/enedis.md).

The grid operator's values (:class:`gridshare.protocol.repartition.Shared`, per meter point and
step) are attributed to members through ``members`` (PRM -> the account its meter is credited to,
``meterId = keccak256(salt ++ PRM)`` then the registry's owner); the chain's R15 quantities
(:class:`gridshare.domain.quantities.Quantities`, per account and interval) are summed on the grid
operator's steps. For every member, month (calendar month in ``tz``, Europe/Paris for Enedis) and
quantity the file gives: both totals, their difference, and the number of steps where they differ.
Only the quantities and members the file names are compared.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from gridshare.domain.quantities import Quantities
from gridshare.errors import GridshareError
from gridshare.protocol.repartition import QUANTITIES, Shared


@dataclass(frozen=True)
class Difference:
    """One member's quantity over one month, as the grid operator and the chain count it (Wh)."""

    member: str  # the account
    points: tuple[str, ...]  # its meter points in the file
    month: str  # YYYY-MM
    quantity: str
    chain_wh: int
    enedis_wh: int
    steps: int  # steps compared
    steps_differing: int

    @property
    def difference_wh(self) -> int:
        """What the grid operator counts above the chain (negative: below)."""
        return self.enedis_wh - self.chain_wh


def chain_value(q: Quantities, quantity: str) -> int:
    return {"CONS": q.cons, "AUTOCONS": q.autocons, "COMPLEMENT": q.complement,
            "PROD": q.prod, "AUTOPROD": q.autoprod, "SURPLUS": q.surplus}[quantity]


def reconcile(shared: Iterable[Shared], chain: Iterable[Quantities], members: Mapping[str, str],
              tz: str = "Europe/Paris") -> list[Difference]:
    """The difference table, sorted by month, member and quantity (R15 order)."""
    zone = ZoneInfo(tz)

    def month(t: int) -> str:
        return datetime.fromtimestamp(t, zone).strftime("%Y-%m")

    enedis: dict[tuple[str, str, int], int] = defaultdict(int)  # (member, quantity, step start) -> Wh
    step_of: dict[str, int] = {}
    points: dict[str, set[str]] = defaultdict(set)
    compared: set[tuple[str, str]] = set()
    for s in shared:
        member = members.get(s.prm)
        if member is None:
            raise GridshareError(f"PRM {s.prm} of the file is no member's meter point")
        if step_of.setdefault(member, s.seconds) != s.seconds:
            raise GridshareError(f"the meter points of {member} come in steps of {step_of[member] // 60} and "
                                 f"{s.seconds // 60} minutes; give one step per member")
        enedis[(member, s.quantity, s.start)] += s.wh
        points[member].add(s.prm)
        compared.add((member, s.quantity))
    on_chain: dict[tuple[str, str, int], int] = defaultdict(int)
    for q in chain:
        step = step_of.get(q.account)
        if step is None:
            continue
        for quantity in QUANTITIES:
            if (q.account, quantity) in compared:
                on_chain[(q.account, quantity, q.interval_start - q.interval_start % step)] += chain_value(q, quantity)
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # chain, enedis, steps, differing
    for key in set(enedis) | set(on_chain):
        member, quantity, start = key
        cell = cells[(month(start), member, quantity)]
        a, b = on_chain.get(key, 0), enedis.get(key, 0)
        cell[0] += a
        cell[1] += b
        cell[2] += 1
        cell[3] += a != b
    order = {q: i for i, q in enumerate(QUANTITIES)}
    return [Difference(member, tuple(sorted(points[member])), mo, quantity, *cell)
            for (mo, member, quantity), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], order[kv[0][2]]))]
