"""MeterRegistry: participants, meters, roles, and every refusal of a run of readings, by its exact
error; the attacks readings v2 closes (a later run first, backdating, a refused run leaving a hole)."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from eth_abi import encode
from eth_keys import keys
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from gridshare.chain.compiler import compile_contracts
from gridshare.protocol.meters import MeterKind, meter_id, new_meter_key
from gridshare.protocol.readings import MeterReadings, SignedReadings, pack_energy, unpack_energy

from conftest import SALT, SOLAR, raise_view, reverts

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
ALLOCATOR_ROLE = keccak(text="ALLOCATOR_ROLE")
IMPORT, EXPORT = 0, 1
DAY = 86_400
#: hypothesis settings for properties run on the module's chain (each example in its own snapshot)
ON_CHAIN = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@contextlib.contextmanager
def _snapshot(env):
    """Revert the chain after one hypothesis example (the autouse isolation is per test)."""
    snapshot = env.w3.testing.snapshot()
    try:
        yield
    finally:
        env.w3.testing.revert(snapshot)


# --- construction and linking --------------------------------------------------------------------


def test_interval_seconds_must_be_900_or_1800(env):
    artifact = compile_contracts()["MeterRegistry"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with reverts("MeterRegistryInvalidIntervalSeconds", intervalSeconds=600):
        env.c.transact(factory.constructor(600, env.operator, 0))


def test_only_the_admin_sets_the_energy_token(env):
    with reverts("AccessControlUnauthorizedAccount", account=env.outsider, neededRole=bytes(32)):
        env.c.transact(env.registry.functions.setEnergyToken(env.token.address), env.outsider)


def test_energy_token_is_set_once(env):
    token = env.token.address
    with reverts("MeterRegistryEnergyTokenAlreadySet", energyToken=token):
        env.c.transact(env.registry.functions.setEnergyToken(token))


def test_energy_token_must_point_back_to_the_registry(env):
    artifacts = compile_contracts()
    registry_factory = env.w3.eth.contract(abi=artifacts["MeterRegistry"].abi, bytecode=artifacts["MeterRegistry"].bytecode)
    receipt = env.c.transact(registry_factory.constructor(900, env.operator, 0))
    fresh = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifacts["MeterRegistry"].abi)
    with reverts("MeterRegistryInvalidEnergyToken", energyToken=env.token.address):
        env.c.transact(fresh.functions.setEnergyToken(env.token.address))
    zero = "0x" + "00" * 20
    with reverts("MeterRegistryInvalidEnergyToken", energyToken=zero):
        env.c.transact(fresh.functions.setEnergyToken(zero))


def test_readings_need_the_energy_token(env):
    artifact = compile_contracts()["MeterRegistry"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(900, env.operator, 0))
    fresh = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    m = env.meter(env.alice)
    signed = env.readings(m, env.next_start(), [0], [1])
    with reverts("MeterRegistryEnergyTokenNotSet"):
        env.c.transact(fresh.functions.submitReadings([s.as_call_arg() for s in signed]))


# --- participants and meters ----------------------------------------------------------------------


def test_operator_registers_a_participant(env):
    env.c.transact(env.registry.functions.registerParticipant(env.alice))
    assert env.registry.functions.isParticipant(env.alice).call()
    assert not env.registry.functions.isParticipant(env.outsider).call()


def test_participant_registered_twice_is_refused(env):
    env.participant(env.alice)
    with reverts("MeterRegistryParticipantAlreadyRegistered", account=env.alice):
        env.c.transact(env.registry.functions.registerParticipant(env.alice))


def test_zero_participant_is_refused(env):
    zero = "0x" + "00" * 20
    with reverts("MeterRegistryInvalidParticipant", account=zero):
        env.c.transact(env.registry.functions.registerParticipant(zero))


def test_only_the_operator_registers(env):
    with reverts("AccessControlUnauthorizedAccount", account=env.outsider, neededRole=OPERATOR_ROLE):
        env.c.transact(env.registry.functions.registerParticipant(env.alice), env.outsider)
    with reverts("AccessControlUnauthorizedAccount", account=env.outsider, neededRole=OPERATOR_ROLE):
        env.c.transact(env.registry.functions.registerMeter(b"\1" * 32, env.alice, env.alice, 0, 1, SOLAR, 0), env.outsider)


def test_meter_is_registered_with_its_description(env):
    m = env.meter(env.alice, MeterKind.PROSUMER, capacity_w=6000)
    info = env.registry.functions.meter(m.id).call()
    assert info[:7] == (m.key.address, env.alice, int(MeterKind.PROSUMER), True, 6000, SOLAR, 1_700_000_000)
    assert 0 < info[7] <= env.now()
    # its readings start at the first interval after its registration: no register known yet
    assert env.registry.functions.meterState(m.id).call() == (m.first, 0, 0, 0, False)
    assert m.first == -(-info[7] // 900) * 900


def test_meter_id_is_the_salted_hash_of_the_meter_point(env):
    assert meter_id(SALT, "30001234567890") == keccak(SALT + b"30001234567890")


def test_meter_registered_twice_is_refused(env):
    m = env.meter(env.alice)
    with reverts("MeterRegistryMeterAlreadyRegistered", meterId=m.id):
        env.c.transact(env.registry.functions.registerMeter(m.id, env.bob, env.alice, 0, 1000, SOLAR, 0))


def test_meter_owner_must_be_a_participant(env):
    with reverts("MeterRegistryNotParticipant", account=env.outsider):
        env.c.transact(env.registry.functions.registerMeter(b"\1" * 32, env.bob, env.outsider, 0, 1000, SOLAR, 0))


def test_meter_needs_a_signer_and_a_capacity(env):
    env.participant(env.alice)
    zero = "0x" + "00" * 20
    with reverts("MeterRegistryInvalidSignerKey", meterId=b"\1" * 32, signer=zero):
        env.c.transact(env.registry.functions.registerMeter(b"\1" * 32, zero, env.alice, 0, 1000, SOLAR, 0))
    with reverts("MeterRegistryZeroCapacity", meterId=b"\1" * 32):
        env.c.transact(env.registry.functions.registerMeter(b"\1" * 32, env.bob, env.alice, 0, 0, SOLAR, 0))


def test_unknown_meter_views_are_refused(env):
    with reverts("MeterRegistryUnknownMeter", meterId=b"\7" * 32):
        raise_view(env, env.registry.functions.meter(b"\7" * 32))
    with reverts("MeterRegistryUnknownMeter", meterId=b"\7" * 32):
        raise_view(env, env.registry.functions.meterState(b"\7" * 32))


def test_rotated_key_signs_and_old_key_is_refused(env):
    m = env.meter(env.alice)
    new_key = new_meter_key()
    env.c.transact(env.registry.functions.rotateSigner(m.id, new_key.address))
    start = env.next_start()
    old = env.readings(m, start, [0], [5])
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=m.key.address, expected=new_key.address):
        env.submit(old)
    m.key = new_key
    env.submit(env.readings(m, start, [0], [5]))
    assert env.token.functions.balanceOf(env.alice, start // 900).call() == 5


def test_rotation_and_deactivation_refusals(env):
    m = env.meter(env.alice)
    zero = "0x" + "00" * 20
    with reverts("MeterRegistryInvalidSignerKey", meterId=m.id, signer=zero):
        env.c.transact(env.registry.functions.rotateSigner(m.id, zero))
    with reverts("MeterRegistryUnknownMeter", meterId=b"\2" * 32):
        env.c.transact(env.registry.functions.rotateSigner(b"\2" * 32, env.bob))
    with reverts("MeterRegistryUnknownMeter", meterId=b"\2" * 32):
        env.c.transact(env.registry.functions.deactivateMeter(b"\2" * 32))
    with reverts("AccessControlUnauthorizedAccount", account=env.outsider, neededRole=OPERATOR_ROLE):
        env.c.transact(env.registry.functions.deactivateMeter(m.id), env.outsider)
    with reverts("AccessControlUnauthorizedAccount", account=env.outsider, neededRole=OPERATOR_ROLE):
        env.c.transact(env.registry.functions.rotateSigner(m.id, env.bob), env.outsider)
    env.c.transact(env.registry.functions.deactivateMeter(m.id))
    with reverts("MeterRegistryMeterDeactivated", meterId=m.id):
        env.c.transact(env.registry.functions.deactivateMeter(m.id))
    with reverts("MeterRegistryMeterDeactivated", meterId=m.id):
        env.c.transact(env.registry.functions.rotateSigner(m.id, env.bob))


# --- runs: accepted -------------------------------------------------------------------------------


def test_any_account_relays_a_run_and_the_state_advances(env):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = m.first
    receipt = env.submit(env.readings(m, start, [3, 0, 7], [100, 250, 0], import_register_wh=1000, export_register_wh=50))
    assert env.registry.functions.meterState(m.id).call() == (start + 3 * 900, 1010, 400, 350, True)
    [event] = env.registry.events.ReadingsVerified().process_receipt(receipt, errors=DISCARD)
    assert dict(event.args) == {"meterId": m.id, "previousEnd": start, "firstIntervalStart": start,
                                "energyWh": pack_energy([3, 0, 7], [100, 250, 0])}
    assert unpack_energy(event.args.energyWh) == [(3, 100), (0, 250), (7, 0)]


def test_runs_follow_each_other(env):
    m = env.meter(env.alice)
    first = env.readings(m, m.first, [0, 0], [10, 20])
    second = env.readings(m, m.first + 1800, [0], [30], previous_end=m.first + 1800, export_register_wh=30)
    env.submit(first + second)  # one after the other in one batch
    assert env.registry.functions.meterState(m.id).call() == (m.first + 2700, 0, 60, 60, True)


def test_an_outage_declared_by_the_meter_lets_its_registers_move_more_than_its_energy(env):
    m = env.meter(env.alice)
    env.submit(env.readings(m, m.first, [0], [100]))
    # intervals 1..4 lost: the meter signs the outage [first + 900, first + 5 * 900), 460 Wh unreported
    later = MeterReadings(m.id, m.first + 900, m.first + 5 * 900, [0], [40], 0, 100 + 500)
    receipt = env.submit([env.sign(m, later)])
    assert env.registry.functions.meterState(m.id).call() == (m.first + 6 * 900, 0, 600, 140, True)
    [event] = env.registry.events.ReadingsVerified().process_receipt(receipt, errors=DISCARD)
    assert (event.args.previousEnd, event.args.firstIntervalStart) == (m.first + 900, m.first + 5 * 900)


def test_an_outage_alone_is_a_run(env):
    m = env.meter(env.alice)
    env.submit([env.sign(m, MeterReadings(m.id, m.first, m.first + 4 * 900, [], [], 0, 70))])
    assert env.registry.functions.meterState(m.id).call() == (m.first + 4 * 900, 0, 70, 0, True)
    env.submit(env.readings(m, m.first + 4 * 900, [0], [5], export_register_wh=70))
    assert env.token.functions.balanceOf(env.alice, m.first // 900 + 4).call() == 5


def test_runs_of_several_meters_interleave_in_one_batch(env):
    a, b = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    start = max(a.first, b.first)
    a1 = env.run(a, start, [0], [10])
    b1 = env.run(b, start, [5], [0])
    a2 = env.run(a, start + 900, [0], [20], previous_end=a1.end(900), export_register_wh=10)
    b2 = env.run(b, start + 900, [6], [0], previous_end=b1.end(900), import_register_wh=5)
    env.submit([env.sign(a, a1), env.sign(b, b1), env.sign(a, a2), env.sign(b, b2)])
    assert env.registry.functions.meterState(a.id).call() == (start + 1800, 0, 30, 30, True)
    assert env.registry.functions.meterState(b.id).call() == (start + 1800, 11, 0, 0, True)


def test_energy_at_exactly_capacity_is_accepted(env):
    m = env.meter(env.alice, capacity_w=4000)  # 1000 Wh per 15 minutes
    env.submit(env.readings(m, m.first, [1000], [1000]))


def test_a_capacity_above_32_bits_of_watts_is_registered_and_bounds_readings(env):
    """Capacities are uint64 W: a 5 GW plant (above 2^32 W) registers, and its bound, 1.25 GWh per
    quarter hour, applies."""
    m = env.meter(env.alice, capacity_w=5_000_000_000)
    assert env.registry.functions.meter(m.id).call()[4] == 5_000_000_000
    with reverts("MeterRegistryEnergyExceedsCapacity", meterId=m.id, flow=EXPORT, energyWh=1_250_000_001,
                 maxWh=1_250_000_000):
        env.submit(env.readings(m, m.first, [0, 0], [1_250_000_000, 1_250_000_001]))
    env.submit(env.readings(m, m.first, [0, 0], [1_250_000_000, 7]))


def test_interval_that_just_ended_is_accepted(env):
    m = env.meter(env.alice)
    signed = [env.sign(m, env.run(m, m.first, [0], [1]))]
    env.at(m.first + 900)  # the block executing the transaction: the interval has just ended
    env.submit(signed, travel=False)


# --- the attacks readings v2 closes ---------------------------------------------------------------


def test_a_later_run_submitted_first_is_refused_and_the_earlier_ones_stay_verifiable(env):
    """Whoever sees a meter's signed runs (a pending transaction, a file) cannot submit the last
    first to make the earlier ones unverifiable for good: runs are verified in the meter's order."""
    m = env.meter(env.alice)
    runs = [env.run(m, m.first + 900 * 2 * k, [0, 0], [10 * k + 1, 10 * k + 2], previous_end=m.first + 900 * 2 * k,
                    export_register_wh=sum(20 * j + 3 for j in range(k))) for k in range(3)]
    signed = [env.sign(m, r) for r in runs]
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first + 3600, nextIntervalStart=m.first):
        env.submit(signed[2:])
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first + 1800, nextIntervalStart=m.first):
        env.submit([signed[1], signed[0]])  # reordered in one batch
    env.submit(signed)
    ids = [m.first // 900 + k for k in range(6)]
    assert env.token.functions.balanceOfBatch([env.alice] * 6, ids).call() == [1, 2, 11, 12, 21, 22]


def test_a_run_before_the_registration_is_refused(env):
    m = env.meter(env.alice)
    backdated = env.run(m, m.first - 96 * 900, [0], [1000], previous_end=m.first - 96 * 900)
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first - 96 * 900, nextIntervalStart=m.first):
        env.submit([env.sign(m, backdated)])
    assert env.token.functions.balanceOf(env.alice, m.first // 900 - 96).call() == 0


def test_a_run_before_the_commissioning_date_is_refused(env):
    commissioned = env.now() + 2 * 86_400 + 100
    m = env.meter(env.alice, commissioned=commissioned)
    assert m.first == -(-commissioned // 900) * 900  # the first interval at or after commissioning
    early = env.run(m, m.first - 900, [0], [5], previous_end=m.first - 900)
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first - 900, nextIntervalStart=m.first):
        env.submit([env.sign(m, early)])
    env.submit(env.readings(m, m.first, [0], [5]))


def test_a_replayed_run_is_refused(env):
    m = env.meter(env.alice)
    signed = env.readings(m, m.first, [0, 0], [1, 1])
    env.submit(signed)
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first, nextIntervalStart=m.first + 1800):
        env.submit(signed)
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=m.first, nextIntervalStart=m.first + 1800):
        env.submit(signed + signed)


