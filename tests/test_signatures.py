"""EIP-712 signatures of runs made by eth_account verify on-chain, exactly as the protocol fixes them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gridshare.protocol.meters import new_meter_key
from gridshare.protocol.readings import DOMAIN_NAME, DOMAIN_VERSION, READINGS_TYPE_STRING, MeterReadings, SignedReadings

from conftest import reverts

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
uint32 = st.integers(0, 2**32 - 1)
uint64 = st.integers(0, 2**64 - 1)


@pytest.fixture
def run_and_meter(env):
    m = env.meter(env.alice, capacity_w=100_000)
    return MeterReadings(m.id, m.first, m.first, (0, 7), (1234, 50), 7, 1284), m


def test_domain_and_type_are_the_protocols(env):
    fields, name, version, chain_id, contract, salt, extensions = env.registry.functions.eip712Domain().call()
    assert (name, version, chain_id, contract) == (DOMAIN_NAME, DOMAIN_VERSION, env.chain.chain_id, env.registry.address)
    assert (name, version) == ("gridshare", "2")
    assert fields == b"\x0f" and salt == bytes(32) and extensions == []
    assert READINGS_TYPE_STRING == ("MeterReadings(bytes32 meterId,uint64 previousEnd,uint64 firstIntervalStart,"
                                    "uint32[] importWh,uint32[] exportWh,uint64 importRegisterWh,uint64 exportRegisterWh)")
    assert env.registry.functions.READINGS_TYPEHASH().call() == keccak(text=READINGS_TYPE_STRING)


def test_python_digest_equals_the_contracts(env, run_and_meter):
    run, m = run_and_meter
    signed = env.sign(m, run)
    on_chain = env.registry.functions.readingsDigest(signed.as_call_arg()).call()
    assert on_chain == run.digest(env.chain.chain_id, env.registry.address)


@st.composite
def _any_run(draw):
    """Any run the protocol can express: an outage or not, 0 to 12 intervals, any uint32 and uint64."""
    n = draw(st.integers(0, 12))
    previous_end = draw(uint64)
    first = draw(st.integers(previous_end, 2**64 - 1))
    assume(n or first > previous_end)
    return MeterReadings(draw(st.binary(min_size=32, max_size=32)), previous_end, first,
                         draw(st.lists(uint32, min_size=n, max_size=n)), draw(st.lists(uint32, min_size=n, max_size=n)),
                         draw(uint64), draw(uint64))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=_any_run(), signature=st.binary(min_size=65, max_size=65))
def test_the_digest_of_any_run_is_the_same_in_python_and_on_chain(env, run, signature):
    """readingsDigest ignores the signature fields; the Python signature recovers to its signer."""
    key = new_meter_key()
    digest = run.digest(env.chain.chain_id, env.registry.address)
    assert env.registry.functions.readingsDigest(SignedReadings(run, signature).as_call_arg()).call() == digest
    signed = run.sign(key, env.chain.chain_id, env.registry.address)
    assert signed.recover(env.chain.chain_id, env.registry.address) == key.address
    assert env.registry.functions.readingsDigest(signed.as_call_arg()).call() == digest


def test_eth_account_signature_verifies_on_chain(env, run_and_meter):
    run, m = run_and_meter
    signed = run.sign(m.key, env.chain.chain_id, env.registry.address)
    assert signed.recover(env.chain.chain_id, env.registry.address) == m.key.address
    env.submit([signed])
    assert env.token.functions.balanceOfBatch([env.alice] * 2, [m.first // 900, m.first // 900 + 1]).call() == [1234, 50]


def test_signature_for_another_chain_id_is_refused(env, run_and_meter):
    run, m = run_and_meter
    signed = run.sign(m.key, env.chain.chain_id + 1, env.registry.address)
    recovered = signed.recover(env.chain.chain_id, env.registry.address)
    assert recovered != m.key.address
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([signed])


def test_signature_for_another_contract_is_refused(env, run_and_meter):
    run, m = run_and_meter
    signed = run.sign(m.key, env.chain.chain_id, env.token.address)
    recovered = signed.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([signed])


@pytest.mark.parametrize("change", [
    {"import_wh": (1, 7)},
    {"export_wh": (1234, 51)},
    {"export_wh": (50, 1234)},  # the same energies, another order
    {"import_register_wh": 8},
    {"export_register_wh": 1285},
])
def test_a_run_with_one_field_changed_is_refused(env, run_and_meter, change):
    run, m = run_and_meter
    signed = run.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, run=replace(run, **change))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    assert recovered != m.key.address
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([tampered])


def test_a_run_moved_later_is_refused(env, run_and_meter):
    """Moving the data later (declaring an outage the meter did not sign) breaks the signature."""
    run, m = run_and_meter
    signed = run.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, run=replace(run, first_interval_start=run.first_interval_start + 900))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([tampered])


def test_a_run_moved_to_another_meter_is_refused(env, run_and_meter):
    run, m = run_and_meter
    other = env.meter(env.bob, capacity_w=100_000)
    signed = run.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, run=replace(run, meter_id=other.id, previous_end=other.first,
                                           first_interval_start=other.first))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=other.id, recovered=recovered, expected=other.key.address):
        env.submit([tampered])


def test_the_malleable_twin_of_a_signature_recovers_nobody(env, run_and_meter):
    """(r, n - s) with v flipped is the same signature to secp256k1: the registry takes the low-s
    form only, so a run has one valid signature."""
    run, m = run_and_meter
    signed = env.sign(m, run)
    r, s, v = signed.signature[:32], int.from_bytes(signed.signature[32:64], "big"), signed.signature[64]
    twin = SignedReadings(run, r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v]))
    assert twin.recover(env.chain.chain_id, env.registry.address) == m.key.address  # valid to plain secp256k1
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered="0x" + "00" * 20, expected=m.key.address):
        env.submit([twin])
    env.submit([signed])
