"""`gridshare simulate`: a whole community, end to end on a chain, and reports people can read.

:func:`simulate` takes a :class:`~gridshare.scenario.Scenario` and a chain and runs, for every
participant of :func:`~gridshare.community_profiles.build_profiles` (the shared plant, the
households, their rooftops):

1. **setup**: deploys the community (the scenario's allocation key, market design and prices);
   gives every participant an account (a deterministic key unlocked on the devnet: ``add_account``
   on the embedded chain, impersonation on anvil) and every meter its own signing key; registers
   participants and meters (capacity 9,000 W for a household, or its rooftop's peak if larger;
   ``kWp * 1000`` for the plant); makes every meter a member of the self-consumption operation.
2. **day after day** (simulated time: the chain's clock is moved to the end of each day): every
   meter signs its readings of the day (EIP-712, its own key); ``SelfConsumption`` verifies them
   and shares each interval in the same transactions (:func:`gridshare.operation.allocate`); the
   day's R15 quantities are read back from the chain's events and **checked** against the pure
   allocation engine (:mod:`gridshare.allocation`) on the same readings.
3. **market** (if ``market.enabled``): what local sharing left is traded peer to peer: every
   producer's remaining tokens (``export - given locally``) as energy-backed asks, every
   household's remaining need (``import - received locally``) as bids, from the seeded
   zero-intelligence agents (:func:`gridshare.agents.orders_for_interval`). Every order is one
   transaction, so only a sample of intervals is traded: ``market_intervals`` per day (default 4),
   evenly spread among the intervals where both a surplus and a need are left (0: all of them).
   The gate closes ``days + 2`` days after each interval (so trading after verification works);
   at the end the clock moves past every gate, intervals are closed (auction cleared, orders left
   open expired) and every participant claims its money and tokens. Trades are **checked** against
   the pure matching engine (:mod:`gridshare.matching`): :class:`~gridshare.matching.ContinuousBook`
   fed the same orders in the same order, or :func:`~gridshare.matching.clear_uniform`.
4. **guarantees of origin**: every producer (plant and rooftops) is certified for the whole UTC
   days its readings cover (the plant's meter adds its closing reading at the next UTC midnight
   when the period does not end on one, so that its last day can be certified); the issuing body
   approves them; the plant's owner then claims its certificate for the households, pro rata of
   the local energy each received.
5. **reports** in ``out_dir``: ``intervals.csv`` (R15 quantities per participant and interval),
   ``participants.csv``, ``trades.csv``, ``gas.csv`` (operation, transactions, total gas, gas per
   interval), ``timings.csv``, ``community.png``, ``households.png``, ``prices.png`` and a one-page
   ``report.html`` that embeds them.

**Time.** A chain's clock only moves forward: when the chain is already past the scenario's
period (a past June on a chain started today), the period is shifted on-chain by a whole number
of weeks (same weekdays, same UTC time of day); reports always show the scenario's dates, and
``offset_seconds`` says the shift.

**Resuming.** ``out_dir/simulation-state.json`` keeps the deployment, the community salt (meter
and account keys derive from it) and the time shift. Run again on the same chain (anvil keeps its
state between commands) and the simulation continues: registered meters are not registered
again, days already shared are neither signed nor sent again (the operation's ``lastAllocated``),
orders of intervals already traded are not placed again, certificates already requested or
claimed are left alone.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import random
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo

from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

from gridshare import market as chain_market
from gridshare.agents import orders_for_interval
from gridshare.allocation import Allocation, AllocationKey, DynamicDefaultKey, split_pro_rata
from gridshare.community_profiles import CommunityProfiles, Participant, build_profiles
from gridshare.deployment import Community, _erc20_abi, deploy
from gridshare.errors import GridshareError
from gridshare.guarantee import DAY, Declaration, Status, beneficiary_id
from gridshare.matching import ContinuousBook, MarketRules, Order, clear_uniform
from gridshare.matching import Side as EngineSide
from gridshare.meter import MeterKind, meter_id, new_community_salt
from gridshare.network import Chain
from gridshare.operation import allocate, join
from gridshare.profiles import pv_export_wh
from gridshare.reading import MeterReading, series_to_readings
from gridshare.relayer import relay
from gridshare.report import quantities as chain_quantities
from gridshare.scenario import Scenario

__all__ = ["SimulationResult", "simulate", "DEFAULT_MARKET_INTERVALS", "STATE_FILE"]

STATE_FILE = "simulation-state.json"
DEFAULT_MARKET_INTERVALS = 4  # traded intervals per day
WEEK = 7 * DAY
HOUSEHOLD_CAPACITY_W = 9_000  # a 9 kVA connection
FUNDS_WEI = 100 * 10**18
TEST_EUROS = 1_000 * 10**6  # each household's test euros for bids (the faucet gives up to 10,000)
SOLAR = b"solar-pv".ljust(32, b"\0")
GRID = b"grid-connection".ljust(32, b"\0")
MAX_UINT = 2**256 - 1
COUNTRY = "FR"


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------


@dataclass
class SimParticipant:
    name: str
    role: str
    energy_poor: bool
    account: str
    meter_id: bytes
    meter_key: object  # LocalAccount
    capacity_w: int
    profile: Participant

    @property
    def hex(self) -> str:
        return "0x" + self.meter_id.hex()


@dataclass
class SimulationResult:
    scenario: Scenario
    out_dir: Path
    offset_seconds: int  # on-chain time = scenario time + offset
    intervals: int
    participants: list[dict]  # the rows of participants.csv
    rows: list[dict]  # the rows of intervals.csv
    trades: list[dict]  # the rows of trades.csv
    gas: list[dict]  # the rows of gas.csv
    timings: dict[str, float]
    certificates: list[dict]
    checks: dict[str, int]  # what was compared with the engines, and how many differed
    mismatches: list[str]
    orders: list[dict] = field(default_factory=list)  # the rows of orders.csv
    files: dict[str, Path] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)  # what a rerun found done


class _NoProgress:
    """Stands in for a rich Progress when none is given."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args, **kwargs) -> None:
        pass

    def update(self, *args, **kwargs) -> None:
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
    block = "pending" if chain.network == "embedded" else "latest"
    return chain.w3.eth.get_block(block)["timestamp"]


