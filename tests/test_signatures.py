"""EIP-712 signatures made by eth_account verify on-chain, exactly as the protocol fixes them."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from gridshare.reading import MeterReading

from conftest import reverts

PYTHON_FIELDS = [f.name for f in fields(MeterReading)]


@pytest.fixture
def reading_and_meter(env):
    m = env.meter(env.alice, capacity_w=100_000)
    start = env.next_start()
    return MeterReading(m.id, start, 0, 1234, 0, 1234), m


def test_python_digest_equals_the_contracts(env, reading_and_meter):
    reading, _ = reading_and_meter
    on_chain = env.registry.functions.readingDigest(*reading.message().values()).call()
    assert on_chain == reading.digest(env.chain.chain_id, env.registry.address)


def test_eth_account_signature_verifies_on_chain(env, reading_and_meter):
    reading, m = reading_and_meter
    signed = reading.sign(m.key, env.chain.chain_id, env.registry.address)
    assert signed.recover(env.chain.chain_id, env.registry.address) == m.key.address
    env.submit([signed])
    assert env.token.functions.balanceOf(env.alice, reading.interval_start // 900).call() == 1234


def test_signature_for_another_chain_id_is_refused(env, reading_and_meter):
    reading, m = reading_and_meter
    signed = reading.sign(m.key, env.chain.chain_id + 1, env.registry.address)
    recovered = signed.recover(env.chain.chain_id, env.registry.address)
    assert recovered != m.key.address
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([signed])


def test_signature_for_another_contract_is_refused(env, reading_and_meter):
    reading, m = reading_and_meter
    signed = reading.sign(m.key, env.chain.chain_id, env.token.address)
    recovered = signed.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([signed])


@pytest.mark.parametrize("field", PYTHON_FIELDS[2:])
def test_reading_with_one_field_changed_is_refused(env, reading_and_meter, field):
    reading, m = reading_and_meter
    signed = reading.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, reading=replace(reading, **{field: getattr(reading, field) + 1}))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    assert recovered != m.key.address
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([tampered])


def test_reading_moved_to_another_interval_is_refused(env, reading_and_meter):
    reading, m = reading_and_meter
    signed = reading.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, reading=replace(reading, interval_start=reading.interval_start + 900))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=m.id, recovered=recovered, expected=m.key.address):
        env.submit([tampered])


def test_reading_moved_to_another_meter_is_refused(env, reading_and_meter):
    reading, m = reading_and_meter
    other = env.meter(env.bob, capacity_w=100_000)
    signed = reading.sign(m.key, env.chain.chain_id, env.registry.address)
    tampered = replace(signed, reading=replace(reading, meter_id=other.id))
    recovered = tampered.recover(env.chain.chain_id, env.registry.address)
    with reverts("MeterRegistryInvalidSigner", meterId=other.id, recovered=recovered, expected=other.key.address):
        env.submit([tampered])
