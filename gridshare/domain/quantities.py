"""The grid operator's quantities of collective self-consumption (Enedis R15), per participant and
interval, in Wh:

- producers: PROD (verified export), AUTOPROD (what it delivered locally), SURPLUS = PROD - AUTOPROD;
- consumers: CONS (verified import), AUTOCONS (local energy consumed), COMPLEMENT = CONS - AUTOCONS
  (what the supplier provides).
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain.allocation import Allocation


class _Derived:
    """SURPLUS and COMPLEMENT follow from PROD, AUTOPROD, CONS and AUTOCONS."""

    prod: int
    autoprod: int
    cons: int
    autocons: int

    @property
    def surplus(self) -> int:
        return self.prod - self.autoprod

    @property
    def complement(self) -> int:
        return self.cons - self.autocons


@dataclass(frozen=True)
class Quantities(_Derived):
    """One participant (or the community) in one interval, in Wh."""

    account: str
    interval_start: int  # unix seconds
    prod: int = 0
    autoprod: int = 0
    cons: int = 0
    autocons: int = 0

    @classmethod
    def of(cls, allocation: Allocation, member: str, account: str, interval_start: int) -> Quantities:
        """A member's quantities in an interval the engine shared (a member both produces and
        consumes in ``allocation``'s mappings, with zeros where it does not)."""
        return cls(account, interval_start, allocation.production.get(member, 0),
                   allocation.given(member) if member in allocation.production else 0,
                   allocation.consumption.get(member, 0),
                   allocation.received(member) if member in allocation.consumption else 0)


@dataclass(frozen=True)
class Totals(_Derived):
    """PROD, AUTOPROD, CONS and AUTOCONS summed over a period (Wh), and what follows from them."""

    prod: int = 0
    autoprod: int = 0
    cons: int = 0
    autocons: int = 0

    @property
    def self_consumption_rate(self) -> float | None:
        """AUTOPROD / PROD: the share of the production consumed locally (None without production)."""
        return self.autoprod / self.prod if self.prod else None

    @property
    def local_coverage_rate(self) -> float | None:
        """AUTOCONS / CONS: the share of the consumption covered locally (None without consumption)."""
        return self.autocons / self.cons if self.cons else None

    def __add__(self, q: Quantities | Totals) -> Totals:
        return Totals(self.prod + q.prod, self.autoprod + q.autoprod, self.cons + q.cons, self.autocons + q.autocons)
