"""`gridshare simulate`: a whole community, end to end on a chain, checked against the pure engines.

:func:`simulate` takes a :class:`~gridshare.simulate.scenario.Scenario` and a chain and runs, for every
participant of :func:`~gridshare.simulate.community.build_profiles` (the shared plant, the
households, their rooftops):

1. **setup**: deploys the community (the scenario's allocation key, market design and prices);
   gives every participant an account (a deterministic key unlocked on the devnet: ``add_account``
   on the embedded chain, impersonation on anvil) and every meter its own signing key; registers
   participants and meters (capacity 9,000 W for a household, or its rooftop's peak if larger;
   ``kWp * 1000`` for the plant); makes every meter a member of the self-consumption operation.
2. **day after day** (simulated time: the chain's clock is moved to the end of each day): every
   meter signs its readings of the day (EIP-712, its own key); ``SelfConsumption`` verifies them
   and shares each interval in the same transactions (:func:`gridshare.chain.operation.allocate`); the
   day's quantities are read back from the chain's events (``ReadingsVerified``,
   ``SettledLocally``) and **checked** against the pure allocation engine
   (:mod:`gridshare.domain.allocation`) on the same readings, and ``SelfConsumption.quantities`` too for
   one interval a day.
3. **solidarity** (if ``solidarity.share`` > 0), after each day's sharing: the operator flags the
   energy-poor households, every producer pledges that share of its surplus, and each day the
   pledges are distributed (``Solidarity.distribute``, a transaction per producer and day); the
   gifts are **checked** against :func:`gridshare.domain.solidarity.interval_gifts` on the engine's
   allocation, and the market then trades what is left.
3. **market** (if ``market.enabled``), after each day's sharing: what sharing left is traded peer
   to peer: every producer's remaining tokens (``export - given locally``) as energy-backed asks,
   every household's remaining need (``import - received locally``) as bids, from the seeded
   zero-intelligence agents (:func:`gridshare.simulate.agents.orders_for_interval`). Every order is one
   transaction, so only a sample of intervals is traded: ``market_intervals`` per day (default 4),
   evenly spread among the intervals where both a surplus and a need are left (0: all of them).
   The gate closes ``days + 2`` days after each interval (so trading after verification works);
   at the end the clock moves past every gate, intervals are closed (auction cleared, orders left
   open expired), everyone claims its money and tokens, and buyers **redeem** the crypto-kWh they
   bought against their verified import (``EnergyToken.redeemBatch``). Trades are **checked**
   against the pure matching engine (:mod:`gridshare.domain.matching`): a
   :class:`~gridshare.domain.matching.ContinuousBook` fed the same orders in the same order, or
   :func:`~gridshare.domain.matching.clear_uniform`. With ``design = "batch"`` the agents sign the same
   orders off-chain with their own keys and each interval's batch is settled in one transaction
   (``BatchAuction.settleBatch``) once the day is over (its gate closes at the interval's end), on
   every interval where a trade is possible; buyers' claims are recorded by the batch itself,
   producers withdraw their proceeds at the end, and every batch is **checked** against
   :func:`~gridshare.domain.batch.batch_clearing` on the same signed orders.
4. **guarantees of origin**: every producer (plant and rooftops) is certified for the whole UTC
   days its readings cover (the plant's meter adds its closing reading at the next UTC midnight
   when the period does not end on one, so that its last day can be certified); the issuing body
   approves them; the plant's owner then claims its certificates for the households, pro rata of
   the local energy each received; the plant's SolarReward (1 SUN per MWh of verified export) is
   claimed for its owner.
5. **reports** in ``out_dir`` (:mod:`gridshare.simulate.report`): CSV files, PNG plots and a
   one-page ``report.html``.

**Events.** Every transaction's receipt goes to an :class:`~gridshare.chain.events.EventLog`, and the
checks and reports read the chain's events from there: the embedded chain answers
``eth_getLogs`` by rebuilding every receipt of the range in Python (a week of sharing: minutes).

**Time.** A chain's clock only moves forward: when the chain is already past the scenario's
period (a past June on a chain started today), the period is shifted on-chain by a whole number
of weeks (same weekdays, same UTC time of day); reports always show the scenario's dates, and
``offset_seconds`` says the shift.

**Resuming.** ``out_dir/simulation-state.json`` keeps the deployment, the community salt (meter
and account keys derive from it) and the time shift. Run it again on the same chain (anvil keeps
its state between commands) after a crash, with the same scenario, seed and market intervals
(anything else starts over with a new deployment), and the simulation continues from what the chain
holds (its past events are read once): registered meters are not registered again, intervals
already shared are neither signed nor sent again (the operation's ``lastAllocated``; after a crash
in the middle of a day, the meters sign the rest of it from their ``nextIntervalStart``), orders
already placed are not placed again (the agents draw the same orders: the first ones found on
the chain are skipped), batches already settled are not sent again (``batchSettled``), market
claims and redemptions pay what is left, certificates already requested are not requested again,
and claims for a household already made are not made again.
The reports are then those of an uninterrupted run, except ``gas.csv`` and ``timings.csv``,
which count what this run did.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Protocol
from zoneinfo import ZoneInfo

from eth_account import Account
from eth_utils import keccak
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import BlockIdentifier, RPCEndpoint, Wei

from gridshare.chain import batch as chain_batch
from gridshare.chain import certificates, ledger
from gridshare.chain import market as chain_market
from gridshare.chain import reward as chain_reward
from gridshare.chain import solidarity as chain_solidarity
from gridshare.chain import treasury as chain_treasury
from gridshare.chain.deployment import DEFAULT_MIN_ORDER_WH, Community, ContractReverted, deploy, from_manifest
from gridshare.chain.events import EventLog
from gridshare.chain.network import Chain
from gridshare.chain.operation import MAX_MEMBERS, allocate, join
from gridshare.chain.quantities import quantities_of
from gridshare.domain.allocation import (
    Allocation,
    AllocationKey,
    ConsumersOnly,
    DynamicDefaultKey,
    StaticKey,
    allocate_or_default,
    settle_pooled,
)
from gridshare.domain.batch import batch_clearing, orders_that_matter
from gridshare.domain.matching import ContinuousBook, Fill, MarketRules, Order, clear_uniform
from gridshare.domain.matching import Side as EngineSide
from gridshare.domain.quantities import Quantities
from gridshare.domain.solidarity import interval_gifts
from gridshare.domain.votes import PROPOSAL_STATES, SUPPORT
from gridshare.errors import GridshareError
from gridshare.protocol.gas import run_intervals_for
from gridshare.protocol.guarantees import Declaration, Status, beneficiary_id, month_periods
from gridshare.protocol.market import Backing, Side
from gridshare.protocol.meters import MeterKind, meter_id, new_community_salt
from gridshare.protocol.orders import Order as SignedOrderTerms
from gridshare.protocol.orders import SignedOrder, unpack_fills
from gridshare.protocol.readings import MeterReadings, series_to_readings, to_runs
from gridshare.protocol.units import DAY, TOKEN_DECIMALS, ZERO_ADDRESS, euros, interval_id
from gridshare.simulate.agents import orders_for_interval
from gridshare.simulate.community import CommunityProfiles, build_profiles
from gridshare.simulate.report import interval_rows, local_time, participant_rows, write_reports
from gridshare.simulate.result import SimParticipant, SimulationResult
from gridshare.simulate.scenario import Scenario

__all__ = ["SimulationResult", "simulate", "DEFAULT_MARKET_INTERVALS", "STATE_FILE"]

STATE_FILE = "simulation-state.json"
DEFAULT_MARKET_INTERVALS = 4  # traded intervals per day
WEEK = 7 * DAY
HOUSEHOLD_CAPACITY_W = 9_000  # a 9 kVA connection
FUNDS_WEI = Wei(100 * 10**18)
RPC_FUNDS_WEI = Wei(10**18)  # what the sender gives each participant on a node reached by URL
TEST_EUROS = 1_000 * 10**TOKEN_DECIMALS  # each household's test euros for bids (the faucet gives up to 10,000)
ORDER_GAS = 5_000_000  # cap of an order's transaction (a taker filling ~50 orders uses ~1.5M)
SOLAR = b"solar-pv".ljust(32, b"\0")
GRID = b"grid-connection".ljust(32, b"\0")
COUNTRY = "FR"
VOTE_DECIMALS = 6  # CommunityVotes: one vote is 1,000,000 units (one per Wh of export)
SOLIDARITY_PAGE = 48  # intervals per distribution transaction (a pledge: ~60k gas an interval with gifts)
VIEW_SAMPLE = 5  # participants whose SelfConsumption.quantities are checked each day


# --------------------------------------------------------------------------------------------------
# participants and results
# --------------------------------------------------------------------------------------------------


class _Progress(Protocol):
    """What a simulation needs of a rich ``Progress``."""

    def add_task(self, description: str, *, total: float | None = ...) -> Any: ...

    def advance(self, task_id: Any, advance: float = ...) -> None: ...


class _NoProgress:
    """Stands in for a rich Progress when none is given."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args, **kwargs) -> None:
        pass


