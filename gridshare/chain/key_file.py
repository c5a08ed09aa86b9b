"""The operation's key per interval, from the chain: what each member received of the members'
production, as the grid operator's coefficients (:mod:`gridshare.domain.key_file`)."""

from __future__ import annotations

from collections import defaultdict

from gridshare.chain.deployment import Community
from gridshare.chain.operation import members
from gridshare.chain.quantities import quantities
from gridshare.domain.key_file import KeyRow, coefficients


def key_rows(community: Community, start: int, end: int) -> tuple[list[str], list[KeyRow]]:
    """The members' accounts (the file's columns, in member order) and, per interval starting in
    [start, end) with production, its coefficients for the R15 quantities the chain recorded."""
    seconds = community.interval_seconds
    ms = members(community)
    accounts = list(dict.fromkeys(m.account for m in ms))
    by_interval: dict[int, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for q in quantities(community, start, end):
        by_interval[q.interval_start][q.account] = (q.prod, q.cons, q.autocons)
    rows = []
    for at in sorted(by_interval):
        iid = at // seconds
        active = [a for a in accounts if any(m.account == a and m.active(iid) for m in ms)]
        figures = by_interval[at]
        production = sum(figures.get(a, (0, 0, 0))[0] for a in active)
        if production == 0:
            continue
        consumption = {a: figures.get(a, (0, 0, 0))[1] for a in active}
        shares = {a: figures.get(a, (0, 0, 0))[2] for a in active}
        rows.append(coefficients(at, production, consumption, shares))
    return accounts, rows


def key_columns(community: Community, accounts: list[str], named: dict[str, str] | None = None) -> dict[str, str]:
    """The key file's column of each member account: its name in ``named`` (a meter point), else
    its meterIds joined by "+"."""
    named = named or {}
    ms = members(community)
    return {a: named.get(a) or "+".join("0x" + m.meter_id.hex() for m in ms if m.account == a) for a in accounts}