@ON_CHAIN
@given(offset=st.one_of(st.integers(-3 * DAY, 3 * DAY), st.sampled_from([-901, -900, -1, 0, 1, 899, 900, 901])))
def test_the_first_interval_is_the_first_start_at_or_after_registration_and_commissioning(env, offset):
    with _snapshot(env):
        commissioned = env.now() + offset  # in the past or in the future, aligned or not
        m = env.meter(env.alice, commissioned=commissioned)
        registered_at = env.registry.functions.meter(m.id).call()[7]
        floor = max(registered_at, commissioned)
        assert m.first == -(-floor // 900) * 900
        assert m.first % 900 == 0 and m.first - 900 < floor <= m.first


def _refusal(env, m, right, refusal):
    """``right`` spoilt one way: (the signed run, the error, its arguments)."""
    if refusal == "signature":
        stranger = new_meter_key()
        return (right.sign(stranger, env.chain.chain_id, env.registry.address), "MeterRegistryInvalidSigner",
                dict(meterId=m.id, recovered=stranger.address, expected=m.key.address))
    if refusal == "capacity":
        spoilt = replace(right, export_wh=(500, 1001), export_register_wh=right.export_register_wh + 901)
        return (env.sign(m, spoilt), "MeterRegistryEnergyExceedsCapacity",
                dict(meterId=m.id, flow=EXPORT, energyWh=1001, maxWh=1000))
    spoilt = replace(right, export_register_wh=right.export_register_wh + 1)  # registers one Wh off
    return (env.sign(m, spoilt), "MeterRegistryRegisterStepMismatch", dict(meterId=m.id, flow=EXPORT, stepWh=601, energyWh=600))


@pytest.mark.parametrize("refusal", ["signature", "capacity", "registers"])
def test_a_refused_run_changes_nothing_and_the_same_intervals_signed_right_are_verified(env, refusal):
    m = env.meter(env.alice, capacity_w=4000)  # 1000 Wh per 15 minutes
    env.submit(env.readings(m, m.first, [0], [100]))
    start = m.first + 900
    before = env.registry.functions.meterState(m.id).call()
    assert before == (start, 0, 100, 100, True)
    right = env.run(m, start, [0, 0], [500, 100], export_register_wh=100)
    later = env.sign(m, env.run(m, start + 1800, [0], [7], previous_end=start + 1800, export_register_wh=700))
    bad, error, args = _refusal(env, m, right, refusal)
    with reverts(error, **args):
        env.submit([bad, later])
    ids = [start // 900 + k for k in range(3)]
    assert env.registry.functions.meterState(m.id).call() == before
    assert [env.token.functions.intervalAccount(env.alice, i).call() for i in ids] == [[0, 0, 0, 0, 0]] * 3
    # the meter's later run waits for these intervals: no one can skip them
    with reverts("MeterRegistryNotContinuous", meterId=m.id, previousEnd=start + 1800, nextIntervalStart=start):
        env.submit([later])
    env.submit([env.sign(m, right), later])  # the gateway signs them again, right
    assert env.registry.functions.meterState(m.id).call() == (start + 2700, 0, 707, 707, True)
    assert env.token.functions.balanceOfBatch([env.alice] * 3, ids).call() == [500, 100, 7]


def test_a_relayer_cannot_fix_a_refused_run(env):
    m = env.meter(env.alice, capacity_w=4000)  # 1000 Wh per 15 minutes
    too_much = env.readings(m, m.first, [0, 0], [500, 1001])
    with reverts("MeterRegistryEnergyExceedsCapacity", meterId=m.id, flow=EXPORT, energyWh=1001, maxWh=1000):
        env.submit(too_much)
    # "fixing" the data breaks the signature: it covers the data
    forged = [replace(too_much[0], run=replace(too_much[0].run, export_wh=(500, 100), export_register_wh=600))]
    recovered = forged[0].recover(env.chain.chain_id, env.registry.address)
    assert recovered != m.key.address
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit(forged)
    assert env.registry.functions.meterState(m.id).call() == (m.first, 0, 0, 0, False)


# --- runs: refused --------------------------------------------------------------------------------


def test_empty_batch_is_refused(env):
    with reverts("MeterRegistryEmptyBatch"):
        env.c.transact(env.registry.functions.submitReadings([]))


def test_unknown_meter_is_refused(env):
    m = env.meter(env.alice)
    ghost = replace(m, id=b"\x42" * 32)
    with reverts("MeterRegistryUnknownMeter", meterId=b"\x42" * 32):
        env.submit(env.readings(ghost, m.first, [0], [1], previous_end=m.first))


def test_deactivated_meter_is_refused(env):
    m = env.meter(env.alice)
    env.c.transact(env.registry.functions.deactivateMeter(m.id))
    with reverts("MeterRegistryMeterDeactivated", meterId=m.id):
        env.submit(env.readings(m, m.first, [0], [1]))


def test_wrong_signer_is_refused(env):
    m, other = env.meter(env.alice), env.meter(env.bob)
    forged = env.run(m, m.first, [0], [1]).sign(other.key, env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=other.key.address, expected=m.key.address):
        env.submit([forged])


def test_malformed_signature_recovers_nobody(env):
    m = env.meter(env.alice)
    signed = env.readings(m, m.first, [0], [1])[0]
    broken = SignedReadings(signed.run, signed.signature[:64] + bytes([29]))  # v must be 27 or 28
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered="0x" + "00" * 20, expected=m.key.address):
        env.submit([broken])


@pytest.mark.parametrize("previous, first, imports, exports", [
    (900, 0, [1], [1]),  # its first interval before previousEnd
    (0, 0, [1, 2], [1]),  # series of different lengths
    (0, 0, [], []),  # nothing at all: no outage, no interval
])
def test_malformed_runs_are_refused(env, previous, first, imports, exports):
    m = env.meter(env.alice)
    args = list(env.readings(m, m.first, [0], [1])[0].as_call_arg())
    args[1:5] = m.first + previous, m.first + first, imports, exports
    with reverts("MeterRegistryInvalidRun", meterId=m.id, previousEnd=m.first + previous,
                 firstIntervalStart=m.first + first, imports=len(imports), exports=len(exports)):
        env.at(m.first + 3600)
        env.c.transact(env.registry.functions.submitReadings([tuple(args)]))


SUBMIT_SELECTOR = keccak(text="submitReadings((bytes32,uint64,uint64,uint32[],uint32[],uint64,uint64,uint8,bytes32,bytes32)[])")[:4]
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


class _Raw:
    """A registry call with raw calldata, for Community.transact and simulate."""

    def __init__(self, env, data: bytes):
        self.env, self.data = env, data

    def call(self, params, block_identifier="latest"):
        return self.env.w3.eth.call({**params, "to": self.env.registry.address, "data": self.data}, block_identifier)

    def transact(self, params):
        return self.env.w3.eth.send_transaction({**params, "to": self.env.registry.address, "data": self.data})


def _words_digest(env, m, imports: list[int], exports: list[int], registers=(0, 0)) -> bytes:
    """The EIP-712 digest of ``m``'s run from ``m.first`` with these 32-byte words as energies,
    whatever their size: as the registry hashes the words it is sent (eth_account refuses to encode
    a uint32 above 2^32 - 1)."""
    def words(values):
        return keccak(b"".join(v.to_bytes(32, "big") for v in values))

    domain = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [
        DOMAIN_TYPEHASH, keccak(text="gridshare"), keccak(text="2"), env.chain.chain_id, env.registry.address]))
    struct = keccak(encode(["bytes32", "bytes32", "uint64", "uint64", "bytes32", "bytes32", "uint64", "uint64"], [
        env.registry.functions.READINGS_TYPEHASH().call(), m.id, m.first, m.first, words(imports), words(exports),
        *registers]))
    return keccak(b"\x19\x01" + domain + struct)


