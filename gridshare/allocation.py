"""Allocation keys: how one interval's local production is shared among consumers (pure Python).

Only the *dynamic default* key is here so far (the others of docs/protocol.md come with the
collective self-consumption issue). All quantities are integer Wh; an allocation never gives a
consumer more than its consumption nor takes more than the production.
"""

from __future__ import annotations

from typing import Mapping

Flows = dict[tuple[str, str], int]  # (producer, consumer) -> Wh


def dynamic_default(production: Mapping[str, int], consumption: Mapping[str, int]) -> dict[str, int]:
    """Each consumer's local share, pro rata of its consumption.

    ``shared = min(P, C)`` with ``P`` total production and ``C`` total consumption; consumer ``j``
    gets ``floor(shared * c_j / C)``. When ``P >= C`` everyone is fully served and ``P - C`` is
    surplus; flooring leaves at most one Wh per consumer unallocated (it becomes surplus).
    """
    total_p = sum(production.values())
    total_c = sum(consumption.values())
    if total_c == 0:
        return {j: 0 for j in consumption}
    shared = min(total_p, total_c)
    return {j: shared * c // total_c for j, c in consumption.items()}


def route(production: Mapping[str, int], shares: Mapping[str, int]) -> Flows:
    """Which producer delivers each consumer's share: producers and consumers are taken in sorted
    order and filled greedily, so each share comes from as few producers as possible."""
    left = {p: production[p] for p in sorted(production)}
    flows: Flows = {}
    for consumer in sorted(shares):
        need = shares[consumer]
        for producer, available in left.items():
            if need == 0:
                break
            take = min(need, available)
            if take:
                flows[(producer, consumer)] = flows.get((producer, consumer), 0) + take
                left[producer] -= take
                need -= take
        if need:
            raise ValueError(f"shares exceed production by {need} Wh")
    return flows
