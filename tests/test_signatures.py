"""EIP-712 signatures of runs made by eth_account verify on-chain, exactly as the protocol fixes them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak

from gridshare.reading import DOMAIN_NAME, DOMAIN_VERSION, READINGS_TYPE_STRING, MeterReadings

from conftest import reverts


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