def _travel(chain: Chain, timestamp: int) -> None:
    """The chain's next blocks are at ``timestamp`` or later (never backwards)."""
    if _now(chain) < timestamp:
        chain.travel(timestamp)


def _unlock(chain: Chain, keys: list) -> None:
    """Make these accounts send from the devnet (no signing middleware) and give them ether."""
    w3 = chain.w3
    if chain.network == "embedded":
        tester = w3.provider.ethereum_tester
        known = set(w3.eth.accounts)
        for key in keys:
            if key.address not in known:
                tester.add_account("0x" + key.key.hex().removeprefix("0x"))
            if w3.eth.get_balance(key.address) < FUNDS_WEI // 2:
                tx = w3.eth.send_transaction({"from": chain.sender, "to": key.address, "value": FUNDS_WEI})
                w3.eth.wait_for_transaction_receipt(tx)
    elif chain.network == "anvil":
        for key in keys:
            w3.provider.make_request("anvil_impersonateAccount", [key.address])
            w3.provider.make_request("anvil_setBalance", [key.address, hex(FUNDS_WEI)])
    else:
        raise GridshareError("simulate runs on a devnet (--network embedded or anvil): its participants' "
                             "accounts are created and funded there")


def _community_from(chain: Chain, manifest: dict) -> Community:
    contracts = manifest["contracts"]
    w3 = chain.w3
    names = ("MeterRegistry", "EnergyToken", "GuaranteeOfOrigin", "SelfConsumption", "EnergyMarket")
    registry, token, guarantees, operation, market = (
        w3.eth.contract(address=contracts[n]["address"], abi=contracts[n]["abi"]) for n in names)
    payment = w3.eth.contract(address=manifest["settings"]["market"]["paymentToken"], abi=_erc20_abi(contracts))
    return Community(chain, manifest, registry, token, guarantees, operation, market, payment)


def _scenario_digest(scenario: Scenario) -> str:
    return hashlib.sha256(repr(scenario).encode()).hexdigest()[:16]


def _resume(chain: Chain, state_path: Path, scenario: Scenario) -> tuple[Community, dict] | None:
    """The community of an earlier run of this scenario on this chain, if it is still there."""
    if not state_path.exists():
        return None
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return None
    if state.get("chainId") != chain.chain_id or state.get("scenario") != _scenario_digest(scenario):
        return None
    registry = state["manifest"]["contracts"]["MeterRegistry"]["address"]
    if not chain.w3.eth.get_code(registry):
        return None  # a fresh chain (the embedded one, a reset devnet)
    return _community_from(chain, state["manifest"]), state


