"""Community.transact: what a failed transaction says, and the receipts it hands on."""

from __future__ import annotations

import pytest

from gridshare.chain.events import EventLog
from gridshare.errors import GridshareError

from conftest import reverts


def test_a_transaction_out_of_gas_says_so(env):
    call = env.registry.functions.registerParticipant(env.alice)
    with pytest.raises(GridshareError, match=r"ran out of gas at its cap of 30,000 .*send less in one transaction"):
        env.c.transact(call, gas=30_000)
    assert not env.registry.functions.isParticipant(env.alice).call()


def test_an_unchecked_refusal_is_named_by_replaying_it(env):
    env.participant(env.alice)
    with reverts("MeterRegistryParticipantAlreadyRegistered", account=env.alice):
        env.c.transact(env.registry.functions.registerParticipant(env.alice), simulated=True)


def test_receipts_reach_the_event_log(env):
    log = EventLog(env.w3, [env.registry, env.token])
    env.c.on_receipt = log.record
    try:
        env.participant(env.alice)
        env.participant(env.bob)
        env.participant(env.alice)  # already registered: no transaction
    finally:
        env.c.on_receipt = None
    registered = [e.args.account for e in log.events(env.registry, "ParticipantRegistered")]
    assert registered == [env.alice, env.bob]
    # the same events fetched from the chain are not kept twice
    log.fetch(0)
    assert [e.args.account for e in log.events(env.registry, "ParticipantRegistered")][-2:] == [env.alice, env.bob]
    assert len(log.events(env.registry, "ParticipantRegistered")) == len(
        env.registry.events.ParticipantRegistered().get_logs(from_block=0))
