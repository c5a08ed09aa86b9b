"""Readings v2 as a property: whatever relayers do, in whatever order, every interval a meter signed
ends verified exactly once, and every interval of the operation's members shared exactly once.

Relayers are hostile or clumsy here: runs relayed straight to the registry (members' included),
through the operation, in partial batches, reordered, repeated, and relays that crash in the
middle. Then the honest tools run once more (``relay`` and ``allocate`` over everything), and the
chain must hold each meter's signed data once and the engine's sharing of each interval once.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gridshare.chain.deployment import ContractReverted
from gridshare.chain.events import verified_intervals
from gridshare.chain.operation import allocate, join
from gridshare.chain.relayer import relay
from gridshare.domain.allocation import DynamicDefaultKey, split_pro_rata
from gridshare.errors import GridshareError
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.readings import series_to_readings, to_runs

INTERVALS = 8
IMPORTS = {"plant": [0] * 8, "flat": [300, 200, 100, 400, 0, 250, 50, 600], "roof": [0, 50, 0, 0, 120, 0, 0, 30]}
EXPORTS = {"plant": [900, 0, 400, 100, 700, 0, 300, 200], "flat": [0] * 8, "roof": [200, 0, 80, 0, 0, 60, 0, 0]}
KINDS = {"plant": MeterKind.PRODUCER, "flat": MeterKind.CONSUMER, "roof": MeterKind.PRODUCER}


class Crash(Exception):
    pass


def _community(env):
    """The plant and the flat in the operation; the roof outside it. Runs of 1 or 2 intervals."""
    ms = {"plant": env.meter(env.alice, MeterKind.PRODUCER), "flat": env.meter(env.bob, MeterKind.CONSUMER),
          "roof": env.meter(env.carol, MeterKind.PRODUCER)}
    start = max(m.first for m in ms.values())
    while (start // 900) % 2:
        start += 900
    join(env.c, [ms["plant"].id, ms["flat"].id], start // 900)
    runs = []
    for name, m in ms.items():
        readings = series_to_readings(m.id, [start + 900 * t for t in range(INTERVALS)], IMPORTS[name], EXPORTS[name])
        cadence = 2 if name != "roof" else 1
        runs += [(name, env.sign(m, r)) for r in to_runs(readings, 900, previous_end=m.first, run_intervals=cadence)]
    env.at(start + 900 * INTERVALS)
    return ms, start, runs


meter = st.sampled_from(["plant", "flat", "roof"])
runs_of = st.lists(st.integers(0, 7), min_size=1, max_size=4)  # the k-th runs of a meter, in this order
mixed = st.lists(st.tuples(meter, st.integers(0, 7)), min_size=1, max_size=4)  # (meter, its k-th run)
action = st.one_of(
    st.tuples(st.just("relay"), mixed),
    st.tuples(st.just("allocate"), mixed),
    st.tuples(st.just("direct"), meter.flatmap(lambda m: runs_of.map(lambda ks: [(m, k) for k in ks]))),
    st.tuples(st.just("batch"), mixed),
    st.tuples(st.just("crash"), st.integers(1, 3)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(action, max_size=6))
# the attacks of issue #11, always tried: a later run first, a member's run straight to the registry,
# the later interval of a pending batch alone through the operation, reordered runs after a crash
@example(actions=[("direct", [("roof", 3)])])
@example(actions=[("direct", [("flat", 1)]), ("relay", [("plant", 0), ("flat", 0)])])
@example(actions=[("batch", [("plant", 1), ("flat", 1)])])
@example(actions=[("crash", 1), ("direct", [("roof", 5), ("roof", 2)]), ("allocate", [("flat", 2), ("plant", 2)])])
def test_every_signed_interval_is_verified_once_and_every_member_interval_shared_once(env, actions):
    snapshot = env.w3.testing.snapshot()
    try:
        ms, start, runs = _community(env)
        signed = [s for _, s in runs]
        members = [s for name, s in runs if name != "roof"]
        by_meter = {name: [s for n, s in runs if n == name] for name in ms}
        op = env.c.operation.functions
        for kind, arg in actions:
            chosen = [] if kind == "crash" else [by_meter[name][k % len(by_meter[name])] for name, k in arg]
            try:
                if kind == "relay":
                    relay(env.c, chosen)
                elif kind == "allocate":
                    allocate(env.c, chosen)
                elif kind == "direct":  # anyone, straight to the registry, in any order
                    env.submit(chosen)
                elif kind == "batch":  # anyone, straight to the operation, in any order
                    env.c.transact(op.submitAndAllocate([s.as_call_arg() for s in chosen]))
                else:  # a relay of everything that dies after `arg` batches, then an allocation that does
                    calls = []

                    def crash(n, calls=calls, arg=arg):
                        calls.append(n)
                        if len(calls) >= arg:
                            raise Crash

                    for tool in (relay, allocate):
                        try:
                            tool(env.c, signed, on_progress=crash)
                        except Crash:
                            pass
            except (ContractReverted, GridshareError):
                pass  # a refusal changes nothing
        # the honest tools, once more
        assert not relay(env.c, [s for name, s in runs if name == "roof"]).rejected
        report = allocate(env.c, members)
        assert report.incomplete is None

        # every signed interval verified exactly once, with the meter's data
        logs = env.registry.events.ReadingsVerified().get_logs(from_block=0)
        seen = Counter((v.meter_id, v.interval_start) for v in verified_intervals(logs, 900))
        names = {m.id: name for name, m in ms.items()}
        assert set(seen.values()) == {1}
        assert sorted(seen) == sorted((m.id, start + 900 * t) for m in ms.values() for t in range(INTERVALS))
        for v in verified_intervals(logs, 900):
            t = (v.interval_start - start) // 900
            assert (v.import_wh, v.export_wh) == (IMPORTS[names[v.meter_id]][t], EXPORTS[names[v.meter_id]][t])

        # every interval of the members shared exactly once, as the engine shares it
        shared = Counter(e.args.intervalId for e in env.c.operation.events.IntervalAllocated().get_logs(from_block=0))
        assert shared == Counter(start // 900 + t for t in range(INTERVALS))
        assert op.lastAllocated().call() == start // 900 + INTERVALS - 1
        for t in range(INTERVALS):
            production = {"plant": EXPORTS["plant"][t], "flat": 0}
            consumption = {"plant": 0, "flat": IMPORTS["flat"][t]}
            allocation = DynamicDefaultKey().allocate(production, consumption)
            [given] = split_pro_rata(allocation.received("flat"), [EXPORTS["plant"][t]])
            iid = start // 900 + t
            assert env.token.functions.intervalAccount(env.alice, iid).call() == [
                EXPORTS["plant"][t] - given, EXPORTS["plant"][t], 0, 0, 0]
            assert env.token.functions.intervalAccount(env.bob, iid).call() == [
                0, 0, IMPORTS["flat"][t], allocation.received("flat"), 0]
            assert env.token.functions.intervalAccount(env.carol, iid).call() == [
                EXPORTS["roof"][t], EXPORTS["roof"][t], IMPORTS["roof"][t], 0, 0]
    finally:
        env.w3.testing.revert(snapshot)
