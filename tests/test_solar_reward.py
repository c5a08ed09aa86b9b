"""SolarReward: one token per MWh of a solar meter's verified export, claimed by anyone for its
owner, never twice for the same Wh, the remainder carried; every refusal by its error."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from gridshare.chain import reward
from gridshare.chain.compiler import compile_contracts
from gridshare.cli.context import Context
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReadings

from conftest import SALT, MeterFixture, one_line_error, raise_view, reverts

DAY = 86_400
MWH = 1_000_000
TOKEN = 10**18
WIND = b"wind".ljust(32, b"\0")
CAPACITY_W = 20_000_000  # 5 MWh in a 15-minute interval
_owners = itertools.count()


def new_owner() -> str:
    """An account of its own (an account owns one exporting meter at most); it never sends."""
    return to_checksum_address(keccak(text=f"solar-owner-{next(_owners)}")[:20])


def sr(env):
    return env.c.reward.functions


def solar(env, owner: str | None = None) -> MeterFixture:
    """A solar producer registered now, its readings brought to the next UTC day's start by an outage."""
    m = env.meter(owner or env.alice, capacity_w=CAPACITY_W)
    env.outage(m, (m.first // DAY + 1) * DAY)
    return m


def produce(env, m: MeterFixture, *days_wh: int, whole: bool = True) -> None:
    """One UTC day after another from where ``m``'s readings end (a day's start), exporting each day's
    Wh in its noon interval; ``whole``: the last day's readings reach the next day's start (an
    outage after noon), else they end after noon."""
    state = env.registry.functions.meterState(m.id).call()
    start, imports, exports = state[0], state[1], state[2]
    assert start % DAY == 0
    signed = []
    for k, wh in enumerate(days_wh):
        noon = start + DAY // 2
        exports += wh
        signed.append(env.sign(m, MeterReadings(m.id, start, noon, [0], [wh], imports, exports)))
        if whole or k < len(days_wh) - 1:
            signed.append(env.sign(m, MeterReadings(m.id, noon + 900, start + DAY, [], [], imports, exports)))
        start += DAY
    env.submit(signed)


def claim(env, m: MeterFixture, sender: str | None = None) -> dict:
    receipt = env.c.transact(sr(env).claim(m.id), sender or m.owner)
    [event] = env.c.reward.events.RewardClaimed().process_receipt(receipt, errors=DISCARD)
    return dict(event.args) | {"gasUsed": receipt["gasUsed"]}


def nothing_to_claim(env, m: MeterFixture, rewarded: int, verified: int):
    return reverts("SolarRewardNothingToClaim", meterId=m.id, rewardedWh=rewarded, verifiedWh=verified)


# --- the rule -------------------------------------------------------------------------------------


def test_the_token_is_an_erc20_of_the_community(env):
    assert sr(env).name().call() == "gridshare SolarReward"
    assert sr(env).symbol().call() == "SUN"
    assert sr(env).decimals().call() == 18
    assert sr(env).registry().call() == env.registry.address
    assert sr(env).SOLAR_TECHNOLOGY().call() == b"solar-pv".ljust(32, b"\0")
    assert sr(env).WH_PER_TOKEN().call() == MWH
    assert sr(env).totalSupply().call() == 0


def test_claims_mint_one_token_per_whole_mwh_and_carry_the_remainder(env):
    m = solar(env)
    produce(env, m, 700_000)  # 0.7 MWh verified
    assert sr(env).claimable(m.id).call() == [0, 0, 700_000]
    with nothing_to_claim(env, m, 0, 700_000):
        claim(env, m)
    produce(env, m, 500_000)  # 1.2
    assert sr(env).claimable(m.id).call() == [1, MWH, 1_200_000]
    event = claim(env, m)
    assert (event["meterId"], event["owner"], event["tokens"], event["rewardedWh"]) == (m.id, env.alice, 1, MWH)
    assert sr(env).balanceOf(env.alice).call() == TOKEN
    assert sr(env).rewardedWh(m.id).call() == MWH
    produce(env, m, 1_900_000, 0)  # 3.1: the 0.2 carried and 1.9 make two more
    assert claim(env, m)["tokens"] == 2 and sr(env).rewardedWh(m.id).call() == 3 * MWH
    produce(env, m, 2_000_000)  # 5.1
    assert claim(env, m)["tokens"] == 2
    assert sr(env).balanceOf(env.alice).call() == sr(env).totalSupply().call() == 5 * TOKEN  # floor(5.1)
    assert sr(env).claimable(m.id).call() == [0, 0, 5_100_000]


def test_a_second_claim_with_nothing_new_is_refused(env):
    m = solar(env)
    produce(env, m, 2_400_000)
    assert claim(env, m)["tokens"] == 2
    with nothing_to_claim(env, m, 2 * MWH, 2_400_000):
        claim(env, m)
    with nothing_to_claim(env, m, 2 * MWH, 2_400_000):
        claim(env, m, env.outsider)


def test_the_day_in_progress_counts_once_the_readings_reach_the_next_day(env):
    """What is counted is the verified export before the UTC day the meter's readings reached."""
    m = solar(env)
    produce(env, m, 1_500_000, whole=False)  # verified up to noon + 15 min of its day
    assert env.registry.functions.meterState(m.id).call()[3] == 1_500_000
    with nothing_to_claim(env, m, 0, 0):
        claim(env, m)
    state = env.registry.functions.meterState(m.id).call()
    env.submit([env.sign(m, MeterReadings(m.id, state[0], (state[0] // DAY + 1) * DAY, [], [], state[1], state[2]))])
    assert claim(env, m)["tokens"] == 1


def test_tokens_go_to_the_owner_whoever_claims(env):
    m = solar(env, env.bob)
    produce(env, m, 3_000_000)
    event = claim(env, m, env.outsider)
    assert event["owner"] == env.bob and event["tokens"] == 3
    assert sr(env).balanceOf(env.bob).call() == 3 * TOKEN
    assert sr(env).balanceOf(env.outsider).call() == 0


def test_a_deactivated_meter_keeps_its_verified_production_claimable(env):
    m = solar(env)
    produce(env, m, 1_000_000)
    env.c.transact(env.registry.functions.deactivateMeter(m.id))
    assert claim(env, m)["tokens"] == 1


def test_a_meter_without_readings_has_nothing_to_claim(env):
    m = env.meter(env.alice, capacity_w=CAPACITY_W)
    assert sr(env).claimable(m.id).call() == [0, 0, 0]
    with nothing_to_claim(env, m, 0, 0):
        claim(env, m)


# --- refusals -------------------------------------------------------------------------------------


def test_a_meter_of_another_technology_is_refused(env):
    env.participant(env.carol)
    mid = meter_id(SALT, "wind-turbine-1")
    env.c.transact(env.registry.functions.registerMeter(mid, env.outsider, env.carol, int(MeterKind.PRODUCER),
                                                        CAPACITY_W, WIND, 1_700_000_000))
    with reverts("SolarRewardNotSolar", meterId=mid, technology=WIND):
        env.c.transact(sr(env).claim(mid), env.carol)
    with reverts("SolarRewardNotSolar", meterId=mid, technology=WIND):
        raise_view(env, sr(env).claimable(mid))


def test_an_unknown_meter_is_refused(env):
    mid = meter_id(SALT, "never-registered")
    with reverts("MeterRegistryUnknownMeter", meterId=mid):
        env.c.transact(sr(env).claim(mid))
    with reverts("MeterRegistryUnknownMeter", meterId=mid):
        raise_view(env, sr(env).claimable(mid))


def test_a_consumer_meter_has_nothing_to_claim(env):
    m = env.meter(env.carol, MeterKind.CONSUMER)  # registered as solar-pv, yet it exports nothing
    env.submit(env.readings(m, m.first, [100] * 4, [0] * 4))
    with nothing_to_claim(env, m, 0, 0):
        claim(env, m)


def test_constructor_refusal(env):
    artifact = compile_contracts()["SolarReward"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    zero = "0x" + "00" * 20
    with reverts("SolarRewardInvalidRegistry", registry=zero):
        env.c.transact(factory.constructor(zero))


# --- the property ---------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.tuples(st.integers(0, 2_600_000), st.booleans()), min_size=1, max_size=8))
def test_rewards_equal_floor_of_verified_mwh_with_the_remainder_kept(env, days):
    """Whatever the daily export and whenever someone claims, after every claim the meter's
    rewards are floor(verified Wh / 1,000,000) tokens and the rest is kept for later."""
    owner = new_owner()
    m = solar(env, owner)
    verified = 0
    for wh, claims in days:
        produce(env, m, wh)
        verified += wh
        if not claims:
            continue
        rewarded = sr(env).rewardedWh(m.id).call()
        if verified - rewarded < MWH:
            with nothing_to_claim(env, m, rewarded, verified):
                claim(env, m, env.outsider)
        else:
            claim(env, m, env.outsider)
            assert sr(env).rewardedWh(m.id).call() == verified // MWH * MWH
            assert sr(env).balanceOf(owner).call() == verified // MWH * TOKEN
    assert sr(env).claimable(m.id).call()[0] == verified // MWH - sr(env).rewardedWh(m.id).call() // MWH
    if verified >= MWH + sr(env).rewardedWh(m.id).call():
        claim(env, m, env.outsider)
    assert sr(env).balanceOf(owner).call() == verified // MWH * TOKEN
    assert verified - sr(env).rewardedWh(m.id).call() < MWH


# --- the Python module and the command line -------------------------------------------------------


def test_the_python_module_reads_and_claims(env):
    m = solar(env)
    produce(env, m, 2_300_000)
    now = reward.claimable(env.c, m.id)
    assert (now.tokens, now.wh, now.verified_wh, now.rewarded_wh, now.carried_wh) == (2, 2 * MWH, 2_300_000, 0, 300_000)
    done = reward.claim(env.c, m.id, env.outsider)
    assert (done.owner, done.tokens, done.rewarded_wh) == (env.alice, 2, 2 * MWH)
    assert reward.claimable(env.c, m.id).tokens == 0


def test_the_command_claims_in_one_line_and_refuses_in_one_line(env, gs, monkeypatch):
    @contextlib.contextmanager
    def community(self, read_only=False):
        yield env.c

    monkeypatch.setattr(Context, "community", community)
    m = solar(env)
    produce(env, m, 1_250_000)
    hex_id = "0x" + m.id.hex()
    code, out, err = gs("meter", "reward", hex_id, "--check")
    assert code == 0, err
    assert out.strip() == (f"meter {hex_id[:14]}..: 1 SUN claimable (1,000,000 Wh) of 1,250,000 Wh verified, "
                           "0 Wh rewarded before; 250,000 Wh would carry")
    code, out, err = gs("meter", "reward", hex_id)
    assert code == 0, err
    assert out.strip() == (f"meter {hex_id[:14]}..: 1 SUN minted to {env.alice} (1,000,000 Wh rewarded in all; "
                           "250,000 Wh carried to the next claim)")
    code, _, err = gs("meter", "reward", hex_id)
    assert f"SolarRewardNothingToClaim(meterId={hex_id}, rewardedWh=1000000, verifiedWh=1250000)" in \
        one_line_error(code, err)
    code, _, err = gs("meter", "reward", "0x" + "77" * 32)
    assert "MeterRegistryUnknownMeter" in one_line_error(code, err)
