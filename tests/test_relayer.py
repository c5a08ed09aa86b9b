"""The relayer: batches of runs, refusals set aside with their error, the meter's later runs held
back, exact reports (nothing reported verified that is not), and resuming after a crash."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from gridshare.chain.operation import allocate, join
from gridshare.chain.relayer import Rejection, relay
from gridshare.chain.revert import CustomError
from gridshare.cli.readings import refusal_lines
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.readings import MeterReadings, series_to_readings, to_runs


class Crash(Exception):
    pass


def _days(env, meters=3, intervals=40, run_intervals=8):
    """Three prosumers' readings from a common start, signed in runs of ``run_intervals``."""
    ms = [env.meter(acct, MeterKind.PROSUMER) for acct in (env.alice, env.bob, env.carol)[:meters]]
    start = max(m.first for m in ms)
    while (start // 900) % run_intervals:
        start += 900
    signed = []
    for k, m in enumerate(ms):
        readings = series_to_readings(m.id, [start + 900 * i for i in range(intervals)],
                                      [k + i % 7 for i in range(intervals)], [10 * k + i for i in range(intervals)])
        runs = to_runs(readings, 900, previous_end=m.first, run_intervals=run_intervals)
        signed += [env.sign(m, r) for r in runs]
    env.at(start + 900 * intervals)
    return ms, start, signed


def _minted(env, accounts, start, intervals):
    ids = [(start + 900 * i) // 900 for i in range(intervals)]
    return {a: sum(env.token.functions.balanceOfBatch([a] * len(ids), ids).call()) for a in accounts}


EXPECTED = {0: sum(range(40)), 1: sum(10 + i for i in range(40)), 2: sum(20 + i for i in range(40))}


def test_relays_everything_in_batches_under_a_gas_budget(env):
    ms, start, signed = _days(env)
    assert len(signed) == 15  # 5 runs of 8 intervals per meter
    report = relay(env.c, signed, max_gas=1_500_000)
    assert (report.submitted, report.intervals, report.already_verified, report.rejected) == (15, 120, 0, [])
    assert report.batches > 1
    people = [env.alice, env.bob, env.carol]
    assert _minted(env, people, start, 40) == {people[k]: v for k, v in EXPECTED.items()}


def test_a_crash_then_a_rerun_loses_nothing_and_counts_nothing_twice(env):
    ms, start, signed = _days(env)
    done = []

    def crash_after_two_batches(n):
        done.append(n)
        if len(done) == 2:
            raise Crash

    with pytest.raises(Crash):
        relay(env.c, signed, max_gas=1_500_000, on_progress=crash_after_two_batches)
    verified = sum(done)
    report = relay(env.c, list(reversed(signed)))  # the order in the file does not matter
    assert report.already_verified == verified and report.submitted == 15 - verified and report.rejected == []
    again = relay(env.c, signed)
    assert (again.already_verified, again.submitted) == (15, 0)
    people = [env.alice, env.bob, env.carol]
    assert _minted(env, people, start, 40) == {people[k]: v for k, v in EXPECTED.items()}


def test_a_refused_run_is_set_aside_and_the_meters_later_runs_wait_behind_it(env):
    ms, start, signed = _days(env, meters=2, intervals=24)
    mine = [s for s in signed if s.run.meter_id == ms[0].id]
    forged = replace(mine[1], signature=mine[2].signature)  # meter 0's second run, a signature of another run
    unknown = env.sign(ms[0], replace(mine[0].run, meter_id=b"\x09" * 32))
    batch = [s if s != mine[1] else forged for s in signed] + [unknown]
    report = relay(env.c, batch)
    by_reason = {(r.error.name if r.error else r.reason.split(":")[0]): r for r in report.rejected}
    assert sorted(by_reason) == ["MeterRegistryInvalidSigner", "MeterRegistryUnknownMeter", "blocked"]
    assert by_reason["MeterRegistryInvalidSigner"].run == forged
    assert by_reason["MeterRegistryInvalidSigner"].error.args["meterId"] == ms[0].id
    assert by_reason["blocked"].run == mine[2]  # not verifiable before the refused one: held back
    assert by_reason["MeterRegistryUnknownMeter"].run == unknown
    assert report.submitted == 4  # meter 0's first run and meter 1's three
    assert env.registry.functions.meterState(ms[0].id).call()[0] == mine[0].run.end(900)
    # signed right, the refused intervals are verified later; nothing is reported verified twice
    again = relay(env.c, mine)
    assert (again.already_verified, again.submitted, again.rejected) == (1, 2, [])
    assert env.registry.functions.meterState(ms[0].id).call()[0] == start + 24 * 900


def test_nothing_is_reported_verified_that_is_not(env):
    """A run whose intervals the chain has passed is "already verified" only if the chain holds its
    very data; otherwise (other data, or an outage the meter declared) it is superseded."""
    m = env.meter(env.alice)
    outage = MeterReadings(m.id, m.first, m.first + 1800, [], [], 0, 0)
    data = env.run(m, m.first + 1800, [0, 0], [5, 6], previous_end=m.first + 1800)
    env.submit([env.sign(m, outage), env.sign(m, data)])
    lost = env.readings(m, m.first, [0, 0], [1, 2], previous_end=m.first)  # what the outage declared lost
    other = env.readings(m, m.first + 1800, [0, 0], [5, 7], previous_end=m.first + 1800)  # other data
    same = [env.sign(m, data)]
    report = relay(env.c, lost + other + same)
    assert report.already_verified == 1 and report.submitted == 0
    assert [r.run for r in report.rejected] == [lost[0], other[0]]
    assert all(r.reason.startswith("superseded") for r in report.rejected)


def test_a_run_after_missing_ones_is_reported_waiting_with_the_missing_span(env):
    m = env.meter(env.alice)
    later = env.readings(m, m.first + 3600, [0], [1], previous_end=m.first + 3600)
    report = relay(env.c, later)
    [waiting] = report.rejected
    assert waiting.reason == f"waiting: the meter's readings from {m.first} to {m.first + 3600} are missing"
    assert report.submitted == 0


def test_an_overlapping_run_is_refused_before_sending(env):
    m = env.meter(env.alice)
    env.submit(env.readings(m, m.first, [0, 0], [1, 2]))
    overlap = env.readings(m, m.first + 900, [0, 0], [2, 3], previous_end=m.first + 900, export_register_wh=1)
    report = relay(env.c, overlap)
    [refused] = report.rejected
    assert refused.reason == f"overlaps the meter's verified readings, which end at {m.first + 1800}"


def test_duplicate_runs_are_sent_once(env):
    ms, start, signed = _days(env, meters=1, intervals=16)
    report = relay(env.c, signed + signed[1:])
    assert report.submitted == 2 and report.rejected == []


def _balances(env, account, start, intervals):
    ids = [start // 900 + i for i in range(intervals)]
    return env.token.functions.balanceOfBatch([account] * intervals, ids).call()


def test_a_run_refused_for_its_data_holds_back_the_meters_later_runs_until_signed_again_right(env):
    """The refused run is set aside with its error and the meter's later runs are blocked, run
    after run, never reported verified; the same intervals signed right, everything is verified;
    the refused run is then superseded (the chain holds other data for its intervals)."""
    m, n = env.meter(env.alice), env.meter(env.bob)  # producers of 10 kW: 2,500 Wh per interval at most
    start = max(m.first, n.first)
    while (start // 900) % 2:
        start += 900
    bad = [10, 20, 3000, 0, 30, 40, 50, 60]  # the third interval over capacity
    good = [10, 20, 1500, 1500, 30, 40, 50, 60]  # the same registers at every run's end

    def signed(meter, exports):
        k = len(exports)
        readings = series_to_readings(meter.id, [start + 900 * i for i in range(k)], [0] * k, exports)
        return [env.sign(meter, r) for r in to_runs(readings, 900, previous_end=meter.first, run_intervals=2)]

    mine, others = signed(m, bad), signed(n, [1, 2, 3, 4])
    env.at(start + 8 * 900)
    for attempt in range(2):  # a rerun refuses and blocks the same runs, and claims nothing more
        report = relay(env.c, mine + others)
        assert (report.already_verified, report.submitted) == ((0, 3) if attempt == 0 else (3, 0))
        refused, *blocked = report.rejected
        assert refused.run == mine[1] and refused.error.name == "MeterRegistryEnergyExceedsCapacity"
        assert refused.error.args == {"meterId": m.id, "flow": 1, "energyWh": 3000, "maxWh": 2500}
        assert [(b.run, b.error, b.reason) for b in blocked] == [
            (s, None, "blocked: an earlier run of this meter was refused") for s in mine[2:]]
        assert env.registry.functions.meterState(m.id).call()[0] == start + 1800
        assert _balances(env, env.alice, start, 8) == [10, 20, 0, 0, 0, 0, 0, 0]
    fixed = env.sign(m, replace(mine[1].run, export_wh=(1500, 1500)))
    report = relay(env.c, [mine[0], fixed, *mine[2:]] + others)
    assert (report.already_verified, report.submitted, report.intervals, report.rejected) == (3, 3, 6, [])
    assert _balances(env, env.alice, start, 8) == good
    assert _balances(env, env.bob, start, 4) == [1, 2, 3, 4]
    # nothing reported verified that is not: the refused run's intervals hold other data
    report = relay(env.c, mine)
    assert (report.already_verified, report.submitted) == (3, 0)
    [superseded] = report.rejected
    assert superseded.run == mine[1] and superseded.reason.startswith("superseded")


def test_members_runs_are_refused_by_the_relayer_and_shared_through_the_operation(env):
    """relay() sends straight to the registry: a member's runs are refused there (the first with
    the registry's error, the later ones blocked) while a non-member's are verified; allocate()
    then verifies and shares the members' runs, and a relay reports them all verified."""
    plant, flat = env.meter(env.alice, MeterKind.PRODUCER), env.meter(env.bob, MeterKind.CONSUMER)
    roof = env.meter(env.carol, MeterKind.PRODUCER)
    start = max(m.first for m in (plant, flat, roof))
    iid = start // 900
    join(env.c, [plant.id, flat.id], iid)
    runs = {}
    for m, imports, exports in ((plant, [0, 0], [300, 100]), (flat, [200, 200], [0, 0]), (roof, [0, 0], [7, 8])):
        readings = series_to_readings(m.id, [start, start + 900], imports, exports)
        runs[m.id] = [env.sign(m, r) for r in to_runs(readings, 900, previous_end=m.first, run_intervals=1)]
    env.at(start + 1800)
    everything = [s for rs in runs.values() for s in rs]
    report = relay(env.c, everything)
    assert (report.submitted, report.already_verified) == (2, 0)
    assert env.registry.functions.meterState(roof.id).call()[0] == start + 1800
    op = env.c.operation.address
    by_run = {r.run: r for r in report.rejected}
    assert set(by_run) == {*runs[plant.id], *runs[flat.id]}
    for m in (plant, flat):
        first, second = runs[m.id]
        assert (by_run[first].error.name, by_run[first].error.args) == (
            "MeterRegistryMeterInOperation", {"meterId": m.id, "operation": op, "fromInterval": iid})
        assert by_run[second].reason == "blocked: an earlier run of this meter was refused"
        assert env.registry.functions.meterState(m.id).call()[0] == m.first
    shared = allocate(env.c, everything)
    assert (shared.intervals, shared.incomplete) == (2, None)
    assert [env.token.functions.redeemed(env.bob, iid + k).call() for k in range(2)] == [200, 100]
    again = relay(env.c, everything)
    assert (again.already_verified, again.submitted, again.rejected) == (6, 0, [])


def test_many_refusals_are_grouped_per_meter_and_reason():
    """A refused run and the 29 waiting behind it are two lines, not thirty; many meters or reasons
    are cut at ten lines (the rejected file has every run)."""
    key = Account.create()
    runs = [MeterReadings(b"\x01" * 32, 900 * k, 900 * k, [0], [0], 0, 0).sign(key, 1, "0x" + "11" * 20)
            for k in range(30)]
    rejected = [Rejection(runs[0], CustomError("MeterRegistryInvalidSigner", {"meterId": b"\x01" * 32}))] + [
        Rejection(r, reason="waiting: an earlier run of the meter was not verified") for r in runs[1:]]
    lines = refusal_lines(rejected, 900)
    assert len(lines) == 2
    assert lines[0].startswith("not verified: meter 0x010101010101.., 1 run from 1970-01-01 00:00 UTC: "
                               "MeterRegistryInvalidSigner(")
    assert lines[1] == ("not verified: meter 0x010101010101.., 29 runs from 1970-01-01 00:15 UTC: waiting: an "
                        "earlier run of the meter was not verified")
    many = [Rejection(MeterReadings(bytes([m]) * 32, 0, 0, [0], [0], 0, 0).sign(key, 1, "0x" + "11" * 20),
                      reason="superseded") for m in range(1, 15)]
    lines = refusal_lines(many, 900)
    assert len(lines) == 11 and lines[-1].startswith("... and 4 more meters or reasons")