class _Meter:
    """Wall time per phase, and gas and transactions per on-chain operation (from the blocks mined)."""

    def __init__(self, chain: Chain):
        self.w3 = chain.w3
        self.times: dict[str, float] = defaultdict(float)
        self.gas: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # operation -> [transactions, gas]

    @contextmanager
    def phase(self, timing: str, operation: str | None = None) -> Iterator[None]:
        first = self.w3.eth.block_number + 1 if operation else 0
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[timing] += time.perf_counter() - t0
            if operation:
                for n in range(first, self.w3.eth.block_number + 1):
                    block = self.w3.eth.get_block(n)
                    self.gas[operation][0] += len(block["transactions"])
                    self.gas[operation][1] += block["gasUsed"]


# --------------------------------------------------------------------------------------------------
# the chain: clock, accounts, resumable deployment
# --------------------------------------------------------------------------------------------------


def _now(chain: Chain) -> int:
    block: BlockIdentifier = "pending" if chain.network == "embedded" else "latest"
    return chain.w3.eth.get_block(block)["timestamp"]


def _travel(chain: Chain, timestamp: int) -> None:
    """The chain's next blocks are at ``timestamp`` or later (never backwards)."""
    if _now(chain) < timestamp:
        chain.travel(timestamp)


def _check_clock(chain: Chain) -> None:
    """A simulation moves the chain's clock: on a node reached by URL, make sure it can."""
    if chain.network != "rpc":
        return
    response = chain.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [_now(chain) + 1])
    if "error" in response:
        raise GridshareError(f"simulate moves the chain's clock day by day, and this node refused to "
                             f"(evm_setNextBlockTimestamp: {response['error'].get('message', response['error'])}): "
                             "run it on a development node (anvil, hardhat) or use --network anvil")


def _unlock(chain: Chain, keys: list) -> None:
    """Make these accounts send and give them ether: unlocked on a devnet (no signing middleware),
    signed here on a node reached by URL (their keys derive from the community salt), funded by
    the sender."""
    w3 = chain.w3
    if chain.network == "rpc":
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(keys), name="participants", layer=0)
        for key in keys:
            if w3.eth.get_balance(key.address) < RPC_FUNDS_WEI // 2:
                tx = w3.eth.send_transaction({"from": chain.sender, "to": key.address, "value": RPC_FUNDS_WEI})
                w3.eth.wait_for_transaction_receipt(tx)
    elif chain.network == "embedded":
        tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]  # the embedded chain's provider
        known = set(w3.eth.accounts)
        for key in keys:
            if key.address not in known:
                tester.add_account("0x" + key.key.hex().removeprefix("0x"))
            if w3.eth.get_balance(key.address) < FUNDS_WEI // 2:
                tx = w3.eth.send_transaction({"from": chain.sender, "to": key.address, "value": FUNDS_WEI})
                w3.eth.wait_for_transaction_receipt(tx)
    else:
        for key in keys:
            w3.provider.make_request(RPCEndpoint("anvil_impersonateAccount"), [key.address])
            w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [key.address, hex(FUNDS_WEI)])


def _run_digest(scenario: Scenario, seed: int, market_intervals: int) -> str:
    """What a run depends on: resuming with anything else would place other orders."""
    return hashlib.sha256(repr((scenario, seed, market_intervals)).encode()).hexdigest()[:16]


def _resume(chain: Chain, state_path: Path, digest: str) -> tuple[Community, dict] | None:
    """The community of an earlier run of the same scenario and settings on this chain, if it is
    still there (otherwise the run starts over)."""
    if not state_path.exists():
        return None
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return None
    if state.get("chainId") != chain.chain_id or state.get("run") != digest:
        return None
    registry = state["manifest"]["contracts"]["MeterRegistry"]["address"]
    if not chain.w3.eth.get_code(registry):
        return None  # a fresh chain (the embedded one, a reset devnet)
    return from_manifest(chain, state["manifest"]), state


