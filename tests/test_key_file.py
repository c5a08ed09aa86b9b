"""The operation's key as the grid operator takes it: coefficients in 0.1 % steps per interval that
give back exactly the Wh the chain shared (coefficient keys), or within 0.1 % (finer keys)."""

from __future__ import annotations

from dataclasses import replace

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from gridshare.chain.key_file import key_rows
from gridshare.chain.operation import allocate
from gridshare.domain.allocation import DynamicDefaultKey, DynamicSimpleKey, StaticKey, per_mille
from gridshare.domain.key_file import apply, coefficients, percent
from gridshare.reports.key_file import write_key_file

from test_self_consumption import community, supplied_operation

WH = st.integers(0, 5_000)


@given(WH, st.dictionaries(st.sampled_from("ABCD"), WH, min_size=1), st.dictionaries(st.sampled_from("ABCD"),
                                                                                       st.integers(0, 5)))
def test_a_coefficient_keys_shares_come_back_exactly_from_the_file(production, consumption, weights):
    """Static (without reallocation) and dynamic simple keys share min(c, floor(k P / 1000)): the
    file's coefficients, applied as the grid operator does, give exactly the same Wh."""
    key_coefficients = per_mille(weights) if any(weights.values()) else {}
    for key in (StaticKey(key_coefficients), DynamicSimpleKey(key_coefficients)):
        shares = key.allocate({"plant": production}, consumption).shares
        row = coefficients(0, production, consumption, shares)
        assert row.exact and sum(row.coefficients.values()) <= 1000
        assert apply(row.coefficients, production, consumption) == shares


@given(st.integers(1, 50_000), st.dictionaries(st.sampled_from("ABCD"), WH, min_size=1))
def test_finer_shares_are_written_floored_and_fall_short_by_less_than_a_tenth_of_a_percent(production, consumption):
    shares = DynamicDefaultKey().allocate({"plant": production}, consumption).shares
    row = coefficients(0, production, consumption, shares)
    got = apply(row.coefficients, production, consumption)
    assert all(shares[j] - production / 1000 - 1 < got[j] <= shares[j] for j in consumption)
    assert row.exact == (got == shares) and row.deviation_wh == max(shares[j] - got[j] for j in consumption)


def test_the_coefficients_read_as_percent_with_one_decimal():
    assert [percent(k) for k in (0, 5, 333, 1000)] == ["0.0", "0.5", "33.3", "100.0"]


def test_the_key_file_of_a_static_operation_gives_back_the_chains_shares(env, tmp_path):
    """A supplied static key (60 % / 40 %) on-chain over two intervals: the key file, applied as
    the grid operator applies it, allocates each consumer exactly what the chain shared."""
    op = supplied_operation(env)
    ms = community(env, n_prosumers=1, n_consumers=2)
    start = env.next_start()
    env.c.transact(op.functions.join([m.id for m in ms], start // 900))
    names = ["0x" + m.id.hex() for m in ms]
    key = StaticKey({names[1]: 600, names[2]: 400})
    runs = env.readings(ms[0], start, [0, 0], [1_001, 333]) + env.readings(ms[1], start, [900, 50], [0, 0]) + \
        env.readings(ms[2], start, [100, 500], [0, 0])
    operation = replace(env.c, operation=op)
    allocate(operation, runs, key=key)
    accounts, rows = key_rows(operation, start, start + 1800)
    assert accounts == [m.owner for m in ms] and [r.start for r in rows] == [start, start + 900]
    consumption = [{m.owner: imp for m, imp in zip(ms, (0, 900, 100))}, {m.owner: imp for m, imp in zip(ms, (0, 50, 500))}]
    for row, production, cons in zip(rows, (1_001, 333), consumption):
        assert row.exact
        received = {m.owner: env.token.functions.intervalAccount(m.owner, row.start // 900).call()[3] for m in ms}
        assert apply(row.coefficients, production, cons) == received
    path = write_key_file(tmp_path / "key.csv", {a: n for a, n in zip(accounts, names)}, rows,
                          interval_seconds=900, tz="UTC")
    lines = path.read_text().splitlines()
    assert lines[0] == "horodate;" + ";".join(names)
    # 600 and 100 Wh of 1,001: 60.0 % and 10.0 % give them back (59.9 % would give 599)
    assert lines[1] == f"{datetime.fromtimestamp(start, timezone.utc).isoformat()};0.0;60.0;10.0"
