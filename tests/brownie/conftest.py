"""Fixtures for the brownie suite; `accounts`, `chain` and the contract containers come from brownie."""

import brownie
import pytest
from eth_account import Account

from gridshare.protocol.readings import MeterReadings

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
    return MeterRegistry.deploy(INTERVAL, operator, 0, {"from": operator})


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
def first_interval(registry, meter):
    """The meter's first interval (where its verified readings start), ended: the chain's clock is
    moved past it and the next two."""
    first = registry.meterState(meter)["nextIntervalStart"]
    brownie.chain.sleep(first + 3 * INTERVAL - brownie.chain.time())
    brownie.chain.mine()
    return first


@pytest.fixture
def sign(chain, registry):
    """A run of readings signed by `key` (EIP-712 `MeterReadings`, version 2), as a call argument."""
    def sign(key, meter_id, previous_end, first, imports, exports, import_reg, export_reg):
        run = MeterReadings(meter_id, previous_end, first, imports, exports, import_reg, export_reg)
        return run.sign(key, chain.id, registry.address).as_call_arg()

    return sign
