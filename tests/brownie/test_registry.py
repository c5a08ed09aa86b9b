"""MeterRegistry and EnergyToken through brownie: `brownie test tests/brownie`.

brownie 1.22 decodes a custom error from the ABIs it knows into "Name: arg1, arg2" (each argument
as `str()` of its eth_abi value: addresses in lower case, bytes32 as a Python bytes literal), and
`brownie.reverts(msg)` compares that string exactly; `typed_error` builds it.
"""

from brownie import reverts
from hexbytes import HexBytes

from conftest import INTERVAL, PRODUCER
from gridshare.protocol.readings import unpack_energy

UNKNOWN_ID = b"no-such-meter".ljust(32, b"\0")


def typed_error(name, *args):
    return f"{name}: {', '.join(str(a) for a in args)}"


def test_operator_registers_participant_and_meter(registry, operator, accounts, meter_key):
    participant = accounts[4]
    tx = registry.registerParticipant(participant, {"from": operator})
    assert tx.events["ParticipantRegistered"]["account"] == participant
    assert registry.isParticipant(participant)

    meter_id = b"meter-2".ljust(32, b"\0")
    tx = registry.registerMeter(meter_id, meter_key.address, participant, PRODUCER, 4_000, b"solar", 0, {"from": operator})
    info = registry.meter(meter_id)
    assert (info["signer"], info["owner"], info["kind"], info["active"], info["capacityW"]) == (
        meter_key.address, participant, PRODUCER, True, 4_000,
    )
    assert info["registeredAt"] == tx.timestamp


def test_non_operator_cannot_register(registry, accounts):
    outsider = accounts[2]
    role = HexBytes(registry.OPERATOR_ROLE())
    with reverts(typed_error("AccessControlUnauthorizedAccount", outsider.address.lower(), bytes(role))):
        registry.registerParticipant(accounts[3], {"from": outsider})
    assert not registry.isParticipant(accounts[3])


def test_a_signed_run_mints_to_the_meter_owner(registry, token, meter, meter_key, owner, accounts, sign, first_interval):
    relayer = accounts[5]  # anyone may submit a run; the meter's key is what counts
    run = sign(meter_key, meter, first_interval, first_interval, [0, 0], [1_250, 800], 0, 2_050)
    tx = registry.submitReadings([run], {"from": relayer})

    interval_id = first_interval // INTERVAL
    event = tx.events["ReadingsVerified"]
    assert event["meterId"] == "0x" + meter.hex()
    assert (event["previousEnd"], event["firstIntervalStart"]) == (first_interval, first_interval)
    assert unpack_energy(bytes(event["energyWh"])) == [(0, 1_250), (0, 800)]
    assert token.balanceOf(owner, interval_id) == 1_250 and token.balanceOf(owner, interval_id + 1) == 800
    assert token.balanceOf(relayer, interval_id) == 0
    assert registry.meterState(meter)["nextIntervalStart"] == first_interval + 2 * INTERVAL


def test_a_later_run_first_reverts_not_continuous(registry, meter, meter_key, accounts, sign, first_interval):
    later = sign(meter_key, meter, first_interval + INTERVAL, first_interval + INTERVAL, [0], [5], 0, 5)
    with reverts(typed_error("MeterRegistryNotContinuous", meter, first_interval + INTERVAL, first_interval)):
        registry.submitReadings([later], {"from": accounts[5]})


def test_unknown_meter_reverts(registry, token, meter_key, accounts, sign, first_interval):
    run = sign(meter_key, UNKNOWN_ID, first_interval, first_interval, [0], [100], 0, 100)
    with reverts(typed_error("MeterRegistryUnknownMeter", UNKNOWN_ID)):
        registry.submitReadings([run], {"from": accounts[5]})
    with reverts(typed_error("MeterRegistryUnknownMeter", UNKNOWN_ID)):
        registry.meter(UNKNOWN_ID)  # a call reverts the same way