def _raw_submit(env, m, imports: list[int], exports: list[int], registers, signature) -> _Raw:
    """submitReadings of one run of ``m`` from ``m.first``, its energies sent as these full words:
    what a raw calldata writer can send where the ABI has uint32."""
    body = encode(["(bytes32,uint64,uint64,uint256[],uint256[],uint64,uint64,uint8,bytes32,bytes32)[]"], [[
        (m.id, m.first, m.first, imports, exports, *registers, signature.v, signature.r.to_bytes(32, "big"),
         signature.s.to_bytes(32, "big"))]])
    return _Raw(env, SUBMIT_SELECTOR + body)


def test_the_raw_encoding_of_these_tests_is_the_protocols(env):
    """The raw digest and calldata below, with clean words, are a run the registry verifies."""
    m = env.meter(env.alice, MeterKind.PROSUMER)
    digest = _words_digest(env, m, [3], [5], (3, 5))
    assert digest == env.run(m, m.first, [3], [5]).digest(env.chain.chain_id, env.registry.address)
    env.at(m.first + 900)
    env.c.transact(_raw_submit(env, m, [3], [5], (3, 5), m.key.unsafe_sign_hash(digest)))
    assert env.registry.functions.meterState(m.id).call() == (m.first + 900, 3, 5, 5, True)