def _offset(chain: Chain, first_start: int) -> int:
    """Whole weeks to shift the period by so that it starts at least a day after the chain's clock
    (participants and meters are registered before their first UTC day: certificates need it)."""
    first_day = first_start // DAY * DAY
    lag = _now(chain) + DAY - first_day
    return 0 if lag <= 0 else -(-lag // WEEK) * WEEK


# --------------------------------------------------------------------------------------------------
# the allocation engine, as the operation runs it
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HouseholdsOnly:
    """A key of the scenario applied to the households only (the plant, a member that never
    consumes, gets no coefficient and no priority group)."""

    inner: AllocationKey
    households: frozenset[str]

    def allocate(self, production: Mapping[str, int], consumption: Mapping[str, int]) -> Allocation:
        own = {n: wh for n, wh in consumption.items() if n in self.households}
        result = self.inner.allocate(production, own)
        return Allocation(result.production, dict(consumption), result.flows)


@dataclass(frozen=True)
class _Shared:
    """One interval shared by the engine: Wh per member (meter id in hex)."""

    production: dict[str, int]
    consumption: dict[str, int]
    shares: dict[str, int]
    gives: dict[str, int]

    def received(self, member: str) -> int:
        return self.shares.get(member, 0)

    def given(self, member: str) -> int:
        return self.gives[member]

    def producer_surplus(self, member: str) -> int:
        return self.production[member] - self.gives[member]

    def complement(self, member: str) -> int:
        return self.consumption[member] - self.received(member)


def _engine_key(scenario: Scenario, people: list[SimParticipant]) -> AllocationKey:
    """The key the operation applies, naming members by meter id in hex (as operation.allocate does)."""
    if scenario.allocation.deployment_key == "dynamic-default":
        return DynamicDefaultKey()  # the contract's formula, producers giving pro rata
    households = [p.hex for p in people if p.role != "producer"]
    poor = [p.hex for p in people if p.energy_poor]
    return _HouseholdsOnly(scenario.allocation.build(households, poor), frozenset(households))


# --------------------------------------------------------------------------------------------------
# the simulation
# --------------------------------------------------------------------------------------------------


def _local(ts: int, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


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
    traded per day (0: every interval where a trade is possible)."""
    progress = progress or _NoProgress()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meter = _Meter(chain)
    resumed: dict[str, int] = defaultdict(int)
    seed = scenario.seed if seed is None else seed
    prices = scenario.prices
    rules = MarketRules(prices.feed_in, prices.retail, prices.grid_fee)
    tz = scenario.location.timezone

    with meter.phase("profiles"):
        profiles = build_profiles(scenario)
    starts = list(profiles.starts)
    seconds = profiles.interval_seconds
    n = len(starts)
    gate_delay = min(365 * DAY, (scenario.period.days + 2) * DAY)

    # ---------------------------------------------------------------- deployment (or resume)
    state_path = out / STATE_FILE
    found = _resume(chain, state_path, scenario)
    with meter.phase("setup: deploy", "deploy"):
        if found is not None:
            community, state = found
            resumed["deployment"] = 1
        else:
            community = deploy(chain, interval_seconds=seconds, allocation_key=scenario.allocation.deployment_key,
                               market_design=scenario.market.design, retail_price=prices.retail,
                               feed_in_price=prices.feed_in, grid_fee=prices.grid_fee,
                               gate_closure_delay=gate_delay, settlement_window=gate_delay, write=False)
            state = {"chainId": chain.chain_id, "scenario": _scenario_digest(scenario),
                     "salt": "0x" + new_community_salt().hex(), "offset": _offset(chain, starts[0]),
                     "manifest": community.manifest}
            state_path.write_text(json.dumps(state) + "\n")
    salt = bytes.fromhex(state["salt"][2:])
    offset = int(state["offset"])
    registry, token, operation = community.registry, community.token, community.operation
    deployed_block = min(c["blockNumber"] for c in community.manifest["contracts"].values())

    def key(kind: str, name: str):
        return Account.from_key(keccak(salt + f"{kind}:{name}".encode()))

    people: list[SimParticipant] = []
    for p in profiles.participants:
        if p.role == "producer":
            capacity = p.pv_w
        else:
            capacity = max(HOUSEHOLD_CAPACITY_W, p.pv_w)
        people.append(SimParticipant(p.name, p.role, p.energy_poor, key("account", p.name).address,
                                     meter_id(salt, f"sim-{p.name}"), key("meter", p.name), capacity, p))
    by_account = {p.account: p for p in people}
    by_hex = {p.hex: p for p in people}

    # ---------------------------------------------------------------- participants and meters
    task = progress.add_task("registering participants", total=len(people))
    with meter.phase("setup: accounts and registration", "register participants and meters"):
        _unlock(chain, [key("account", p.name) for p in people])
        for p in people:
            if not registry.functions.isParticipant(p.account).call():
                community.transact(registry.functions.registerParticipant(p.account))
            try:
                registry.functions.meterState(p.meter_id).call()
                resumed["meters"] += 1
            except Exception:  # noqa: BLE001 - unknown meter: register it
                kind = MeterKind.parse(p.role)
                community.transact(registry.functions.registerMeter(
                    p.meter_id, p.meter_key.address, p.account, int(kind), p.capacity_w,
                    SOLAR if kind == MeterKind.PRODUCER else GRID, int(starts[0] + offset - DAY)))
            progress.advance(task)
        first_interval = (starts[0] + offset) // seconds
        join(community, [p.meter_id for p in people], first_interval)
    if scenario.market.enabled:
        with meter.phase("setup: accounts and registration", "market setup (test euros, approvals)"):
            for p in people:
                if p.role != "producer" and community.payment.functions.balanceOf(p.account).call() == 0 \
                        and community.market.functions.claimable(p.account).call() == 0:
                    community.transact(community.payment.functions.faucet(TEST_EUROS), p.account)
                    community.transact(community.payment.functions.approve(community.market.address, MAX_UINT),
                                       p.account)
                if p.role != "consumer" and not token.functions.isApprovedForAll(
                        p.account, community.market.address).call():
                    community.transact(token.functions.setApprovalForAll(community.market.address, True), p.account)

    # ---------------------------------------------------------------- the engine, every interval
    with meter.phase("allocation engine"):
        engine_key = _engine_key(scenario, people)
        engine: list[_Shared] = []
        for i in range(n):
            production = {p.hex: p.profile.export_wh[i] for p in people}
            consumption = {p.hex: p.profile.import_wh[i] for p in people}
            received = engine_key.allocate(production, consumption).shares
            # producers give the total pro rata of their export, in member order (as the contract)
            given = split_pro_rata(sum(received.values()), list(production.values()))
            engine.append(_Shared(production, consumption, received, dict(zip(production, given))))

    # ---------------------------------------------------------------- day by day
    days = _days(profiles)
    supplied = scenario.allocation.deployment_key == "supplied"
    mismatches: list[str] = []
    checks: dict[str, int] = defaultdict(int)
    chain_rows: dict[tuple[str, int], tuple[int, int, int, int]] = {}  # (name, i) -> prod, autoprod, cons, autocons
    sign_task = progress.add_task("meters signing readings", total=n * len(people))
    share_task = progress.add_task("verifying and sharing", total=n)
    market_task = progress.add_task("market orders", total=None if scenario.market.enabled else 0)
    registers: dict[str, tuple[int, int]] = {p.name: (1_000_000, 1_000_000) for p in people}
    orders: dict[int, tuple[str, EngineSide, int, int, int]] = {}  # chain id -> owner, side, price, qty, index
    traded_intervals: list[int] = []
    placed_before: set[int] = set()
    escrowed: dict[tuple[str, int], int] = defaultdict(int)
    if found is not None:
        for e in community.market.events.OrderPlaced().get_logs(from_block=deployed_block):
            placed_before.add(e.args.intervalId)
            if e.args.side == 1:
                escrowed[(e.args.owner, e.args.intervalId)] += e.args.quantityWh
    for day in days:
        first, last = day[0], day[-1]
        day_starts = [starts[i] + offset for i in day]
        day_end = day_starts[-1] + seconds
        last_id = (day_end - seconds) // seconds
        with meter.phase("signing"):
            done = operation.functions.lastAllocated().call() >= last_id
            signed = []
            for p in people:
                imports = [p.profile.import_wh[i] for i in day]
                exports = [p.profile.export_wh[i] for i in day]
                imp0, exp0 = registers[p.name]
                registers[p.name] = (imp0 + sum(imports), exp0 + sum(exports))
                if done:
                    continue
                for r in series_to_readings(p.meter_id, day_starts, imports, exports,
                                            import_register_wh=imp0, export_register_wh=exp0):
                    signed.append(r.sign(p.meter_key, chain.chain_id, registry.address))
            progress.advance(sign_task, len(day) * len(people))
        with meter.phase("verify and share (relaying)", "verify and share (submitAndAllocate)"):
            _travel(chain, day_end + 1)
            if done:
                resumed["days already shared"] += 1
                progress.advance(share_task, len(day))
            else:
                report = allocate(community, signed, key=engine_key if supplied else None,
                                  intervals_per_transaction=2 if len(people) > 30 else 4,
                                  on_progress=lambda k: progress.advance(share_task, k))
                if report.incomplete is not None:
                    raise GridshareError(f"the operation stopped at interval {report.incomplete[0]}: a reading "
                                         f"is missing for meter 0x{report.incomplete[1].hex()}")
        # the day's R15 quantities, before any trade moves tokens: from the chain's events
        with meter.phase("reading back and checking"):
            index = {s + offset: i for i, s in enumerate(starts)}
            got: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for q in chain_quantities(community, day_starts[0], day_end):
                if q.account in by_account:
                    # a rerun finds the asks placed since: their escrow moved tokens to the market
                    autoprod = q.autoprod - escrowed.get((q.account, q.interval_start // seconds), 0)
                    got[(by_account[q.account].name, index[q.interval_start])] = [q.prod, autoprod, q.cons,
                                                                                   q.autocons]
            for i in day:
                a = engine[i]
                for p in people:
                    expect = [a.production[p.hex], a.given(p.hex), a.consumption[p.hex], a.received(p.hex)]
                    actual = got.get((p.name, i), [0, 0, 0, 0])
                    chain_rows[(p.name, i)] = tuple(actual)
                    checks["interval quantities"] += 1
                    if actual != expect:
                        mismatches.append(f"{p.name} {_local(starts[i], tz)}: chain {actual}, engine {expect}")
            # and the contract's own view of one interval (SelfConsumption.quantities)
            mid = day[len(day) // 2]
            for p in people:
                q = operation.functions.quantities(p.account, (starts[mid] + offset) // seconds).call()
                a = engine[mid]
                checks["SelfConsumption.quantities"] += 1
                expect = (a.production[p.hex], a.given(p.hex), a.producer_surplus(p.hex), a.consumption[p.hex],
                          a.received(p.hex), a.complement(p.hex))
                if tuple(q) != expect and (starts[mid] + offset) // seconds not in placed_before:
                    mismatches.append(f"{p.name} {_local(starts[mid], tz)}: quantities() {tuple(q)}, engine {expect}")

        # ------------------------------------------------------------ the market
        if not scenario.market.enabled:
            continue
        with meter.phase("market: orders", "market: orders"):
            rng = random.Random(f"{seed}:{first}")
            tradable = []
            for i in day:
                a = engine[i]
                surplus = sum(a.producer_surplus(p.hex) for p in people)
                need = sum(a.complement(p.hex) for p in people)
                if surplus > 0 and need > 0:
                    tradable.append(i)
            for i in _sample(tradable, market_intervals):
                iid = (starts[i] + offset) // seconds
                traded_intervals.append(iid)
                if iid in placed_before:
                    resumed["market intervals already traded"] += 1
                    continue
                a = engine[i]
                surpluses = {p.name: a.producer_surplus(p.hex) for p in people if p.role != "consumer"}
                needs = {p.name: a.complement(p.hex) for p in people if p.role != "producer"}
                side_book: dict[EngineSide, list[Order]] = {EngineSide.BID: [], EngineSide.ASK: []}
                for intent in orders_for_interval(rng, surpluses, needs, rules):
                    owner = next(p for p in people if p.name == intent.owner)
                    side = chain_market.Side.BID if intent.side is EngineSide.BID else chain_market.Side.ASK
                    after = chain_market.hint(side_book[intent.side], side, intent.price)  # type: ignore[arg-type]
                    if side == chain_market.Side.BID:
                        call = community.market.functions.placeBid(iid, intent.price, intent.quantity, after)
                    else:
                        call = community.market.functions.placeAsk(iid, intent.price, intent.quantity,
                                                                   int(chain_market.Backing.ENERGY), after)
                    receipt = community.transact(call, owner.account)
                    [event] = community.market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
                    oid = event.args.orderId
                    orders[oid] = (owner.name, intent.side, intent.price, intent.quantity, i)
                    # the book's resting orders, for the next hints (a stale hint only costs gas)
                    side_book[intent.side].append(Order(oid, owner.name, intent.side, intent.price, intent.quantity))
                    side_book[intent.side].sort(key=lambda o: (-o.price, o.id) if o.side is EngineSide.BID
                                                else (o.price, o.id))
                    progress.advance(market_task)

    # ---------------------------------------------------------------- close the market, claims
    period_end = starts[-1] + seconds + offset
    trades: list[dict] = []
    if scenario.market.enabled and traded_intervals:
        with meter.phase("market: closing and claims", "market: close intervals"):
            _travel(chain, period_end + gate_delay + 1)
            task = progress.add_task("closing market intervals", total=len(traded_intervals))
            for iid in traded_intervals:
                chain_market.close_interval(community, iid, chain.sender, sellers=[])
                progress.advance(task)
        with meter.phase("market: closing and claims", "market: claims"):
            m = community.market.functions
            for p in people:
                money = m.claimable(p.account).call()
                energy = [iid for iid in traded_intervals if m.claimableEnergy(p.account, iid).call()]
                if money and p.role == "producer":  # households keep their refunds for later bids
                    community.transact(m.withdraw(), p.account)
                if energy:
                    community.transact(m.claimEnergy(energy), p.account)
        with meter.phase("market: checking"):
            orders = _orders_from_chain(community, deployed_block, by_account, starts, offset, seconds) or orders
            trades, market_mismatches = _check_trades(community, deployed_block, orders, rules,
                                                      scenario.market.design, starts, offset, seconds, tz)
            mismatches += market_mismatches
            checks["market intervals"] += len(set(traded_intervals))

    # ---------------------------------------------------------------- guarantees of origin
    with meter.phase("guarantees of origin", "guarantees: closing reading, request and approve"):
        certificates = _certify(community, people, profiles, offset, progress)
    with meter.phase("guarantees of origin", "guarantees: claims for households"):
        claimed = _claim_for_households(community, people, certificates, chain_rows, starts, offset, seconds)

    # ---------------------------------------------------------------- reports
    result = SimulationResult(scenario, out, offset, n, [], [], trades, [], dict(meter.times), certificates,
                              dict(checks), mismatches, resumed=dict(resumed))
    with meter.phase("reports: CSV and HTML"):
        result.rows = _interval_rows(people, starts, chain_rows, tz)
        result.participants = _participant_rows(people, chain_rows, trades, certificates, claimed, prices, n)
    result.orders = [{"order_id": oid, "interval_start": _local(starts[i], tz), "interval_id": (starts[i] + offset) // seconds,
                      "owner": owner, "side": side.value, "price_eur_per_kwh": price / 1e6, "quantity_wh": qty}
                     for oid, (owner, side, price, qty, i) in sorted(orders.items())]
    result.gas = [{"operation": op, "transactions": t, "total_gas": g, "gas_per_interval": round(g / n)}
                  for op, (t, g) in meter.gas.items()]
    task = progress.add_task("writing reports", total=1)
    result.files = _write(result, meter, plots)
    progress.advance(task)
    if mismatches:
        raise GridshareError(f"the chain and the engines disagree in {len(mismatches)} places (first: "
                             f"{mismatches[0]}); see {result.files['html']}")
    return result


def _orders_from_chain(community, from_block, by_account, starts, offset, seconds) -> dict:
    """Every order of the market (a rerun places only some of them itself)."""
    index = {(s + offset) // seconds: i for i, s in enumerate(starts)}
    out = {}
    for e in community.market.events.OrderPlaced().get_logs(from_block=from_block):
        a = e.args
        owner = by_account.get(a.owner)
        if owner is None or a.intervalId not in index:
            continue
        side = EngineSide.BID if a.side == 0 else EngineSide.ASK
        out[a.orderId] = (owner.name, side, a.price, a.quantityWh, index[a.intervalId])
    return out


def _check_trades(community, from_block, orders, rules, design, starts, offset, seconds, tz):
    """The chain's trades, as rows, and where they differ from the matching engine on the same orders."""
    chain_trades = chain_market.trades(community, None, from_block)
    by_interval: dict[int, list] = defaultdict(list)
    for t in chain_trades:
        by_interval[t.interval_id].append(t)
    per_interval: dict[int, list[Order]] = defaultdict(list)
    for oid in sorted(orders):
        owner, side, price, qty, i = orders[oid]
        per_interval[i].append(Order(oid, owner, side, price, qty))
    mismatches = []
    rows = []
    for i, placed in sorted(per_interval.items()):
        iid = (starts[i] + offset) // seconds
        if design == "continuous":
            book = ContinuousBook(rules.feed_in, rules.retail, rules.grid_fee)
            fills = [f for o in placed for f in book.place(o)]
        else:
            fills = clear_uniform([o for o in placed if o.side is EngineSide.BID],
                                  [o for o in placed if o.side is EngineSide.ASK], rules.grid_fee).fills
        expect = sorted((f.bid_id, f.ask_id, f.quantity_wh, f.price) for f in fills)
        actual = sorted((t.bid_id, t.ask_id, t.quantity_wh, t.price) for t in by_interval.get(iid, []))
        if expect != actual:
            mismatches.append(f"market {_local(starts[i], tz)}: chain trades {actual}, engine {expect}")
        for bid, ask, qty, price in actual:
            fee = qty * rules.grid_fee // 1000
            payment = qty * price // 1000
            rows.append({"interval_start": _local(starts[i], tz), "interval_id": iid, "bid_id": bid, "ask_id": ask,
                         "buyer": orders[bid][0], "seller": orders[ask][0], "quantity_wh": qty,
                         "price_eur_per_kwh": price / 1e6, "paid_eur": payment / 1e6,
                         "grid_fee_eur": fee / 1e6, "seller_received_eur": (payment - fee) / 1e6})
    return rows, mismatches


def _certify(community: Community, people: list[SimParticipant], profiles: CommunityProfiles, offset: int,
             progress) -> list[dict]:
    """Certificates of every producer for the whole UTC days its readings cover; requested and
    approved (already requested days are skipped: a rerun adds nothing)."""
    g, registry = community.guarantees.functions, community.registry
    seconds = profiles.interval_seconds
    start, end = profiles.starts[0] + offset, profiles.starts[-1] + seconds + offset
    from_day = start // DAY
    decl = Declaration(country=COUNTRY).as_call_arg()
    producers = [p for p in people if p.role != "consumer" and sum(p.profile.export_wh)]
    task = progress.add_task("guarantees of origin", total=len(producers))
    for p in producers:
        to_day = end // DAY
        if end % DAY and p.role == "producer":
            # the plant's closing reading at the next UTC midnight (a night: what its model produces)
            closing = -(-end // DAY) * DAY
            site = profiles.scenario.location.site
            plant = profiles.scenario.plant
            wh = pv_export_wh(p.profile.pv_w, [closing - offset], seconds, site, plant.tilt,
                              plant.azimuth)[0] if plant else 0
            state = registry.functions.meterState(p.meter_id).call()
            if state[0] <= closing:
                reading = MeterReading(p.meter_id, closing, 0, int(wh), state[1], state[2] + int(wh))
                relay(community, [reading.sign(p.meter_key, community.chain.chain_id, registry.address)])
            to_day = closing // DAY
        if to_day > from_day:
            call = g.requestCertification(p.meter_id, from_day, to_day, decl)
            if community.simulate(call) is None:
                community.transact(call, simulated=True)
        progress.advance(task)
    count = g.certificateCount().call()
    views = [(cid, g.certificate(cid).call()) for cid in range(1, count + 1)]
    pending = [cid for cid, c in views if Status(c[6]) == Status.PENDING]
    if pending:
        community.transact(g.approve(pending))
    by_meter = {p.meter_id: p for p in people}
    out = []
    for cid in range(1, count + 1):
        c = g.certificate(cid).call()
        owner = by_meter.get(bytes(c[0]))
        if owner is None:
            continue
        out.append({"id": cid, "producer": owner.name, "account": owner.account, "amount_wh": c[1],
                    "from": c[2], "to": c[3], "status": Status(c[6]).name.lower()})
    return out


def _claim_for_households(community, people, certificates, chain_rows, starts, offset, seconds) -> dict[str, int]:
    """The plant's owner claims its certificates for the households, pro rata of the local energy
    each received (AUTOCONS); a certificate already claimed from is left alone. Returns Wh claimed
    per beneficiary (from the chain's events, so a rerun reports the same)."""
    g = community.guarantees
    households = [p for p in people if p.role != "producer"]
    autocons = {p.name: sum(chain_rows.get((p.name, i), (0, 0, 0, 0))[3] for i in range(len(starts)))
                for p in households}
    total = sum(autocons.values())
    start, end = starts[0] + offset, starts[-1] + seconds + offset
    for cert in certificates:
        owner = next(p for p in people if p.name == cert["producer"])
        if owner.role != "producer" or cert["status"] != "issued" or not total:
            continue
        if g.functions.claimedBalance(owner.account, cert["id"]).call():
            continue
        held = g.functions.balanceOf(owner.account, cert["id"]).call()
        for h in households:
            amount = held * autocons[h.name] // total
            if amount:
                community.transact(g.functions.claim(owner.account, cert["id"], amount, beneficiary_id(h.name),
                                                     start, end, COUNTRY.encode()), owner.account)
    claimed: dict[str, int] = defaultdict(int)
    first = min(c["blockNumber"] for c in community.manifest["contracts"].values())
    names = {beneficiary_id(p.name): p.name for p in people}
    for e in g.events.Claimed().get_logs(from_block=first):
        name = names.get(bytes(e.args.beneficiary))
        if name:
            claimed[name] += e.args.amountWh
    return dict(claimed)


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------


def _interval_rows(people, starts, chain_rows, tz) -> list[dict]:
    rows = []
    for i, s in enumerate(starts):
        for p in people:
            prod, autoprod, cons, autocons = chain_rows[(p.name, i)]
            rows.append({"interval_start": _local(s, tz), "unix": s, "participant": p.name, "role": p.role,
                         "PROD": prod, "AUTOPROD": autoprod, "SURPLUS": prod - autoprod,
                         "CONS": cons, "AUTOCONS": autocons, "COMPLEMENT": cons - autocons})
    return rows


def _participant_rows(people, chain_rows, trades, certificates, claimed, prices, n) -> list[dict]:
    rows = []
    for p in people:
        prod = sum(chain_rows[(p.name, i)][0] for i in range(n))
        autoprod = sum(chain_rows[(p.name, i)][1] for i in range(n))
        cons = sum(chain_rows[(p.name, i)][2] for i in range(n))
        autocons = sum(chain_rows[(p.name, i)][3] for i in range(n))
        bought = sum(t["quantity_wh"] for t in trades if t["buyer"] == p.name)
        sold = sum(t["quantity_wh"] for t in trades if t["seller"] == p.name)
        paid = sum(t["paid_eur"] for t in trades if t["buyer"] == p.name)
        earned = sum(t["seller_received_eur"] for t in trades if t["seller"] == p.name)
        pv = sum(p.profile.pv_wh)
        certified = sum(c["amount_wh"] for c in certificates if c["producer"] == p.name)
        supplier = cons - autocons - bought
        grid = prod - autoprod - sold
        rows.append({
            "participant": p.name, "role": p.role, "energy_poor": p.energy_poor, "account": p.account,
            "meter_id": p.hex,
            "pv_kwh": pv / 1000, "self_consumed_behind_meter_kwh": (pv - prod) / 1000,
            "exported_kwh": prod / 1000, "given_locally_kwh": autoprod / 1000,
            "imported_kwh": cons / 1000, "received_locally_kwh": autocons / 1000,
            "bought_market_kwh": bought / 1000, "sold_market_kwh": sold / 1000,
            "from_supplier_kwh": supplier / 1000, "to_grid_kwh": grid / 1000,
            "paid_market_eur": round(paid, 6), "earned_market_eur": round(earned, 6),
            "supplier_cost_eur": round(supplier * prices.retail / 1e9, 6),
            "feed_in_revenue_eur": round(grid * prices.feed_in / 1e9, 6),
            "certified_kwh": certified / 1000, "certificates_claimed_for_it_kwh": claimed.get(p.name, 0) / 1000,
        })
    return rows


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------


def _csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header or (list(rows[0]) if rows else ["empty"]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write(result: SimulationResult, meter: _Meter, plots: bool) -> dict[str, Path]:
    out = result.out_dir
    files = {
        "intervals": _csv(out / "intervals.csv", result.rows),
        "participants": _csv(out / "participants.csv", result.participants),
        "trades": _csv(out / "trades.csv", result.trades, None if result.trades else
                       ["interval_start", "interval_id", "bid_id", "ask_id", "buyer", "seller", "quantity_wh",
                        "price_eur_per_kwh", "paid_eur", "grid_fee_eur", "seller_received_eur"]),
        "orders": _csv(out / "orders.csv", result.orders, ["order_id", "interval_start", "interval_id", "owner", "side",
                                                           "price_eur_per_kwh", "quantity_wh"]),
        "gas": _csv(out / "gas.csv", result.gas, ["operation", "transactions", "total_gas", "gas_per_interval"]),
        "certificates": _csv(out / "certificates.csv", result.certificates,
                             ["id", "producer", "account", "amount_wh", "from", "to", "status"]),
    }
    if plots:
        t0 = time.perf_counter()
        files.update(_plots(result))
        meter.times["reports: plots"] += time.perf_counter() - t0
    result.timings = dict(meter.times)
    files["timings"] = _csv(out / "timings.csv", [{"phase": k, "seconds": round(v, 3)}
                                                  for k, v in result.timings.items()], ["phase", "seconds"])
    files["html"] = _html(result, files)
    return files


def _plots(result: SimulationResult) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    tz = ZoneInfo(result.scenario.location.timezone)
    out = result.out_dir
    files = {}
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in result.rows:
        cell = per[r["unix"]]
        cell[0] += r["PROD"]
        cell[1] += r["CONS"]
        cell[2] += r["AUTOCONS"]
    seconds = result.scenario.period.interval_seconds
    times = [datetime.fromtimestamp(s, tz) for s in sorted(per)]
    kw = 3600 / seconds / 1000  # Wh per interval -> kW

    fig, ax = plt.subplots(figsize=(11, 4))
    ax.fill_between(times, [per[s][1] * kw for s in sorted(per)], step="post", color="#b0bec5",
                    label="community load (grid import)")
    ax.fill_between(times, [per[s][2] * kw for s in sorted(per)], step="post", color="#2e7d32",
                    label="shared locally")
    ax.step(times, [per[s][0] * kw for s in sorted(per)], where="post", color="#ef6c00",
            label="production (export)")
    ax.set_ylabel("kW")
    ax.set_title(f"{result.scenario.name}: load, production and local share")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    files["community_png"] = out / "community.png"
    fig.savefig(files["community_png"], dpi=110)
    plt.close(fig)

    households = [r for r in result.participants if r["role"] != "producer"]
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(households) + 3), 4))
    names = [r["participant"].removeprefix("household-") for r in households]
    local = [r["received_locally_kwh"] for r in households]
    bought = [r["bought_market_kwh"] for r in households]
    supplier = [r["from_supplier_kwh"] for r in households]
    ax.bar(names, local, color="#2e7d32", label="shared locally")
    ax.bar(names, bought, bottom=local, color="#1565c0", label="bought in the market")
    ax.bar(names, supplier, bottom=[a + b for a, b in zip(local, bought)], color="#b0bec5", label="supplier")
    ax.set_ylabel("kWh")
    ax.set_xlabel("household")
    ax.set_title("Where each household's grid import came from")
    ax.tick_params(axis="x", labelsize=7, rotation=90 if len(names) > 20 else 0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    files["households_png"] = out / "households.png"
    fig.savefig(files["households_png"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 3.5))
    prices = result.scenario.prices
    if result.trades:
        by_time = defaultdict(list)
        for t in result.trades:
            by_time[t["interval_start"]].append((t["price_eur_per_kwh"], t["quantity_wh"]))
        xs = [datetime.strptime(k, "%Y-%m-%d %H:%M").replace(tzinfo=tz) for k in by_time]
        avg = [sum(p * q for p, q in v) / sum(q for _, q in v) for v in by_time.values()]
        ax.plot(xs, avg, "o", color="#1565c0", label="trade price (quantity-weighted)")
    ax.axhline(prices.retail / 1e6, color="#c62828", ls="--", lw=1, label="retail")
    ax.axhline(prices.feed_in / 1e6, color="#ef6c00", ls="--", lw=1, label="feed-in")
    ax.set_ylabel("EUR/kWh")
    ax.set_title("Market prices" + ("" if result.trades else " (no trade)"))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    files["prices_png"] = out / "prices.png"
    fig.savefig(files["prices_png"], dpi=110)
    plt.close(fig)
    return files


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p>none</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(v):
        if isinstance(v, float):
            return f"{v:,.3f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return html.escape(str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(result: SimulationResult, files: dict[str, Path]) -> Path:
    s = result.scenario
    parts = result.participants
    produced = sum(r["exported_kwh"] for r in parts)
    consumed = sum(r["imported_kwh"] for r in parts)
    local = sum(r["received_locally_kwh"] for r in parts)
    traded = sum(r["bought_market_kwh"] for r in parts)
    summary = [
        {"figure": "participants", "value": len(parts)},
        {"figure": "intervals", "value": result.intervals},
        {"figure": "production exported to the grid (kWh)", "value": round(produced, 3)},
        {"figure": "consumption imported from the grid (kWh)", "value": round(consumed, 3)},
        {"figure": "shared locally (kWh)", "value": round(local, 3)},
        {"figure": "self-consumption rate", "value": f"{local / produced:.1%}" if produced else "-"},
        {"figure": "local coverage rate", "value": f"{local / consumed:.1%}" if consumed else "-"},
        {"figure": "traded in the market (kWh)", "value": round(traded, 3)},
        {"figure": "trades", "value": len(result.trades)},
        {"figure": "certificates (GO)", "value": len(result.certificates)},
        {"figure": "checks against the engines",
         "value": ", ".join(f"{k}: {v}" for k, v in result.checks.items()) + f"; {len(result.mismatches)} differ"},
    ]
    if result.offset_seconds:
        summary.append({"figure": "on-chain time shift",
                        "value": f"{result.offset_seconds // WEEK} weeks (the chain's clock was past the period)"})
    images = []
    for key, caption in (("community_png", "Community load, production and local share"),
                         ("households_png", "Per household"), ("prices_png", "Market prices")):
        if key in files:
            data = base64.b64encode(files[key].read_bytes()).decode()
            images.append(f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                          f"<figcaption>{caption} ({files[key].name})</figcaption></figure>")
    columns = ["participant", "role", "energy_poor", "pv_kwh", "exported_kwh", "given_locally_kwh", "imported_kwh",
               "received_locally_kwh", "bought_market_kwh", "sold_market_kwh", "from_supplier_kwh", "to_grid_kwh",
               "paid_market_eur", "earned_market_eur", "certified_kwh", "certificates_claimed_for_it_kwh"]
    timings = [{"phase": k, "seconds": round(v, 2)} for k, v in result.timings.items()]
    mismatch = ("<p class=ok>The chain's quantities and trades equal the pure engines' on the same inputs.</p>"
                if not result.mismatches else "<p class=bad>Differences: " +
                "<br>".join(html.escape(m) for m in result.mismatches[:20]) + "</p>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(s.name)} - gridshare simulation</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}}
table{{border-collapse:collapse;font-size:12px;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:2px 6px;
text-align:right}}th{{background:#eee}}td:first-child{{text-align:left}}img{{max-width:100%}}
.ok{{color:#2e7d32}}.bad{{color:#c62828}}</style></head><body>
<h1>{html.escape(s.name)}</h1>
<p>{s.period.start} + {s.period.days} day(s), {s.period.interval_minutes}-minute intervals, {html.escape(s.location.timezone)};
allocation key <b>{html.escape(s.allocation.key)}</b>; market <b>{html.escape(s.market.design)}</b>
({'enabled' if s.market.enabled else 'disabled'}); retail {s.prices.retail / 1e6:.3f}, feed-in
{s.prices.feed_in / 1e6:.3f}, grid fee {s.prices.grid_fee / 1e6:.3f} EUR/kWh.</p>
{_table(summary)}
{mismatch}
{''.join(images)}
<h2>Participants</h2>
{_table(parts, columns)}
<h2>Guarantees of origin</h2>
{_table(result.certificates)}
<h2>Gas per operation</h2>
{_table(result.gas)}
<h2>Wall time per phase</h2>
{_table(timings)}
<p>Files: {', '.join(html.escape(p.name) for p in files.values())}, report.html.</p>
</body></html>
"""
    path = result.out_dir / "report.html"
    path.write_text(page)
    return path
