"""The relayer: batches, refusals set aside with their error, and resuming after a crash."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gridshare.meter import MeterKind
from gridshare.relayer import relay


class Crash(Exception):
    pass


def _day(env, meters=3, intervals=40):
    ms = [env.meter(acct, MeterKind.PROSUMER) for acct in (env.alice, env.bob, env.carol)[:meters]]
    start = env.next_start()
    signed = []
    for k, m in enumerate(ms):
        signed += env.readings(m, start, [k + i % 7 for i in range(intervals)], [10 * k + i for i in range(intervals)])
    return ms, start, signed


def _minted(env, accounts, start, intervals):
    ids = [(start + 900 * i) // 900 for i in range(intervals)]
    return {a: sum(env.token.functions.balanceOfBatch([a] * len(ids), ids).call()) for a in accounts}


def test_relays_everything_in_batches(env):
    ms, start, signed = _day(env)
    report = relay(env.c, signed, batch_size=25)
    assert (report.submitted, report.batches, report.already_verified, report.rejected) == (120, 5, 0, [])
    assert _minted(env, [env.alice, env.bob, env.carol], start, 40) == {
        env.alice: sum(range(40)), env.bob: sum(10 + i for i in range(40)), env.carol: sum(20 + i for i in range(40))}


def test_a_crash_then_a_rerun_loses_nothing_and_counts_nothing_twice(env):
    ms, start, signed = _day(env)
    done = []

    def crash_after_two_batches(n):
        done.append(n)
        if len(done) == 2:
            raise Crash

    with pytest.raises(Crash):
        relay(env.c, signed, batch_size=25, on_progress=crash_after_two_batches)
    report = relay(env.c, list(reversed(signed)), batch_size=25)  # order in the file does not matter
    assert report.already_verified == 50 and report.submitted == 70 and report.rejected == []
    again = relay(env.c, signed, batch_size=25)
    assert (again.already_verified, again.submitted) == (120, 0)
    assert _minted(env, [env.alice, env.bob, env.carol], start, 40) == {
        env.alice: sum(range(40)), env.bob: sum(10 + i for i in range(40)), env.carol: sum(20 + i for i in range(40))}


def test_refused_readings_are_set_aside_with_their_error_and_the_rest_goes_through(env):
    ms, start, signed = _day(env, meters=2, intervals=10)
    forged = replace(signed[3], signature=signed[13].signature)  # meter 0's reading, signed by meter 1's key
    unknown_meter = env.readings(replace(ms[0], id=b"\x09" * 32), start, [1], [1])[0]
    batch = signed[:3] + [forged] + signed[4:] + [unknown_meter]
    report = relay(env.c, batch, batch_size=100)
    refused = {r.error.name: r for r in report.rejected}
    assert sorted(refused) == ["MeterRegistryInvalidSigner", "MeterRegistryUnknownMeter"]
    assert refused["MeterRegistryInvalidSigner"].reading == forged
    assert refused["MeterRegistryInvalidSigner"].error.args["meterId"] == ms[0].id
    assert refused["MeterRegistryUnknownMeter"].reading == unknown_meter
    # after the gap left by the refused reading, meter 0's next reading is not contiguous: its
    # register step (2 intervals of energy) is larger than its energy, which is allowed
    assert report.submitted == 19
    assert env.registry.functions.meterState(ms[0].id).call()[0] == start + 10 * 900


def test_duplicate_rows_are_sent_once(env):
    ms, start, signed = _day(env, meters=1, intervals=5)
    report = relay(env.c, signed + signed[1:3], batch_size=100)
    assert report.submitted == 5 and report.rejected == []
