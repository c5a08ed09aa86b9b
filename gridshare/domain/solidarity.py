"""Solidarity: crypto-kWh given to energy-poor members, as the ``Solidarity`` contract gives them.

A producer's **pledge** gives, in each interval it is distributed for, ``share_bps`` basis points of
its surplus then (its own production still unspent: after the operation's sharing, before it sells
or certifies any), at most what the energy-poor members still need (their verified import not yet
consumed), split among them pro rata of their needs, rounded down: the Wh the rounding leaves stay
with the giver. Givers of one interval give in turn, each to the needs the previous ones left.
Pure: the simulation and the tests check the contract with it.
"""

from __future__ import annotations

from collections.abc import Mapping

BPS = 10_000


def pledge_gifts(surplus_wh: int, share_bps: int, needs: Mapping[str, int]) -> dict[str, int]:
    """What one giver's pledge gives each recipient in one interval (recipients with needs, in
    ``needs``' order; zero gifts included)."""
    if not 0 <= share_bps <= BPS:
        raise ValueError(f"share_bps {share_bps}: a share is 0 to {BPS} basis points")
    amount = surplus_wh * share_bps // BPS
    need = sum(needs.values())
    amount = min(amount, need)
    if amount == 0:
        return {r: 0 for r in needs}
    return {r: wh * amount // need for r, wh in needs.items()}


def interval_gifts(surpluses: Mapping[str, int], pledges: Mapping[str, int],
                   needs: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Every pledge of one interval, givers in ``surpluses``' order: giver -> recipient -> Wh. A
    giver that is itself a recipient gives nothing to itself."""
    left = dict(needs)
    out: dict[str, dict[str, int]] = {}
    for giver, surplus in surpluses.items():
        share = pledges.get(giver, 0)
        if share == 0:
            continue
        gifts = pledge_gifts(surplus, share, {r: (0 if r == giver else wh) for r, wh in left.items()})
        for r, wh in gifts.items():
            left[r] -= wh
        out[giver] = gifts
    return out
