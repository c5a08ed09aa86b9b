"""MeterRegistry: participants, meters, roles, and every refusal of a reading, by its exact error."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak
from web3.logs import DISCARD

from gridshare.compiler import compile_contracts
from gridshare.meter import MeterKind, meter_id, new_meter_key
from gridshare.reading import MeterReading, SignedReading

from conftest import SALT, SOLAR, raise_view, reverts

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
IMPORT, EXPORT = 0, 1


# --- construction and linking --------------------------------------------------------------------


def test_interval_seconds_must_be_900_or_1800(env):
    artifact = compile_contracts()["MeterRegistry"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with reverts("MeterRegistryInvalidIntervalSeconds", intervalSeconds=600):
        env.c.transact(factory.constructor(600, env.operator))


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
    receipt = env.c.transact(registry_factory.constructor(900, env.operator))
    fresh = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifacts["MeterRegistry"].abi)
    with reverts("MeterRegistryInvalidEnergyToken", energyToken=env.token.address):
        env.c.transact(fresh.functions.setEnergyToken(env.token.address))
    zero = "0x" + "00" * 20
    with reverts("MeterRegistryInvalidEnergyToken", energyToken=zero):
        env.c.transact(fresh.functions.setEnergyToken(zero))


def test_readings_need_the_energy_token(env):
    artifact = compile_contracts()["MeterRegistry"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(900, env.operator))
    fresh = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    m = env.meter(env.alice)
    signed = env.readings(m, env.next_start(), [0], [1])
    with reverts("MeterRegistryEnergyTokenNotSet"):
        env.c.transact(fresh.functions.submitReadings([s.as_call_arg() for s in signed]))


def test_eip712_domain_is_the_protocols(env):
    fields, name, version, chain_id, contract, salt, extensions = env.registry.functions.eip712Domain().call()
    assert (name, version, chain_id, contract) == ("gridshare", "1", env.chain.chain_id, env.registry.address)
    assert fields == b"\x0f" and salt == bytes(32) and extensions == []


def test_reading_typehash_is_the_protocols(env):
    expected = keccak(
        text="MeterReading(bytes32 meterId,uint64 intervalStart,uint64 importWh,uint64 exportWh,"
        "uint64 importRegisterWh,uint64 exportRegisterWh)"
    )
    assert env.registry.functions.READING_TYPEHASH().call() == expected


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
    assert env.registry.functions.meterState(m.id).call() == (0, 0, 0, 0)


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


# --- readings: accepted ---------------------------------------------------------------------------


def test_any_account_relays_readings_and_state_advances(env):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = env.next_start()
    receipt = env.submit(env.readings(m, start, [3, 0, 7], [100, 250, 0], import_register_wh=1000, export_register_wh=50))
    assert env.registry.functions.meterState(m.id).call() == (start + 3 * 900, 1010, 400, 350)
    events = env.registry.events.ReadingVerified().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.intervalStart, e.args.importWh, e.args.exportWh) for e in events] == [
        (start, 3, 100), (start + 900, 0, 250), (start + 1800, 7, 0)]
    assert all(e.args.meterId == m.id for e in events)


def test_a_gap_between_readings_is_allowed_when_registers_cover_it(env):
    m = env.meter(env.alice)
    start = env.next_start()
    env.submit(env.readings(m, start, [0], [100]))
    later = MeterReading(m.id, start + 5 * 900, 0, 40, 0, 100 + 500)  # 460 Wh unreported in between
    env.submit([env.sign(m, later)])
    assert env.registry.functions.meterState(m.id).call() == (start + 6 * 900, 0, 600, 140)


def test_readings_of_several_meters_interleave_in_one_batch(env):
    a, b = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    start = env.next_start()
    ra, rb = env.readings(a, start, [0, 0], [10, 20]), env.readings(b, start, [5, 6], [0, 0])
    env.submit([ra[0], rb[0], ra[1], rb[1]])
    assert env.registry.functions.meterState(a.id).call() == (start + 1800, 0, 30, 30)
    assert env.registry.functions.meterState(b.id).call() == (start + 1800, 11, 0, 0)


def test_energy_at_exactly_capacity_is_accepted(env):
    m = env.meter(env.alice, capacity_w=4000)  # 1000 Wh per 15 minutes
    env.submit(env.readings(m, env.next_start(), [1000], [1000]))


def test_interval_that_just_ended_is_accepted(env):
    m = env.meter(env.alice)
    env.w3.testing.mine()
    start = env.now() // 900 * 900 - 900  # ended at most 900 s ago
    env.submit(env.readings(m, start, [0], [1]))


# --- readings: refused ----------------------------------------------------------------------------


def test_empty_batch_is_refused(env):
    with reverts("MeterRegistryEmptyBatch"):
        env.submit([])


def test_unknown_meter_is_refused(env):
    m = env.meter(env.alice)
    ghost = replace(m, id=b"\x42" * 32)
    with reverts("MeterRegistryUnknownMeter", meterId=b"\x42" * 32):
        env.submit(env.readings(ghost, env.next_start(), [0], [1]))


def test_deactivated_meter_is_refused(env):
    m = env.meter(env.alice)
    env.c.transact(env.registry.functions.deactivateMeter(m.id))
    with reverts("MeterRegistryMeterDeactivated", meterId=m.id):
        env.submit(env.readings(m, env.next_start(), [0], [1]))


def test_wrong_signer_is_refused(env):
    m, other = env.meter(env.alice), env.meter(env.bob)
    reading = MeterReading(m.id, env.next_start(), 0, 1, 0, 1)
    forged = reading.sign(other.key, env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=other.key.address, expected=m.key.address):
        env.submit([forged])


def test_malformed_signature_recovers_nobody(env):
    m = env.meter(env.alice)
    signed = env.readings(m, env.next_start(), [0], [1])[0]
    broken = SignedReading(signed.reading, signed.signature[:64] + bytes([29]))  # v must be 27 or 28
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered="0x" + "00" * 20, expected=m.key.address):
        env.submit([broken])


def test_unaligned_interval_is_refused(env):
    m = env.meter(env.alice)
    start = env.next_start() + 60
    with reverts("MeterRegistryIntervalNotAligned", intervalStart=start, intervalSeconds=900):
        env.submit(env.readings(m, start, [0], [1]))


def test_interval_not_yet_ended_is_refused(env):
    m = env.meter(env.alice)
    current = env.now() // 900 * 900
    signed = env.readings(m, current, [0], [1])
    # the check is against the timestamp of the block that executes the transaction
    env.w3.testing.timeTravel(current + 899)
    with reverts("MeterRegistryIntervalNotEnded", intervalStart=current, intervalEnd=current + 900, now=current + 899):
        env.submit(signed)


def test_interval_not_after_the_last_one_is_refused(env):
    m = env.meter(env.alice)
    start = env.next_start()
    env.submit(env.readings(m, start, [0, 0], [1, 1]))
    replay = env.readings(m, start + 900, [0], [1], export_register_wh=2)
    with reverts("MeterRegistryIntervalNotAfterLast", meterId=m.id, intervalStart=start + 900, lastIntervalStart=start + 900):
        env.submit(replay)
    earlier = env.readings(m, start, [0], [0], export_register_wh=2)
    with reverts("MeterRegistryIntervalNotAfterLast", meterId=m.id, intervalStart=start, lastIntervalStart=start + 900):
        env.submit(earlier)


def test_same_interval_twice_in_one_batch_is_refused(env):
    m = env.meter(env.alice)
    start = env.next_start()
    first = env.readings(m, start, [0], [1])[0]
    with reverts("MeterRegistryIntervalNotAfterLast", meterId=m.id, intervalStart=start, lastIntervalStart=start):
        env.submit([first, first])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_decreasing_register_is_refused(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = env.next_start()
    env.submit(env.readings(m, start, [0], [0], import_register_wh=500, export_register_wh=500))
    registers = [500, 500]
    registers[flow] = 499
    bad = MeterReading(m.id, start + 900, 0, 0, *registers)
    with reverts("MeterRegistryRegisterDecreased", meterId=m.id, flow=flow, previousWh=500, registerWh=499):
        env.submit([env.sign(m, bad)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_contiguous_register_step_must_equal_the_energy(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = env.next_start()
    env.submit(env.readings(m, start, [0], [0]))
    energies, registers = [10, 10], [10, 10]
    registers[flow] = 11  # step 11 for 10 Wh in a directly following interval
    bad = MeterReading(m.id, start + 900, *energies, *registers)
    with reverts("MeterRegistryRegisterStepMismatch", meterId=m.id, flow=flow, stepWh=11, energyWh=10):
        env.submit([env.sign(m, bad)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_register_step_smaller_than_the_energy_is_refused_after_a_gap(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = env.next_start()
    env.submit(env.readings(m, start, [0], [0]))
    energies, registers = [10, 10], [10, 10]
    registers[flow] = 9
    bad = MeterReading(m.id, start + 3 * 900, *energies, *registers)
    with reverts("MeterRegistryRegisterStepMismatch", meterId=m.id, flow=flow, stepWh=9, energyWh=10):
        env.submit([env.sign(m, bad)])


@pytest.mark.parametrize("flow", [IMPORT, EXPORT])
def test_energy_beyond_capacity_is_refused(env, flow):
    m = env.meter(env.alice, MeterKind.PROSUMER, capacity_w=4001)  # 1000.25 Wh per 15 minutes
    energies = [0, 0]
    energies[flow] = 1001
    bad = MeterReading(m.id, env.next_start(), *energies, *energies)
    with reverts("MeterRegistryEnergyExceedsCapacity", meterId=m.id, flow=flow, energyWh=1001, maxWh=1000):
        env.submit([env.sign(m, bad)])


def test_consumer_meter_cannot_export(env):
    m = env.meter(env.alice, MeterKind.CONSUMER)
    with reverts("MeterRegistryExportFromConsumer", meterId=m.id, exportWh=5):
        env.submit(env.readings(m, env.next_start(), [1], [5]))


def test_one_bad_reading_reverts_the_whole_batch(env):
    a, b = env.meter(env.alice), env.meter(env.bob)
    start = env.next_start()
    good = env.readings(a, start, [0, 0], [10, 20])
    bad = env.readings(b, start + 60, [0], [1])
    with reverts("MeterRegistryIntervalNotAligned", intervalStart=start + 60, intervalSeconds=900):
        env.submit([good[0], bad[0], good[1]])
    assert env.registry.functions.meterState(a.id).call() == (0, 0, 0, 0)
    assert env.token.functions.balanceOf(env.alice, start // 900).call() == 0
    env.submit(good)  # the good ones go through on their own
    assert env.token.functions.balanceOf(env.alice, start // 900).call() == 10


# --- verified export per UTC day (what guarantees of origin certify) ------------------------------

DAY = 86_400


def _two_days(env, m, exports_per_interval=10):
    """Readings from 22:00 UTC on day d to 02:00 on day d+1 (16 intervals), 10 Wh each."""
    day = env.now() // DAY - 3
    start = day * DAY + 22 * 3600
    env.submit(env.readings(m, start, [0] * 16, [exports_per_interval] * 16))
    return day


def test_verified_export_is_checkpointed_per_utc_day(env):
    m = env.meter(env.alice)
    day = _two_days(env, m)
    f = env.registry.functions
    assert f.verifiedExportAt(m.id, day).call() == 0  # the meter's first reading is at 22:00
    assert f.verifiedExportAt(m.id, day + 1).call() == 80  # 8 intervals before midnight
    assert f.verifiedExportBetween(m.id, day, day + 1).call() == 80
    assert f.meterState(m.id).call()[3] == 160


def test_verified_export_at_the_end_of_the_readings_is_final(env):
    m = env.meter(env.alice)
    day = env.now() // DAY - 3
    env.submit(env.readings(m, day * DAY + 23 * 3600, [0] * 4, [5] * 4))  # up to midnight exactly
    assert env.registry.functions.verifiedExportBetween(m.id, day, day + 1).call() == 20


def test_verified_export_not_yet_known_is_refused(env):
    m = env.meter(env.alice)
    day = _two_days(env, m)
    next_start = (day + 1) * DAY + 2 * 3600
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=day + 2, nextIntervalStart=next_start):
        raise_view(env, env.registry.functions.verifiedExportAt(m.id, day + 2))
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=day - 1, nextIntervalStart=next_start):
        raise_view(env, env.registry.functions.verifiedExportBetween(m.id, day - 1, day))
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