def test_a_word_above_uint32_is_refused_even_if_signed(env):
    """A meter key that signs an energy word above 2^32 - 1 (no honest signer encodes one) is
    refused: the token reads the words raw, eight to a storage slot."""
    m = env.meter(env.alice, MeterKind.PROSUMER)
    words = [2**32 + 5]
    signature = m.key.unsafe_sign_hash(_words_digest(env, m, [0], words))
    env.at(m.first + 900)
    with reverts("MeterRegistryInvalidRun", meterId=m.id, previousEnd=m.first, firstIntervalStart=m.first, imports=1,
                 exports=1):
        env.c.transact(_raw_submit(env, m, [0], words, (0, 0), signature))
    assert env.registry.functions.meterState(m.id).call() == (m.first, 0, 0, 0, False)


@pytest.mark.parametrize("dirt", [2**32, 2**255, 2**256 - 2**32])
def test_dirty_high_bits_on_a_signed_word_are_refused(env, dirt):
    """A relayer setting high bits above a uint32 the meter signed (5 Wh read as 5 Wh by a lax
    decoder, as 2^32 + 5 by the raw words): the words hashed are not those signed."""
    m = env.meter(env.alice, MeterKind.PROSUMER)
    signature = m.key.unsafe_sign_hash(_words_digest(env, m, [0], [5], (0, 5)))
    dirty_digest = _words_digest(env, m, [0], [dirt | 5], (0, 5))
    recovered = keys.Signature(vrs=(signature.v - 27, signature.r, signature.s)).recover_public_key_from_msg_hash(
        dirty_digest).to_checksum_address()
    assert recovered != m.key.address
    env.at(m.first + 900)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.c.transact(_raw_submit(env, m, [0], [dirt | 5], (0, 5), signature))
    env.c.transact(_raw_submit(env, m, [0], [5], (0, 5), signature))  # the words the meter signed
    assert env.token.functions.balanceOf(env.alice, m.first // 900).call() == 5


def test_unaligned_interval_is_refused(env):
    m = env.meter(env.alice)
    start = m.first + 60
    with reverts("MeterRegistryIntervalNotAligned", intervalStart=start, intervalSeconds=900):
        env.submit(env.readings(m, start, [0], [1], previous_end=m.first))


def test_interval_not_yet_ended_is_refused(env):
    m = env.meter(env.alice)
    signed = [env.sign(m, env.run(m, m.first, [0, 0], [1, 1]))]
    end = m.first + 1800
    # the check is against the timestamp of the block that executes the transaction
    env.at(end - 1)
    with reverts("MeterRegistryIntervalNotEnded", intervalStart=m.first + 900, intervalEnd=end, now=end - 1):
        env.submit(signed, travel=False)


def test_an_outage_into_the_future_is_refused(env):
    m = env.meter(env.alice)
    outage = MeterReadings(m.id, m.first, m.first + 4 * 900, [], [], 0, 0)
    env.at(m.first + 4 * 900 - 1)
    with reverts("MeterRegistryIntervalNotEnded", intervalStart=m.first + 4 * 900, intervalEnd=m.first + 4 * 900,
                 now=m.first + 4 * 900 - 1):
        env.submit([env.sign(m, outage)], travel=False)


def test_a_run_longer_than_31_days_is_refused(env):
    m = env.meter(env.alice)
    end = m.first + 31 * 86_400 + 900
    long = MeterReadings(m.id, m.first, end - 900, [0], [1], 0, 1)
    with reverts("MeterRegistryRunTooLong", meterId=m.id, previousEnd=m.first, end=end, maxSeconds=31 * 86_400):
        env.submit([env.sign(m, long)])
    env.outage(m, end - 900)  # declared in two runs of at most 30 days instead
    env.submit(env.readings(m, end - 900, [0], [1]))


def test_a_run_of_exactly_31_days_is_accepted(env):
    m = env.meter(env.alice)
    end = m.first + 31 * 86_400
    env.submit([env.sign(m, MeterReadings(m.id, m.first, end - 900, [0], [1], 0, 1))])  # a 31-day outage, an interval
    assert env.registry.functions.meterState(m.id).call()[0] == end


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_decreasing_register_is_refused(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    env.submit(env.readings(m, m.first, [0], [0], import_register_wh=500, export_register_wh=500))
    registers = [500, 500]
    registers[flow] = 499
    bad = MeterReadings(m.id, m.first + 900, m.first + 900, [0], [0], *registers)
    with reverts("MeterRegistryRegisterDecreased", meterId=m.id, flow=flow, previousWh=500, registerWh=499):
        env.submit([env.sign(m, bad)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_register_step_must_equal_the_energy_without_an_outage(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    env.submit(env.readings(m, m.first, [0], [0]))
    registers = [20, 20]
    registers[flow] = 21  # step 21 for 20 Wh over two directly following intervals
    bad = MeterReadings(m.id, m.first + 900, m.first + 900, [10, 10], [10, 10], *registers)
    with reverts("MeterRegistryRegisterStepMismatch", meterId=m.id, flow=flow, stepWh=21, energyWh=20):
        env.submit([env.sign(m, bad)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_register_step_smaller_than_the_energy_is_refused_after_an_outage(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    env.submit(env.readings(m, m.first, [0], [0]))
    registers = [10, 10]
    registers[flow] = 9
    bad = MeterReadings(m.id, m.first + 900, m.first + 3 * 900, [10], [10], *registers)
    with reverts("MeterRegistryRegisterStepMismatch", meterId=m.id, flow=flow, stepWh=9, energyWh=10):
        env.submit([env.sign(m, bad)])


@ON_CHAIN
@given(energies=st.lists(st.integers(0, 2500), min_size=1, max_size=4), delta=st.integers(-3, 3),
       outage=st.booleans(), flow=st.sampled_from([IMPORT, EXPORT]))
def test_registers_move_by_the_energy_without_an_outage_and_by_at_least_it_across_one(env, energies, delta, outage,
                                                                                       flow):
    """The register step after a run is its energy plus ``delta``: exact without an outage, at
    least the energy across one, never down."""
    with _snapshot(env):
        m = env.meter(env.alice, MeterKind.PROSUMER)
        env.submit(env.readings(m, m.first, [0], [0], import_register_wh=1000, export_register_wh=1000))
        start = m.first + 900 + (1800 if outage else 0)
        series = [[0] * len(energies), [0] * len(energies)]
        series[flow] = energies
        registers = [1000, 1000]
        registers[flow] += sum(energies) + delta
        run = MeterReadings(m.id, m.first + 900, start, series[IMPORT], series[EXPORT], *registers)
        if delta == 0 or (outage and delta > 0):
            env.submit([env.sign(m, run)])
            assert env.registry.functions.meterState(m.id).call()[:3] == (run.end(900), *registers)
        elif registers[flow] < 1000:
            with reverts("MeterRegistryRegisterDecreased", meterId=m.id, flow=flow, previousWh=1000,
                         registerWh=registers[flow]):
                env.submit([env.sign(m, run)])
        else:
            with reverts("MeterRegistryRegisterStepMismatch", meterId=m.id, flow=flow, stepWh=sum(energies) + delta,
                         energyWh=sum(energies)):
                env.submit([env.sign(m, run)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_energy_beyond_capacity_is_refused(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER, capacity_w=4001)  # 1000.25 Wh per 15 minutes
    energies = [[0, 0], [0, 0]]
    energies[flow] = [1000, 1001]
    with reverts("MeterRegistryEnergyExceedsCapacity", meterId=m.id, flow=flow, energyWh=1001, maxWh=1000):
        env.submit(env.readings(m, m.first, *energies))


def test_consumer_meter_cannot_export(env):
    m = env.meter(env.alice, MeterKind.CONSUMER)
    with reverts("MeterRegistryExportFromConsumer", meterId=m.id, exportWh=m.first + 900):
        env.submit(env.readings(m, m.first, [1, 1], [0, 5]))


def test_one_bad_run_reverts_the_whole_batch(env):
    a, b = env.meter(env.alice), env.meter(env.bob)
    good = env.readings(a, a.first, [0, 0], [10, 20])
    bad = env.readings(b, b.first + 60, [0], [1], previous_end=b.first)
    with reverts("MeterRegistryIntervalNotAligned", intervalStart=b.first + 60, intervalSeconds=900):
        env.submit(good + bad)
    assert env.registry.functions.meterState(a.id).call() == (a.first, 0, 0, 0, False)
    assert env.token.functions.balanceOf(env.alice, a.first // 900).call() == 0
    env.submit(good)  # the good one goes through on its own
    assert env.token.functions.balanceOf(env.alice, a.first // 900).call() == 10


# --- bindings to an operation ---------------------------------------------------------------------


def _allocator(env):
    env.c.transact(env.registry.functions.grantRole(ALLOCATOR_ROLE, env.carol))
    return env.carol


def test_only_an_allocator_binds(env):
    m = env.meter(env.alice)
    with reverts("MeterRegistryUnauthorizedAllocator", caller=env.outsider):
        env.c.transact(env.registry.functions.bindOperation(m.id, m.first // 900), env.outsider)
    with reverts("MeterRegistryUnauthorizedAllocator", caller=env.outsider):
        env.c.transact(env.registry.functions.unbindOperation(m.id, m.first // 900), env.outsider)


def test_bound_intervals_go_through_the_operation_only(env):
    m = env.meter(env.alice)
    op = _allocator(env)
    f = m.first // 900 + 2
    receipt = env.c.transact(env.registry.functions.bindOperation(m.id, f), op)
    [event] = env.registry.events.MeterBound().process_receipt(receipt, errors=DISCARD)
    assert tuple(event.args.values()) == (m.id, op, f, 2**32 - 1)
    assert env.registry.functions.binding(m.id).call() == (op, f, 2**32 - 1)
    env.submit(env.readings(m, m.first, [0, 0], [1, 2]))  # before the binding: anyone
    bound = env.readings(m, f * 900, [0], [3], export_register_wh=3)
    with reverts("MeterRegistryMeterInOperation", meterId=m.id, operation=op, fromInterval=f):
        env.submit(bound)
    with reverts("MeterRegistryMeterInOperation", meterId=m.id, operation=op, fromInterval=f):
        env.submit([env.sign(m, MeterReadings(m.id, f * 900, f * 900 + 900, [], [], 0, 3))])  # an outage too
    env.submit(bound, sender=op)
    # after the binding ends, anyone again
    env.c.transact(env.registry.functions.unbindOperation(m.id, f + 1), op)
    env.submit(env.readings(m, f * 900 + 900, [0], [4], export_register_wh=6))
    assert env.registry.functions.meterState(m.id).call()[0] == f * 900 + 1800


def test_a_meter_cannot_be_bound_from_intervals_already_verified(env):
    m = env.meter(env.alice)
    op = _allocator(env)
    env.submit(env.readings(m, m.first, [0, 0], [1, 2]))
    f = m.first // 900 + 1
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation="0x" + "00" * 20, fromInterval=f,
                 nextIntervalStart=m.first + 1800):
        env.c.transact(env.registry.functions.bindOperation(m.id, f), op)
    for beyond in (2**32 - 1, 2**256 - 1):  # interval ids are below 2^32 - 1 (open-ended)
        with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation="0x" + "00" * 20, fromInterval=beyond,
                     nextIntervalStart=m.first + 1800):
            env.c.transact(env.registry.functions.bindOperation(m.id, beyond), op)
    env.c.transact(env.registry.functions.bindOperation(m.id, f + 1), op)
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=2**32,
                 nextIntervalStart=m.first + 1800):
        env.c.transact(env.registry.functions.unbindOperation(m.id, 2**32), op)


def test_a_run_reaching_into_bound_intervals_is_refused(env):
    m = env.meter(env.alice)
    op = _allocator(env)
    f = m.first // 900 + 2
    env.c.transact(env.registry.functions.bindOperation(m.id, f), op)
    with reverts("MeterRegistryMeterInOperation", meterId=m.id, operation=op, fromInterval=f):
        env.submit(env.readings(m, m.first, [0, 0, 0], [1, 2, 3]))  # its last interval is bound
    env.submit(env.readings(m, m.first, [0, 0], [1, 2]))  # up to the binding: anyone
    assert env.registry.functions.meterState(m.id).call()[0] == f * 900


def test_a_binding_cannot_end_before_intervals_already_verified(env):
    m = env.meter(env.alice)
    op = _allocator(env)
    f = m.first // 900
    env.c.transact(env.registry.functions.bindOperation(m.id, f), op)
    env.submit(env.readings(m, m.first, [0] * 3, [1] * 3), sender=op)
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=f + 2,
                 nextIntervalStart=m.first + 2700):
        env.c.transact(env.registry.functions.unbindOperation(m.id, f + 2), op)
    env.c.transact(env.registry.functions.unbindOperation(m.id, f + 3), op)  # where its readings end
    assert env.registry.functions.binding(m.id).call() == (op, f, f + 3)


def test_binding_refusals(env):
    m = env.meter(env.alice)
    op = _allocator(env)
    f = m.first // 900 + 4
    env.c.transact(env.registry.functions.bindOperation(m.id, f), op)
    env.c.transact(env.registry.functions.grantRole(ALLOCATOR_ROLE, env.bob))
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=f + 8, nextIntervalStart=m.first):
        env.c.transact(env.registry.functions.bindOperation(m.id, f + 8), env.bob)  # bound to another
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=f + 2, nextIntervalStart=m.first):
        env.c.transact(env.registry.functions.unbindOperation(m.id, f + 2), env.bob)  # not its binding
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=f - 1, nextIntervalStart=m.first):
        env.c.transact(env.registry.functions.unbindOperation(m.id, f - 1), op)  # ends before it starts
    env.c.transact(env.registry.functions.unbindOperation(m.id, f + 2), op)
    # an ended binding is replaced only once every interval it covered is verified
    with reverts("MeterRegistryInvalidBinding", meterId=m.id, operation=op, fromInterval=f + 8, nextIntervalStart=m.first):
        env.c.transact(env.registry.functions.bindOperation(m.id, f + 8), env.bob)
    env.submit(env.readings(m, m.first, [0] * 4, [1] * 4))
    env.submit(env.readings(m, f * 900, [0, 0], [1, 1], export_register_wh=4), sender=op)
    env.c.transact(env.registry.functions.bindOperation(m.id, f + 8), env.bob)
    assert env.registry.functions.binding(m.id).call() == (env.bob, f + 8, 2**32 - 1)


# --- verified export per UTC day (what guarantees of origin certify) ------------------------------


def _from_22h(env, m, exports_per_interval=10):
    """16 intervals from 22:00 UTC on the day after the meter's first interval to 02:00 the next."""
    day = m.first // DAY + 1
    start = day * DAY + 22 * 3600
    env.submit(env.readings(m, start, [0] * 16, [exports_per_interval] * 16))
    return day


def test_verified_export_is_checkpointed_per_utc_day(env):
    m = env.meter(env.alice)
    day = _from_22h(env, m)
    f = env.registry.functions
    assert f.verifiedExportAt(m.id, day).call() == 0  # the outage up to 22:00
    assert f.verifiedExportAt(m.id, day + 1).call() == 80  # 8 intervals before midnight
    assert f.verifiedExportBetween(m.id, day, day + 1).call() == 80
    assert f.meterState(m.id).call()[3] == 160


def test_verified_export_is_final_when_the_readings_reach_the_day_whatever_comes_next(env):
    """A gateway offline on the 1st of the month: the previous day's total is known as soon as a
    later run (its outage) reaches the day's start, not only if a reading comes on that day."""
    m = env.meter(env.alice)
    day = m.first // DAY + 1
    env.submit(env.readings(m, day * DAY + 23 * 3600, [0] * 2, [5] * 2))  # up to 23:30
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=day + 1, nextIntervalStart=day * DAY + 23 * 3600 + 1800):
        raise_view(env, env.registry.functions.verifiedExportAt(m.id, day + 1))
    # offline three days, then back: the run's outage covers the day starts in between
    env.submit(env.readings(m, (day + 4) * DAY + 3600, [0], [7], export_register_wh=10))
    f = env.registry.functions
    assert f.verifiedExportBetween(m.id, day, day + 1).call() == 10
    assert [f.verifiedExportAt(m.id, d).call() for d in range(day + 1, day + 5)] == [10, 10, 10, 10]


def test_an_outage_alone_makes_the_days_it_reaches_known(env):
    m = env.meter(env.alice)
    day = m.first // DAY + 2
    env.submit(env.readings(m, day * DAY - 1800, [0, 0], [5, 6]))  # an outage from m.first, then up to midnight
    env.outage(m, (day + 3) * DAY + 900)  # offline three days and a quarter of an hour, declared alone
    f = env.registry.functions
    assert [f.verifiedExportAt(m.id, d).call() for d in range(day - 2, day + 4)] == [0, 0, 11, 11, 11, 11]
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=day + 4, nextIntervalStart=(day + 3) * DAY + 900):
        raise_view(env, f.verifiedExportAt(m.id, day + 4))


@st.composite
def _runs(draw):
    """A meter's runs: each an outage of up to 150 intervals, then up to 130 intervals' export."""
    runs = []
    for _ in range(draw(st.integers(1, 4))):
        outage = draw(st.integers(0, 150))
        count = draw(st.integers(0 if outage else 1, 130))
        runs.append((outage, draw(st.lists(st.integers(0, 2500), min_size=count, max_size=count))))
    return runs


@ON_CHAIN
@given(runs=_runs())
def test_verified_export_before_each_day_is_the_export_of_the_intervals_before_it(env, runs):
    with _snapshot(env):
        m = env.meter(env.alice)
        signed, exported = [], {}  # interval start -> export
        cursor, register = m.first, 0
        for outage, exports in runs:
            first = cursor + outage * 900
            run = MeterReadings(m.id, cursor, first, [0] * len(exports), exports, 0, register + sum(exports))
            signed.append(env.sign(m, run))
            exported.update(zip(run.interval_starts(900), exports))
            cursor, register = run.end(900), run.export_register_wh
        env.submit(signed)
        f = env.registry.functions
        for d in range(m.first // DAY, cursor // DAY + 2):
            if d * DAY <= cursor:
                expected = sum(e for start, e in exported.items() if start < d * DAY)
                assert f.verifiedExportAt(m.id, d).call() == expected, d
            else:
                with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=d, nextIntervalStart=cursor):
                    raise_view(env, f.verifiedExportAt(m.id, d))
        assert f.meterState(m.id).call()[3] == sum(exported.values())


def test_verified_export_at_the_end_of_the_readings_is_final(env):
    m = env.meter(env.alice)
    day = m.first // DAY + 1
    env.submit(env.readings(m, day * DAY + 23 * 3600, [0] * 4, [5] * 4))  # up to midnight exactly
    assert env.registry.functions.verifiedExportBetween(m.id, day, day + 1).call() == 20


def test_a_consumer_exports_nothing_on_any_day(env):
    m = env.meter(env.alice, MeterKind.CONSUMER)
    assert env.registry.functions.verifiedExportAt(m.id, m.first // DAY + 100).call() == 0


def test_verified_export_not_yet_known_is_refused(env):
    m = env.meter(env.alice)
    day = _from_22h(env, m)
    next_start = (day + 1) * DAY + 2 * 3600
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=day + 2, nextIntervalStart=next_start):
        raise_view(env, env.registry.functions.verifiedExportAt(m.id, day + 2))
    assert env.registry.functions.verifiedExportAt(m.id, day - 1).call() == 0  # before its first interval
    with reverts("MeterRegistryInvalidPeriod", fromDay=day, toDay=day):
        raise_view(env, env.registry.functions.verifiedExportBetween(m.id, day, day))
    with reverts("MeterRegistryUnknownMeter", meterId=b"\5" * 32):
        raise_view(env, env.registry.functions.verifiedExportAt(b"\5" * 32, day))


def test_commissioning_date_must_fit_48_bits(env):
    env.participant(env.alice)
    with reverts("SafeCastOverflowedUintDowncast", bits=48, value=2**48):
        env.c.transact(env.registry.functions.registerMeter(b"\1" * 32, env.bob, env.alice, 0, 1000, SOLAR, 2**48))


def test_meter_owner_view(env):
    m = env.meter(env.alice)
    owner, registered_at = env.registry.functions.meterOwner(m.id).call()
    assert owner == env.alice and registered_at == env.registry.functions.meter(m.id).call()[7]
    with reverts("MeterRegistryUnknownMeter", meterId=b"\6" * 32):
        raise_view(env, env.registry.functions.meterOwner(b"\6" * 32))
