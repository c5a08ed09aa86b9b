"""The gas bounds the tools plan transactions with, and the worst case they bound: the largest
operation allowed sharing one interval fits EIP-7825's 2^24 gas per transaction."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from gridshare.chain.operation import MAX_MEMBERS
from gridshare.protocol import gas
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReadings

EIP7825_CAP = 2**24


def test_groups_touched_counts_slots_of_eight_intervals():
    assert gas.groups_touched(8, 8) == 1
    assert gas.groups_touched(7, 2) == 2
    assert gas.groups_touched(0, 96) == 12
    assert gas.groups_touched(5, 0) == 0


def test_the_default_building_signs_runs_of_16_intervals():
    building = [MeterKind.CONSUMER] * 50 + [MeterKind.PROSUMER] * 10 + [MeterKind.PRODUCER]
    assert gas.run_intervals_for(building) == 16
    assert gas.cadence_gas(building, 16) <= gas.BATCH_GAS < gas.cadence_gas(building, 24)


def test_the_largest_operation_signs_one_interval_a_run():
    assert gas.run_intervals_for([MeterKind.PROSUMER] * MAX_MEMBERS) == 1


def test_the_worst_interval_of_the_largest_operation_fits_a_transaction(env):
    """MAX_MEMBERS prosumers importing, exporting and receiving in an interval that opens a group of
    eight lanes (every lane slot fresh): the costliest batch an operation can be sent."""
    c = env.c
    day = (env.now() // 86_400 + 2) * 86_400
    first = day // 900 + 47  # the second interval, 48, opens a group of eight lanes
    assert (first + 1) % 8 == 0
    ms = []
    for k in range(MAX_MEMBERS):
        key = Account.from_key(keccak(text=f"worst-meter-{k}"))
        owner = Account.from_key(keccak(text=f"worst-owner-{k}")).address
        mid = meter_id(bytes(32), f"worst-{k}")
        c.transact(c.registry.functions.registerParticipant(owner))
        c.transact(c.registry.functions.registerMeter(mid, key.address, owner, int(MeterKind.PROSUMER), 60_000,
                                                      bytes(32), 0))
        ms.append((mid, key))
    c.transact(c.operation.functions.join([mid for mid, _ in ms], first))
    env.at((first + 2) * 900)
    used = []
    for t in (first, first + 1):
        batch = []
        for j, (mid, key) in enumerate(ms):
            imp, exp = (300 + j % 7, 200) if j % 2 else (100, 400 + j % 5)  # both flows, every meter
            previous = c.registry.functions.meterState(mid).call()[0]
            n = t - first + 1
            batch.append(MeterReadings(mid, previous, t * 900, [imp], [exp], imp * n, exp * n)
                         .sign(key, env.chain.chain_id, c.registry.address).as_call_arg())
        # the first run of each meter also declares its outage since registration (day checkpoints)
        used.append(c.transact(c.operation.functions.submitAndAllocate(batch), gas=29_000_000)["gasUsed"])
    # the second interval opened fresh lane slots in all four figures of every member: the worst
    # case of a batch of one interval in steady state
    assert used[1] <= EIP7825_CAP
    # the planning bound holds above what was spent
    assert gas.cadence_gas([MeterKind.PROSUMER] * MAX_MEMBERS, 1) >= used[1]
    print(f"worst case: {used[1]:,} gas for {MAX_MEMBERS} members ({used[1] / MAX_MEMBERS:,.0f} each)")
