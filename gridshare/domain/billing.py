"""A member's month at the operation's local price (pure Python): what it owes for the local
energy it received and earns for what it gave, beside what its supplier still delivers.

In a collective self-consumption operation the PMO sets a price for local energy; the grid
operator's R15 quantities say how much each member received (AUTOCONS) and gave (AUTOPROD). A
member pays ``AUTOCONS x price`` to the operation, a producer is paid ``AUTOPROD x price``; the
rest of its consumption (COMPLEMENT) comes from its own supplier, billed by that supplier, and the
rest of its production (SURPLUS) goes to the grid, sold under its own contract. Energy given to or
received from energy-poor neighbours (Solidarity) is free: shown on the statement, never billed. Amounts are exact
decimals of the price's currency, rounded half up to the cent once per member and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from gridshare.domain.quantities import Totals

CENT = Decimal("0.01")


def _money(wh: int, price_per_kwh: Decimal) -> Decimal:
    return (Decimal(wh) * price_per_kwh / 1000).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MemberMonth:
    """One member's month: its R15 totals (Wh), the operation's local price (per kWh), and the Wh it
    gave to energy-poor neighbours and received as such a gift (free)."""

    account: str
    label: str
    totals: Totals
    price_per_kwh: Decimal
    gifts_given_wh: int = 0
    gifts_received_wh: int = 0

    def __post_init__(self) -> None:
        if not self.price_per_kwh.is_finite() or self.price_per_kwh < 0:
            raise ValueError(f"a local price is a finite amount >= 0 per kWh, not {self.price_per_kwh}")

    @property
    def owes(self) -> Decimal:
        """For the local energy received (AUTOCONS x price)."""
        return _money(self.totals.autocons, self.price_per_kwh)

    @property
    def earns(self) -> Decimal:
        """For the local energy given (AUTOPROD x price)."""
        return _money(self.totals.autoprod, self.price_per_kwh)

    @property
    def balance(self) -> Decimal:
        """What the operation pays the member (positive) or the member pays (negative)."""
        return self.earns - self.owes
