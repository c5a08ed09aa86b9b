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
    """Which producer delivers each consumer's share: pro rata of production (production is pooled).

    Consumer ``j`` receives ``floor(share_j * p_i / P)`` from producer ``i``; the few Wh left by
    flooring come from the producers with the most production left. Exact: each consumer gets its
    share, no producer gives more than it produced. Requires ``sum(shares) <= P``.
    """
    total = sum(production.values())
    if sum(shares.values()) > total:
        raise ValueError(f"shares ({sum(shares.values())} Wh) exceed production ({total} Wh)")
    left = dict(production)
    flows: Flows = {}
    for consumer in sorted(shares):
        need = shares[consumer]
        if need == 0:
            continue
        for producer in sorted(production):
            take = min(need * production[producer] // total, left[producer])
            if take:
                flows[(producer, consumer)] = take
                left[producer] -= take
        rest = need - sum(v for (_p, c), v in flows.items() if c == consumer)
        for producer in sorted(left, key=lambda p: (-left[p], p)):
            if rest == 0:
                break
            take = min(rest, left[producer])
            if take:
                flows[(producer, consumer)] = flows.get((producer, consumer), 0) + take
                left[producer] -= take
                rest -= take
    return flows
