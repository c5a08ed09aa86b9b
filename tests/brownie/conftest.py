"""Fixtures for the brownie suite; `accounts`, `chain` and the contract containers come from brownie."""

import pytest
from eth_account import Account

from gridshare.reading import MeterReading

INTERVAL = 900
PRODUCER = 0  # IMeterRegistry.MeterKind.Producer
METER_ID = b"meter-1".ljust(32, b"\0")
CAPACITY_W = 10_000  # at most 2500 Wh per 15-minute interval


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the module's deployment (brownie snapshots and reverts the chain)."""


@pytest.fixture(scope="module")
def operator(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def registry(MeterRegistry, operator):
    return MeterRegistry.deploy(INTERVAL, operator, {"from": operator})


@pytest.fixture(scope="module")
def token(EnergyToken, registry, operator):
    token = EnergyToken.deploy(registry, "", {"from": operator})
    registry.setEnergyToken(token, {"from": operator})
    return token


@pytest.fixture(scope="module")
def meter_key():
    return Account.create()


@pytest.fixture(scope="module")
def meter(registry, token, operator, owner, meter_key):
    """A registered producer meter of `owner`, signing with `meter_key`."""
    registry.registerParticipant(owner, {"from": operator})
    registry.registerMeter(METER_ID, meter_key.address, owner, PRODUCER, CAPACITY_W, b"solar", 0, {"from": operator})
    return METER_ID


@pytest.fixture
def last_interval(chain):
    """Start of the latest 15-minute interval that has already ended."""
    return (chain.time() // INTERVAL - 1) * INTERVAL


@pytest.fixture
def sign(chain, registry):
    def sign(key, meter_id, start, import_wh, export_wh, import_reg, export_reg):
        reading = MeterReading(meter_id, start, import_wh, export_wh, import_reg, export_reg)
        return reading.sign(key, chain.id, registry.address).as_call_arg()

    return sign
