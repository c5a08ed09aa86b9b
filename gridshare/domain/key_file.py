"""The operation's key as the grid operator takes it: per interval, one coefficient per consumer,
in 0.1 % steps (pure Python).

The grid operator shares an interval's production ``P`` by the coefficients ``k_j`` (per-mille,
summing to at most 1,000) it received from the operation: consumer ``j`` is allocated
``min(c_j, floor(k_j * P / 1000))`` Wh (:func:`apply`), the rest is surplus. gridshare shares in Wh
on-chain; :func:`coefficients` finds, for the Wh the chain shared, coefficients that give exactly
those Wh when the grid operator applies them, whenever such coefficients exist: the smallest,
``ceil(1000 * a_j / P)``. They exist for every share a coefficient key computed (static without
reallocation, dynamic simple: ``a_j = min(c_j, floor(k_j * P / 1000))``); other keys' shares
(dynamic default, priorities, reallocation) are generally finer than 0.1 % of ``P``: their file
carries the floored coefficients, and the Wh the grid operator will allocate fall short of the
chain's by less than 0.1 % of ``P`` plus 1 Wh per consumer, which :class:`KeyRow` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from gridshare.domain.allocation import PER_MILLE


def apply(coefficients: Mapping[str, int], production: int, consumption: Mapping[str, int]) -> dict[str, int]:
    """What the grid operator allocates with ``coefficients`` (per-mille): ``min(c_j, floor(k_j * P / 1000))``."""
    return {j: min(c, coefficients.get(j, 0) * production // PER_MILLE) for j, c in consumption.items()}


@dataclass(frozen=True)
class KeyRow:
    """One interval of the key file: its start (unix seconds), the coefficients (per-mille) and
    whether applying them gives the shared Wh exactly (else the largest difference, in Wh)."""

    start: int
    coefficients: dict[str, int]
    exact: bool
    deviation_wh: int = 0


def coefficients(start: int, production: int, consumption: Mapping[str, int], shares: Mapping[str, int]) -> KeyRow:
    """The coefficients of one interval whose consumers received ``shares`` of ``production``."""
    if production <= 0:
        return KeyRow(start, {j: 0 for j in consumption}, all(shares.get(j, 0) == 0 for j in consumption))
    smallest = {j: -(-PER_MILLE * shares.get(j, 0) // production) for j in consumption}  # ceil
    if sum(smallest.values()) <= PER_MILLE and apply(smallest, production, consumption) == {
            j: shares.get(j, 0) for j in consumption}:
        return KeyRow(start, smallest, True)
    floored = {j: PER_MILLE * shares.get(j, 0) // production for j in consumption}
    got = apply(floored, production, consumption)
    return KeyRow(start, floored, False, max(shares.get(j, 0) - got[j] for j in consumption))


def percent(per_mille: int) -> str:
    """A coefficient as the file writes it: a percentage with one decimal (``333`` -> ``33.3``)."""
    return f"{per_mille // 10}.{per_mille % 10}"