def _offset(chain: Chain, first_start: int) -> int:
    """Whole weeks to shift the period by so that it starts at least a day after the chain's clock
    (participants and meters are registered before their first UTC day: certificates need it)."""
    first_day = first_start // DAY * DAY
    lag = _now(chain) + DAY - first_day
    return 0 if lag <= 0 else -(-lag // WEEK) * WEEK


# --------------------------------------------------------------------------------------------------
# the allocation engine, as the operation runs it
# --------------------------------------------------------------------------------------------------


def _deployment_key(scenario: Scenario) -> str:
    """The operation's key mode: with the market instead of sharing, a supplied key (of zeros)."""
    if scenario.market.role == "instead-of-sharing":
        return "supplied"
    return scenario.allocation.deployment_key


def _engine_key(scenario: Scenario, people: list[SimParticipant]) -> AllocationKey:
    """The key the operation applies, naming members by meter id in hex (as operation.allocate does).
    With the market instead of sharing: a static key giving every consumer 0 (nothing is shared)."""
    households = [p.hex for p in people if p.role != "producer"]
    if scenario.market.role == "instead-of-sharing":
        return ConsumersOnly(StaticKey(dict.fromkeys(households, 0)), frozenset(households))
    if scenario.allocation.deployment_key == "dynamic-default":
        return DynamicDefaultKey()  # the contract's formula, producers giving pro rata
    poor = [p.hex for p in people if p.energy_poor]
    return ConsumersOnly(scenario.allocation.build(households, poor), frozenset(households))


def _share_with_engine(key: AllocationKey, people: list[SimParticipant], i: int) -> Allocation:
    """Interval ``i`` shared by the engine and settled as the operation settles it (members in order)."""
    production = {p.hex: p.profile.export_wh[i] for p in people}
    consumption = {p.hex: p.profile.import_wh[i] for p in people}
    allocation, _why = allocate_or_default(key, production, consumption)  # as operation.allocate sends it
    return settle_pooled(production, consumption, allocation.shares)


# --------------------------------------------------------------------------------------------------
# the simulation
# --------------------------------------------------------------------------------------------------


def _days(profiles: CommunityProfiles) -> list[list[int]]:
    """Interval indexes per local day of the scenario."""
    zone = ZoneInfo(profiles.scenario.location.timezone)
    days: dict[object, list[int]] = {}
    for i, s in enumerate(profiles.starts):
        days.setdefault(datetime.fromtimestamp(s, zone).date(), []).append(i)
    return list(days.values())


def _sample(candidates: list[int], count: int) -> list[int]:
    if count <= 0 or len(candidates) <= count:
        return candidates
    return [candidates[(2 * k + 1) * len(candidates) // (2 * count)] for k in range(count)]


@dataclass
class _Run:
    """What the steps of one simulation share."""

    scenario: Scenario
    chain: Chain
    community: Community
    events: EventLog
    people: list[SimParticipant]
    starts: list[int]  # the scenario's interval starts (scenario time)
    seconds: int
    offset: int  # on-chain time = scenario time + offset
    progress: _Progress
    meter: _Meter
    resumed: Counter = field(default_factory=Counter)
    checks: Counter = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    #: the agents' signed orders per on-chain interval id (the batch design)
    batches: dict[int, list[SignedOrder]] = field(default_factory=dict)

    def interval_id(self, i: int) -> int:
        return interval_id(self.starts[i] + self.offset, self.seconds)

    def local(self, i: int) -> str:
        return local_time(self.starts[i], self.scenario.location.timezone)

    @property
    def index(self) -> dict[int, int]:
        """On-chain interval id -> index of the scenario's interval."""
        return {self.interval_id(i): i for i in range(len(self.starts))}


def simulate(
    scenario: Scenario,
    chain: Chain,
    out_dir: str | Path,
    progress=None,
    *,
    seed: int | None = None,
    market_intervals: int = DEFAULT_MARKET_INTERVALS,
    plots: bool = True,
) -> SimulationResult:
    """Run ``scenario`` on ``chain`` end to end and write its reports to ``out_dir`` (see the
    module docstring). ``progress``: a rich ``Progress`` to show the steps in (None: silent).
    ``seed``: the market agents' seed (default: the scenario's). ``market_intervals``: intervals
    traded per day (0: every interval where a trade is possible). Raises
    :class:`~gridshare.errors.GridshareError` if the chain and the engines disagree anywhere (the
    reports are written first)."""
    meters = scenario.households.count + (scenario.plant is not None)
    if meters > MAX_MEMBERS:
        raise GridshareError(f"households.count: {scenario.households.count} households"
                             f"{' and the plant' if scenario.plant else ''} are {meters} meters; a self-consumption "
                             f"operation takes at most {MAX_MEMBERS}: simulate at most "
                             f"{MAX_MEMBERS - (scenario.plant is not None)} households")
    progress = progress or _NoProgress()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meter = _Meter(chain)
    seed = scenario.seed if seed is None else seed
    prices = scenario.prices
    rules = MarketRules(prices.feed_in, prices.retail, prices.grid_fee, DEFAULT_MIN_ORDER_WH)

    with meter.phase("profiles"):
        profiles = build_profiles(scenario)
    starts, seconds = list(profiles.starts), profiles.interval_seconds
    gate_delay = min(365 * DAY, (scenario.period.days + 2) * DAY)
    batches = scenario.market.design == "batch"

    # ---------------------------------------------------------------- deployment (or resume)
    _check_clock(chain)
    state_path = out / STATE_FILE
    digest = _run_digest(scenario, seed, market_intervals)
    found = _resume(chain, state_path, digest)
    with meter.phase("setup: deploy", "deploy"):
        if found is not None:
            community, state = found
        else:
            # batches: the market's prices and schedule, its gate at each interval's end (settled
            # after the day's sharing); orders on-chain: the gate days later (traded after sharing)
            community = deploy(chain, interval_seconds=seconds, allocation_key=_deployment_key(scenario),
                               market_design="auction" if batches else scenario.market.design,
                               retail_price=prices.retail, feed_in_price=prices.feed_in, grid_fee=prices.grid_fee,
                               gate_closure_delay=0 if batches else gate_delay, settlement_window=gate_delay,
                               write=False,
                               test_euro=True, issuer_is_operator=True)  # a simulated community
            state = {"chainId": chain.chain_id, "run": digest,
                     "salt": "0x" + new_community_salt().hex(), "offset": _offset(chain, starts[0]),
                     "manifest": community.manifest}
            state_path.write_text(json.dumps(state) + "\n")
    salt = bytes.fromhex(state["salt"][2:])
    events = EventLog(chain.w3, [community.registry, community.token, community.guarantees, community.operation,
                                 community.market, community.batch, community.solidarity, community.governor])
    if found is not None:  # what the earlier run did: its events, once (anvil: fast)
        events.fetch(min(c["blockNumber"] for c in community.manifest["contracts"].values()))
    community.on_receipt = events.record

    def key(kind: str, name: str):
        return Account.from_key(keccak(salt + f"{kind}:{name}".encode()))

    people = [SimParticipant(p.name, p.role, p.energy_poor, key("account", p.name).address,
                             meter_id(salt, f"sim-{p.name}"), key("meter", p.name),
                             p.pv_w if p.role == "producer" else max(HOUSEHOLD_CAPACITY_W, p.pv_w), p)
              for p in profiles.participants]
    run = _Run(scenario, chain, community, events, people, starts, seconds, int(state["offset"]), progress, meter)
    if found is not None:
        run.resumed["deployment"] = 1

    account_keys = {p.name: key("account", p.name) for p in people}
    _register(run, list(account_keys.values()))
    with meter.phase("allocation engine"):
        engine_key = _engine_key(scenario, people)
        engine = [_share_with_engine(engine_key, people, i) for i in range(len(starts))]
        pledged = _pledged_gifts(scenario, people, engine)

    # ---------------------------------------------------------------- day by day
    chain_rows: dict[tuple[str, int], Quantities] = {}  # (name, interval index) -> R15 quantities
    sign_task = progress.add_task("meters signing readings", total=len(starts) * len(people))
    share_task = progress.add_task("verifying and sharing", total=len(starts))
    days = _days(profiles)
    # both, or batches (one transaction an interval): every tradable interval
    sampled = 0 if scenario.market.role == "both" or batches else market_intervals
    plan, order_count = _market_plan(people, days, engine, pledged, sampled) if scenario.market.enabled else ([], 0)
    givers = [p for p in people if p.role != "consumer"] if scenario.solidarity.share_bps else []
    give_task = progress.add_task("solidarity: pledges", total=len(days) * len(givers)) if givers else None
    market_task = progress.add_task("market orders" + (" signed, batches settled" if batches else ""),
                                    total=order_count)
    placed_before = Counter(e.args.intervalId for e in events.events(community.market, "OrderPlaced"))
    registers = {p.name: (1_000_000, 1_000_000) for p in people}  # the meters' registers, Wh
    for d, day in enumerate(days):
        _share_day(run, day, registers, engine_key, sign_task, share_task)
        with meter.phase("reading back and checking"):
            chain_rows.update(_check_day(run, day, engine, placed_before))
        if givers:
            with meter.phase("solidarity", "solidarity: distribute pledges"):
                _give_day(run, day, givers, pledged, give_task)
        if plan and batches:
            with meter.phase("market: batches", "market: settle batches (one transaction an interval)"):
                _batch_day(run, plan[d], engine, pledged, rules, random.Random(f"{seed}:{day[0]}"), account_keys,
                           market_task)
        elif plan:
            with meter.phase("market: orders", "market: orders"):
                _trade_day(run, plan[d], engine, pledged, rules, random.Random(f"{seed}:{day[0]}"), placed_before,
                           market_task)
    traded = [i for sampled in plan for i in sampled]  # indexes of the intervals traded

    # ---------------------------------------------------------------- close the market, claims
    trades: list[dict] = []
    orders: dict[Any, tuple[str, EngineSide, int, int, int]] = {}  # order id (batches: digest) -> terms
    if traded and batches:
        with meter.phase("market: closing and claims", "market: withdrawals"):
            _withdraw_proceeds(run)
    elif traded:
        _close_market(run, [run.interval_id(i) for i in traded], gate_delay)
    if traded:
        with meter.phase("market: checking"):
            orders = _batch_orders(run) if batches else _orders(run)
            trades = (_batch_trades if batches else _check_trades)(run, orders, rules)
            run.checks["market intervals"] += len(traded)

    # ---------------------------------------------------------------- guarantees of origin
    with meter.phase("guarantees of origin", "guarantees: closing reading, request and approve"):
        certified = _certify(run)
    with meter.phase("guarantees of origin", "guarantees: claims for households"):
        claimed = _claim_for_households(run, certified, chain_rows)
    with meter.phase("solar reward", "solar reward: claims"):
        rewards = _claim_rewards(run)
    with meter.phase("treasury", "treasury: donation, votes and payout"):
        voted = _govern(run, random.Random(f"{seed}:votes"))

    # ---------------------------------------------------------------- reports
    tz = scenario.location.timezone
    n = len(starts)
    result = SimulationResult(scenario, out, run.offset, n, [], [], trades, [], {}, certified,
                              dict(run.checks), run.mismatches, resumed={k: v for k, v in run.resumed.items() if v})
    with meter.phase("reports: CSV and HTML"):
        result.rows = interval_rows(people, starts, chain_rows, tz)
        result.gifts = _gift_rows(run)
        result.participants = participant_rows(people, chain_rows, trades, certified, claimed, prices, n, result.gifts,
                                               rewards, voted.get("paid"))
        result.vote = {k: v for k, v in voted.items() if k != "paid"}
        result.orders = [{"order_id": oid, "interval_start": run.local(i), "interval_id": run.interval_id(i),
                          "owner": owner, "side": side.value, "price_eur_per_kwh": euros(price), "quantity_wh": qty}
                         for oid, (owner, side, price, qty, i) in sorted(orders.items(), key=lambda o: (o[1][4], o[0]))]
        result.gas = [{"operation": op, "transactions": t, "total_gas": g, "gas_per_interval": round(g / n)}
                      for op, (t, g) in meter.gas.items()]
    task = progress.add_task("writing reports", total=1)
    result.files = write_reports(result, meter.times, plots)
    progress.advance(task)
    if run.mismatches:
        raise GridshareError(f"the chain and the engines disagree in {len(run.mismatches)} places (first: "
                             f"{run.mismatches[0]}); see {result.files['html']}")
    return result


def _register(run: _Run, account_keys: list) -> None:
    """Participants, meters and members of the operation; the market's test euros and approvals.
    What a rerun finds done is not done again."""
    community, people, meter = run.community, run.people, run.meter
    registry, token = community.registry, community.token
    task = run.progress.add_task("registering participants", total=len(people))
    with meter.phase("setup: accounts and registration", "register participants and meters"):
        _unlock(run.chain, account_keys)
        for p in people:
            if not registry.functions.isParticipant(p.account).call():
                community.transact(registry.functions.registerParticipant(p.account))
            if community.simulate(registry.functions.meterOwner(p.meter_id)) is None:  # known meter
                run.resumed["meters already registered"] += 1
            else:
                kind = MeterKind.parse(p.role)
                community.transact(registry.functions.registerMeter(
                    p.meter_id, p.meter_key.address, p.account, int(kind), p.capacity_w,
                    SOLAR if kind == MeterKind.PRODUCER else GRID, int(run.starts[0] + run.offset - DAY)))
            run.progress.advance(task)
        join(community, [p.meter_id for p in people], run.interval_id(0))
    share = run.scenario.solidarity.share_bps
    if share:
        with meter.phase("setup: accounts and registration", "solidarity: flags and pledges"):
            solidarity = community.solidarity.functions
            for p in people:
                if p.energy_poor and not solidarity.isEnergyPoor(p.account).call():
                    chain_solidarity.flag(community, p.account)
                if p.role != "consumer" and solidarity.pledgeOf(p.account).call() != share:
                    chain_solidarity.pledge(community, p.account, share)
    if not run.scenario.market.enabled:
        return
    with meter.phase("setup: accounts and registration", "market setup (test euros, approvals)"):
        if run.scenario.market.design == "batch":  # bids spend a deposit in the batch auction; asks need nothing
            for p in people:
                if p.role != "producer" and community.batch.functions.claimable(p.account).call() == 0:
                    community.transact(community.payment.functions.faucet(TEST_EUROS), p.account)
                    chain_batch.deposit(community, p.account, TEST_EUROS)
            return
        market = community.market.address
        for p in people:
            bids, asks = p.role != "producer", p.role != "consumer"
            if bids and community.payment.functions.allowance(p.account, market).call() == 0:
                community.transact(community.payment.functions.faucet(TEST_EUROS), p.account)  # test euros
            chain_market.prepare(community, p.account, bids=bids, asks=asks)


def _share_day(run: _Run, day: list[int], registers: dict, engine_key, sign_task, share_task) -> None:
    """Every meter signs the day's readings in runs on the operation's cadence (so that a batch of
    every member's run fits a transaction); the operation verifies and shares them."""
    community, people, meter = run.community, run.people, run.meter
    day_starts = [run.starts[i] + run.offset for i in day]
    day_end = day_starts[-1] + run.seconds
    with meter.phase("signing"):
        last = community.operation.functions.lastAllocated().call()
        done = last >= run.interval_id(day[-1])
        signed = []
        if not done:
            cadence = run_intervals_for([MeterKind.parse(p.role) for p in people], run.seconds)
            registry = community.registry.functions
        for p in people:
            imports = [p.profile.import_wh[i] for i in day]
            exports = [p.profile.export_wh[i] for i in day]
            imp0, exp0 = registers[p.name]
            registers[p.name] = (imp0 + sum(imports), exp0 + sum(exports))
            if not done:
                # from where the meter's verified readings end: its registration on the first day;
                # after a crash in the middle of a day, the end of the last batch shared (members'
                # runs are verified and shared together): the day's readings before it are done
                previous_end = registry.meterState(p.meter_id).call()[0]
                readings = [r for r in series_to_readings(p.meter_id, day_starts, imports, exports,
                                                          import_register_wh=imp0, export_register_wh=exp0)
                            if r.interval_start >= previous_end]
                signed += [r.sign(p.meter_key, run.chain.chain_id, community.registry.address)
                           for r in to_runs(readings, run.seconds, previous_end=previous_end, run_intervals=cadence)]
        run.progress.advance(sign_task, len(day) * len(people))
    with meter.phase("verify and share (relaying)", "verify and share (submitAndAllocate)"):
        _travel(run.chain, day_end + 1)
        if done:
            run.resumed["days already shared"] += 1
            run.progress.advance(share_task, len(day))
            return
        shared = sum(1 for i in day if run.interval_id(i) <= last)  # by a crashed run, mid-day
        if shared:
            run.resumed["intervals already shared"] += shared
            run.progress.advance(share_task, shared)
        supplied = _deployment_key(run.scenario) == "supplied"
        report = allocate(community, signed, key=engine_key if supplied else None, check_first=False,
                          on_progress=lambda k: run.progress.advance(share_task, k))
        if report.incomplete is not None:
            raise GridshareError(f"the operation stopped at interval {report.incomplete[0]}: member "
                                 f"0x{report.incomplete[1].hex()} has no run reaching it ({report.why})")


def _check_day(run: _Run, day: list[int], engine: list[Allocation], placed_before: Counter) -> dict:
    """The day's R15 quantities as the chain's events say (:func:`gridshare.chain.quantities.quantities_of`:
    ``ReadingsVerified`` and ``SettledLocally``), compared with the engine for every participant
    and interval; ``SelfConsumption.quantities`` for one interval. Returns (name, interval index)
    -> :class:`~gridshare.domain.quantities.Quantities`."""
    community, people = run.community, run.people
    start = run.starts[day[0]] + run.offset
    end = run.starts[day[-1]] + run.offset + run.seconds
    events = (run.events.events(community.registry, "ReadingsVerified")
              + run.events.events(community.token, "SettledLocally"))
    got = {(q.account, q.interval_start): q
           for q in quantities_of(events, {p.meter_id: p.account for p in people}, run.seconds, start, end)}
    rows = {}
    for i in day:
        at = run.starts[i] + run.offset
        for p in people:
            expect = Quantities.of(engine[i], p.hex, p.account, at)
            actual = got.get((p.account, at), Quantities(p.account, at))
            rows[(p.name, i)] = actual
            run.checks["interval quantities"] += 1
            if actual != expect:
                run.mismatches.append(f"{p.name} {run.local(i)}: chain {actual}, engine {expect}")
    # the contract's own view of one interval, for a sample of participants (the view recomputes
    # the interval's split over every member: ~100 nested calls each, slow on py-evm); from the
    # operation's sharing alone, so market escrows and claims do not change it
    mid = day[len(day) // 2]
    if not placed_before.get(run.interval_id(mid)):
        for p in people[:: max(1, len(people) // VIEW_SAMPLE)]:
            q = Quantities.of(engine[mid], p.hex, p.account, run.starts[mid] + run.offset)
            expected = (q.prod, q.autoprod, q.surplus, q.cons, q.autocons, q.complement)
            view = tuple(community.operation.functions.quantities(p.account, run.interval_id(mid)).call())
            run.checks["SelfConsumption.quantities"] += 1
            if view != expected:
                run.mismatches.append(f"{p.name} {run.local(mid)}: quantities() {view}, engine {expected}")
    return rows


def _offers(people: list[SimParticipant], a: Allocation, gifts: dict[str, dict[str, int]]
            ) -> tuple[dict[str, int], dict[str, int]]:
    """What sharing and the pledges' gifts (giver -> recipient -> Wh) left in an interval:
    producers' surpluses and households' needs (Wh, by name)."""
    given = {g: sum(to.values()) for g, to in gifts.items()}
    received: Counter = Counter()
    for to in gifts.values():
        received.update(to)
    return ({p.name: a.producer_surplus(p.hex) - given.get(p.name, 0) for p in people if p.role != "consumer"},
            {p.name: a.complement(p.hex) - received[p.name] for p in people if p.role != "producer"})


def _pledged_gifts(scenario: Scenario, people: list[SimParticipant], engine: list[Allocation]
                   ) -> list[dict[str, dict[str, int]]]:
    """Per interval, what the producers' pledges give the energy-poor households (giver ->
    recipient -> Wh, by name) after the engine's sharing, givers in the participants' order (the
    order of their distribution transactions)."""
    share = scenario.solidarity.share_bps
    if not share:
        return [{} for _ in engine]
    givers = [p for p in people if p.role != "consumer"]
    poor = [p for p in people if p.energy_poor]
    return [interval_gifts({p.name: a.producer_surplus(p.hex) for p in givers}, {p.name: share for p in givers},
                           {p.name: a.complement(p.hex) for p in poor}) for a in engine]


def _give_day(run: _Run, day: list[int], givers: list[SimParticipant], pledged: list[dict], task) -> None:
    """Distribute every producer's pledge for the day's intervals (those a crashed run did not),
    then check the day's gifts (the ``Given`` events) against the pledged rule on the engine."""
    community = run.community
    by_account = {p.account: p.name for p in run.people}
    for p in givers:
        todo = [run.interval_id(i) for i in day
                if not community.solidarity.functions.distributed(p.account, run.interval_id(i)).call()]
        if len(todo) < len(day):
            run.resumed["pledge intervals already distributed"] += len(day) - len(todo)
        for k in range(0, len(todo), SOLIDARITY_PAGE):
            chain_solidarity.distribute(community, p.account, todo[k:k + SOLIDARITY_PAGE])
        run.progress.advance(task)
    ids = {run.interval_id(i): i for i in day}
    seen: dict[tuple[int, str, str], int] = Counter()
    for e in run.events.events(community.solidarity, "Given"):
        if e.args.intervalId in ids:
            seen[(ids[e.args.intervalId], by_account[e.args.giver], by_account[e.args.recipient])] += e.args.amountWh
    expected = {(i, g, r): wh for i in day for g, to in pledged[i].items() for r, wh in to.items() if wh}
    run.checks["solidarity gifts"] += len(day)
    if dict(seen) != expected:
        first = sorted(set(seen.items()) ^ set(expected.items()))[0]
        run.mismatches.append(f"solidarity {run.local(first[0][0])}: chain gave {dict(seen).get(first[0], 0)} Wh "
                              f"from {first[0][1]} to {first[0][2]}, the rule {expected.get(first[0], 0)}")


def _gift_rows(run: _Run) -> list[dict]:
    """The rows of solidarity.csv: every gift, from the chain's ``Given`` events."""
    by_account = {p.account: p.name for p in run.people}
    return [{"interval_start": run.local(run.index[e.args.intervalId]), "interval_id": e.args.intervalId,
             "giver": by_account.get(e.args.giver, e.args.giver), "recipient": by_account.get(e.args.recipient,
                                                                                          e.args.recipient),
             "wh": e.args.amountWh} for e in run.events.events(run.community.solidarity, "Given")]


def _market_plan(people: list[SimParticipant], days: list[list[int]], engine: list[Allocation],
                 pledged: list[dict], market_intervals: int) -> tuple[list[list[int]], int]:
    """The intervals traded each day (a sample of those where sharing left both a surplus and a
    need) and how many orders that makes (one per positive surplus or need)."""
    plan, orders = [], 0
    for day in days:
        tradable = []
        for i in day:
            surpluses, needs = _offers(people, engine[i], pledged[i])
            if sum(surpluses.values()) > 0 and sum(needs.values()) > 0:
                tradable.append(i)
        plan.append(_sample(tradable, market_intervals))
        for i in plan[-1]:
            surpluses, needs = _offers(people, engine[i], pledged[i])
            orders += sum(1 for wh in (*surpluses.values(), *needs.values()) if wh > 0)
    return plan, orders


def _trade_day(run: _Run, sampled: list[int], engine: list[Allocation], pledged: list[dict], rules: MarketRules,
               rng: random.Random, placed_before: Counter, task) -> None:
    """The agents' orders for the day's ``sampled`` intervals, one transaction each. Orders a
    crashed run already placed are skipped, not placed twice."""
    people = run.people
    by_name = {p.name: p for p in people}
    for i in sampled:
        iid = run.interval_id(i)
        intents = orders_for_interval(rng, *_offers(people, engine[i], pledged[i]), rules)  # drawn even when resuming: same rng
        skip = placed_before.get(iid, 0)
        if skip:
            run.resumed["orders already placed"] += skip
            run.progress.advance(task, skip)
        book: dict[EngineSide, list[Order]] = {EngineSide.BID: [], EngineSide.ASK: []}  # resting, for hints
        for intent in intents[skip:]:
            side = Side.BID if intent.side is EngineSide.BID else Side.ASK
            # the agents keep the book they placed (a stale hint, an order filled since, only costs gas)
            after = chain_market.hint(book[intent.side], side, intent.price)  # type: ignore[arg-type]
            placed = chain_market.place(run.community, by_name[intent.owner].account, side, iid, intent.price,
                                        intent.quantity, Backing.ENERGY, after=after, prepared=True, gas=ORDER_GAS)
            book[intent.side].append(Order(placed.order_id, intent.owner, intent.side, intent.price,
                                           intent.quantity))
            book[intent.side].sort(key=lambda o: (-o.price, o.id) if o.side is EngineSide.BID else (o.price, o.id))
            run.progress.advance(task)


def _close_market(run: _Run, interval_ids: list[int], gate_delay: int) -> None:
    """Past every gate: close the traded intervals; everyone claims its money and tokens; buyers
    redeem what they bought against their verified import. Each step pays only what is left."""
    community, meter = run.community, run.meter
    with meter.phase("market: closing and claims", "market: close intervals"):
        _travel(run.chain, run.starts[-1] + run.seconds + run.offset + gate_delay + 1)
        task = run.progress.add_task("closing market intervals", total=len(interval_ids))
        for iid in interval_ids:
            chain_market.close_interval(community, iid, run.chain.sender, sellers=[])
            run.progress.advance(task)
    with meter.phase("market: closing and claims", "market: claims and redemptions"):
        placed: dict[str, set[int]] = defaultdict(set)  # account -> intervals it placed orders in
        owners = {}
        for e in run.events.events(community.market, "OrderPlaced"):
            placed[e.args.owner].add(e.args.intervalId)
            owners[e.args.orderId] = e.args.owner
        bought: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # buyer -> interval -> Wh
        for e in run.events.events(community.market, "Traded"):
            bought[owners[e.args.bidId]][e.args.intervalId] += e.args.quantityWh
        redeemed = {e.args["from"] for name in ("TransferSingle", "TransferBatch")  # (one id: a single)
                    for e in run.events.events(community.token, name)
                    if e.args.to == ZERO_ADDRESS and e.args.operator == e.args["from"]}
        task = run.progress.add_task("claims and redemptions", total=len(run.people))
        for p in run.people:
            # tokens bought as a maker, an ask's unsold tokens; the producers' proceeds (households
            # keep their bids' refunds in the market)
            chain_market.claim(community, p.account, sorted(placed[p.account]), money=p.role == "producer")
            # what it bought, consumed against its verified import (at most its need: its bids')
            if bought[p.account] and p.account not in redeemed:
                ledger.redeem(community, p.account, dict(bought[p.account]))
            run.progress.advance(task)


def _orders(run: _Run) -> dict[int, tuple[str, EngineSide, int, int, int]]:
    """Every order of the market: id -> owner, side, price, quantity, scenario interval index."""
    index, by_account = run.index, {p.account: p for p in run.people}
    out = {}
    for e in run.events.events(run.community.market, "OrderPlaced"):
        a = e.args
        owner = by_account.get(a.owner)
        if owner is not None and a.intervalId in index:
            side = EngineSide.BID if a.side == 0 else EngineSide.ASK
            out[a.orderId] = (owner.name, side, a.price, a.quantityWh, index[a.intervalId])
    return out


def _check_trades(run: _Run, orders: dict, rules: MarketRules) -> list[dict]:
    """The chain's trades, as rows; where they differ from the matching engine fed the same orders
    goes to ``run.mismatches``."""
    by_interval: dict[int, list] = defaultdict(list)
    for e in run.events.events(run.community.market, "Traded"):
        by_interval[e.args.intervalId].append((e.args.bidId, e.args.askId, e.args.quantityWh, e.args.price))
    per_interval: dict[int, list[Order]] = defaultdict(list)
    for oid in sorted(orders):
        owner, side, price, qty, i = orders[oid]
        per_interval[i].append(Order(oid, owner, side, price, qty))
    rows = []
    for i, placed in sorted(per_interval.items()):
        iid = run.interval_id(i)
        if run.scenario.market.design == "continuous":
            book = ContinuousBook(rules.feed_in, rules.retail, rules.grid_fee)
            fills = [f for o in placed for f in book.place(o)]
        else:
            fills = clear_uniform([o for o in placed if o.side is EngineSide.BID],
                                  [o for o in placed if o.side is EngineSide.ASK], rules.grid_fee).fills
        expect = sorted((f.bid_id, f.ask_id, f.quantity_wh, f.price) for f in fills)
        actual = sorted(by_interval.get(iid, []))
        if expect != actual:
            run.mismatches.append(f"market {run.local(i)}: chain trades {actual}, engine {expect}")
        rows += [_trade_row(run, i, bid, ask, orders[bid][0], orders[ask][0], qty, price, rules)
                 for bid, ask, qty, price in actual]
    return rows


def _trade_row(run: _Run, i: int, bid: int | str, ask: int | str, buyer: str, seller: str, quantity_wh: int,
               price: int, rules: MarketRules) -> dict:
    """A row of trades.csv: one trade of interval ``i`` and what it paid."""
    f = Fill(0, 0, buyer, seller, quantity_wh, price, rules.grid_fee)
    return {"interval_start": run.local(i), "interval_id": run.interval_id(i), "bid_id": bid, "ask_id": ask,
            "buyer": buyer, "seller": seller, "quantity_wh": quantity_wh, "price_eur_per_kwh": euros(price),
            "paid_eur": euros(f.payment), "grid_fee_eur": euros(f.fee), "seller_received_eur": euros(f.proceeds)}


# --------------------------------------------------------------------------------------------------
# the market in batches: orders signed off-chain, one transaction an interval
# --------------------------------------------------------------------------------------------------


def _batch_day(run: _Run, sampled: list[int], engine: list[Allocation], pledged: list[dict], rules: MarketRules,
               rng: random.Random, keys: dict, task) -> None:
    """The agents' orders for the day's ``sampled`` intervals (the intents the on-chain designs
    place), each signed off-chain by its owner's key (EIP-712 ``Order``, its salt its rank among the
    interval's intents), then each interval's batch in one ``settleBatch`` once its gate closed (at
    the interval's end: the day is over). The relayer sends only the orders that matter
    (:func:`~gridshare.domain.batch.orders_that_matter`: those that trade and the first left out
    on each side; the agents offer what backs them, their surplus and need, with deposits above
    any bill, so no order is capped), nothing where nothing trades (it would revert
    ``BatchAuctionEmpty``). Signatures are deterministic, so a rerun signs the same orders: a
    batch a crashed run settled is not sent again (``batchSettled``). Checked after the run, from
    the chain's ``BatchSettled`` events, against the engine on every order signed
    (:func:`_batch_trades`)."""
    community, chain = run.community, run.chain
    by_name = {p.name: p for p in run.people}
    for i in sampled:
        iid = run.interval_id(i)
        intents = orders_for_interval(rng, *_offers(run.people, engine[i], pledged[i]), rules)
        run.batches[iid] = [
            SignedOrderTerms(by_name[o.owner].account, iid, Side.BID if o.side is EngineSide.BID else Side.ASK,
                             o.price, o.quantity, salt=k).sign(keys[o.owner], chain.chain_id, community.batch.address)
            for k, o in enumerate(intents)]
        if community.batch.functions.batchSettled(iid).call():
            run.resumed["batches already settled"] += 1
        elif sent := orders_that_matter(run.batches[iid], rules.grid_fee):
            chain_batch.settle_batch(community, iid, sent, chain.sender)
        run.progress.advance(task, len(intents))


def _withdraw_proceeds(run: _Run) -> None:
    """The producers withdraw their sales' proceeds from the batch auction (households keep what
    is left of their deposits there, as they keep their bids' refunds in the on-chain market)."""
    task = run.progress.add_task("withdrawing proceeds", total=len(run.people))
    for p in run.people:
        if p.role == "producer":
            chain_batch.withdraw(run.community, p.account)
        run.progress.advance(task)


def _batch_orders(run: _Run) -> dict[str, tuple[str, EngineSide, int, int, int]]:
    """Every signed order: its digest (0x hex) -> owner, side, price, quantity, scenario interval index."""
    names = {p.account: p.name for p in run.people}
    return {"0x" + s.digest.hex(): (names[s.owner], EngineSide.BID if s.order.side == Side.BID else EngineSide.ASK,
                                    s.order.price, s.order.quantity_wh, run.index[iid])
            for iid, signed in run.batches.items() for s in signed}


def _batch_trades(run: _Run, orders: dict, rules: MarketRules) -> list[dict]:
    """The trades of the chain's ``BatchSettled`` events, as rows (a trade's bid and ask: the
    orders' digests); where a batch's price or fills differ from the batch engine fed the same
    signed orders (:func:`~gridshare.domain.batch.batch_clearing`) goes to ``run.mismatches``."""
    names = {p.account: p.name for p in run.people}
    settled = {e.args.intervalId: e.args for e in run.events.events(run.community.batch, "BatchSettled")}
    rows = []
    for iid, signed in sorted(run.batches.items()):
        i = run.index[iid]
        clearing = batch_clearing(signed, rules.grid_fee)
        expect = (clearing.price, [(f.buyer, f.seller, f.quantity_wh) for f in clearing.fills])
        event = settled.get(iid)
        price, fills = (event.price, unpack_fills(event.fills)) if event else (None, [])
        actual = (price, [(f.buyer, f.seller, f.quantity_wh) for f in fills])
        if actual != expect:
            run.mismatches.append(f"batch {run.local(i)}: chain (price, fills) {actual}, engine {expect}")
        digest = {(s.owner, s.order.side): "0x" + s.digest.hex() for s in signed}
        rows += [_trade_row(run, i, digest[(f.buyer, Side.BID)], digest[(f.seller, Side.ASK)], names[f.buyer],
                            names[f.seller], f.quantity_wh, event.price, rules) for f in fills if event]
    return rows


def _day_text(timestamp: int) -> str:
    """A UTC midnight as its date, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def _certify(run: _Run) -> list[dict]:
    """Certificates of every producer for the whole UTC days its readings cover, requested and
    approved (days already requested are not requested again)."""
    community, people = run.community, run.people
    registry = community.registry
    start, end = run.starts[0] + run.offset, run.starts[-1] + run.seconds + run.offset
    from_day = start // DAY
    producers = [p for p in people if p.role != "consumer" and sum(p.profile.export_wh) > 0]
    to_day = end // DAY
    if end % DAY:
        # the period ends before a UTC midnight: every member's meter declares the rest of that day
        # an outage (no data), shared through the operation, so that the last day is whole for all
        closing = -(-end // DAY) * DAY
        _travel(run.chain, closing + 1)
        outages = []
        for p in people:
            state = registry.functions.meterState(p.meter_id).call()
            if state[0] < closing:
                outage = MeterReadings(p.meter_id, state[0], closing, (), (), state[1], state[2])
                outages.append(outage.sign(p.meter_key, run.chain.chain_id, registry.address))
        if outages:
            allocate(community, outages, key=_engine_key(run.scenario, people)
                     if _deployment_key(run.scenario) == "supplied" else None)
        to_day = closing // DAY
    task = run.progress.add_task("guarantees of origin", total=len(producers))
    periods = month_periods(from_day, to_day)  # a certificate's period lies within a calendar month
    for k, (first, after) in enumerate(periods):
        done = certificates.issue(community, [(p.meter_id, p.account) for p in producers], first, after,
                                  Declaration(country=COUNTRY), approve=False,
                                  on_progress=lambda n: run.progress.advance(task, n) if k == 0 else None)
        for _, refusal in done.skipped:
            if refusal.name == "GuaranteeOfOriginAlreadyCertified":
                run.resumed["certificates already requested"] += 1
            elif refusal.name != "GuaranteeOfOriginNothingToCertify":  # (a rooftop whose only whole
                raise ContractReverted(refusal)                         # UTC day was a night)
    if not periods:
        run.progress.advance(task, len(producers))
    views = [certificates.read(community, cid)
             for cid in range(1, community.guarantees.functions.certificateCount().call() + 1)]
    pending = [v.id for v in views if v.status == Status.PENDING]  # a crashed run's requests too
    if pending:
        certificates.approve_requests(community, pending)
        views = [certificates.read(community, v.id) for v in views]
    by_meter = {p.meter_id: p for p in people}
    out = []
    for v in views:
        owner = by_meter.get(bytes(v.meter_id))
        if owner is not None:
            # the period in the scenario's dates (the chain's clock may run weeks ahead: run.offset)
            out.append({"id": v.id, "producer": owner.name, "account": owner.account, "amount_wh": v.amount_wh,
                        "from": _day_text(v.production_start - run.offset),
                        "to": _day_text(v.production_end - run.offset),
                        "status": v.status.name.lower(),
                        "held_wh": community.guarantees.functions.balanceOf(owner.account, v.id).call()})
    return out


#: how the simulated members vote on the treasury's payout: for, against, abstain
VOTE_CHOICES = (("for", 0.7), ("against", 0.2), ("abstain", 0.1))


def _govern(run: _Run, rng: random.Random) -> dict[str, Any]:
    """The scenario's treasury round (``[treasury] donation``): the operator donates, every meter's
    vote weight is synced, the plant's owner (or the first producer) proposes paying the donation
    to the energy-poor households in equal parts, every participant votes (drawn from ``rng``), and
    the proposal is queued and executed if it passed, the clock moved past each step. A rerun goes
    on from the proposal it finds. Returns the proposal's figures, and ``paid``: name -> EUR."""
    donation = run.scenario.treasury.donation
    if not donation:
        return {}
    c, chain = run.community, run.chain
    poor = [p for p in run.people if p.energy_poor]
    proposer = next(p for p in run.people if p.role != "consumer")
    share = donation // len(poor)
    created = run.events.events(c.governor, "ProposalCreated")  # (an embedded chain's eth_getLogs is slow)
    if created:
        run.resumed["treasury proposal"] += 1
    else:
        c.transact(c.payment.functions.faucet(donation))  # the operator's test euros
        chain_treasury.donate(c, donation)
        chain_treasury.sync(c, [p.meter_id for p in run.people])
        _travel(chain, _now(chain) + 2)  # the governor counts a proposer's votes a second before
        chain_treasury.propose_payouts(c, [(p.account, share) for p in poor],
                                       "Pay the energy-poor households' electricity bills from the donation",
                                       sender=proposer.account)
        created = run.events.events(c.governor, "ProposalCreated")
    a = created[0].args
    pid = a.proposalId
    call_args = (a.targets, a["values"], a.calldatas, keccak(text=a.description))  # what queue and execute take
    governor = c.governor.functions

    def state() -> str:
        return PROPOSAL_STATES[governor.state(pid).call(block_identifier="pending")]

    choices = [rng.choices([k for k, _ in VOTE_CHOICES], [w for _, w in VOTE_CHOICES])[0] for _ in run.people]
    if state() == "Pending":
        _travel(chain, a.voteStart + 1)
    for person, choice in zip(run.people, choices):
        if state() == "Active" and not governor.hasVoted(pid, person.account).call():
            c.transact(governor.castVote(pid, SUPPORT[choice]), person.account)
    if state() == "Active":
        _travel(chain, a.voteEnd + 1)
    if state() == "Succeeded":
        c.transact(governor.queue(*call_args))
        _travel(chain, governor.proposalEta(pid).call() + 1)
    if state() == "Queued":
        c.transact(governor.execute(*call_args))
    against, for_, abstain = governor.proposalVotes(pid).call()
    unit = 10 ** VOTE_DECIMALS
    return {"proposal": pid, "state": state(), "for_votes": for_ / unit, "against_votes": against / unit,
            "abstain_votes": abstain / unit, "total_votes": c.votes.functions.totalSupply().call() / unit,
            "quorum_percent": c.manifest["settings"]["governance"]["quorumPercent"],
            "paid": {q.name: euros(share) if state() == "Executed" else 0.0 for q in poor}}


def _claim_rewards(run: _Run) -> dict[str, int]:
    """Every solar meter's SolarReward claimed (1 SUN per whole MWh of its verified export; a rerun
    claims only what is left): name -> whole tokens its owner holds."""
    community = run.community
    for p in run.people:
        if p.role == "producer" and chain_reward.claimable(community, p.meter_id).tokens:
            chain_reward.claim(community, p.meter_id)
    unit = 10 ** community.reward.functions.decimals().call()
    return {p.name: community.reward.functions.balanceOf(p.account).call() // unit for p in run.people}


def _claim_for_households(run: _Run, issued: list[dict], chain_rows: dict) -> dict[str, int]:
    """The plant's owner claims its certificates for the households, pro rata of the local energy
    each received (AUTOCONS); a claim already made for a household is not made again. Returns Wh
    claimed per beneficiary (from the chain's ``Claimed`` events, so a rerun reports the same)."""
    community, people = run.community, run.people
    g = community.guarantees
    households = [p for p in people if p.role != "producer"]
    autocons = {p.name: sum(chain_rows[(p.name, i)].autocons for i in range(len(run.starts))) for p in households}
    total = sum(autocons.values())
    start, end = run.starts[0] + run.offset, run.starts[-1] + run.seconds + run.offset
    done = {(e.args.certificateId, bytes(e.args.beneficiary)) for e in run.events.events(g, "Claimed")}
    plant = [c for c in issued if c["status"] == "issued"
             and next(p for p in people if p.name == c["producer"]).role == "producer"]
    task = run.progress.add_task("claiming certificates", total=len(plant) * len(households))
    for cert in plant:
        for h in households:
            amount = cert["amount_wh"] * autocons[h.name] // total if total else 0
            if (cert["id"], beneficiary_id(h.name)) in done:
                run.resumed["certificate claims already made"] += 1
            elif amount:
                certificates.claim(community, cert["account"], cert["id"], amount, beneficiary_id(h.name),
                                   start, end, COUNTRY)
            run.progress.advance(task)
        cert["held_wh"] = g.functions.balanceOf(cert["account"], cert["id"]).call()
    claimed: dict[str, int] = defaultdict(int)
    names = {beneficiary_id(p.name): p.name for p in people}
    for e in run.events.events(g, "Claimed"):
        if (name := names.get(bytes(e.args.beneficiary))) is not None:
            claimed[name] += e.args.amountWh
    return dict(claimed)
