"""An invariant campaign (issue #12): random sequences of everything a community does, on a real
anvil node, with the ledger checked after every step from on-chain state and events.

A hypothesis ``RuleBasedStateMachine`` drives one deployed community (``deploy`` on a fresh
``start_anvil`` node, reached over its IPC socket): producer ``P1`` and prosumer ``P2`` and
consumers ``C1``, ``C2`` are members of the SelfConsumption operation; producer ``P3`` and consumer
``C3`` are not; ``T`` is a participant without a meter; one meter per account, so one exporting
meter. Each UTC day's energy is in its last four intervals, so a day is final (certifiable) once
they are verified; orders close a day after their interval. Every example starts from the same
anvil snapshot (``evm_snapshot`` / ``evm_revert``).

The machine has one rule, ``step``, which draws an action among those that can run (one rule per
action would let hypothesis' swarm testing leave actions out of whole runs). Each action is one
*call*: it sends a transaction or a view; a refusal is counted by its custom error and the
campaign goes on. Actions: verify a non-member's next run; relay the members' runs through
``operation.allocate`` (verified and shared at once); transfer crypto-kWh (single or batch, also to
the market or a non-participant: refused); redeem / redeemBatch against import (time-matched
claims); ``market.place`` asks (backed by energy or collateral) and bids, ``market.cancel``,
expire, clear (auction), settle forward sales, ``market.claim``, deposit; request / approve /
reject certificates, transfer and claim them; move the clock; and attacks the chain must refuse
(a violation if it does not): a rogue allocator (``contracts/test/TestAllocator.sol`` granted
``ALLOCATOR_ROLE``) settling the market's escrow or anybody's crypto-kWh, a member's run relayed
past its operation, a verified run replayed, a second exporting meter for an account.

Invariants, after every step (``Ledger`` keeps what the events of every receipt say; one
``eth_call`` to ``contracts/test/TestMulticall.sol`` reads the state):

- per interval id: sum of balances (every account, the market too) + sum of redeemed (received
  locally + claimed) + certified (the token's burns whose operator is GuaranteeOfOrigin) = sum of
  minted (verified export); minted = the registry's mint events;
- per account and interval: balance = minted - shared - certified - claimed + in - out (for a
  producer: shared + net outflow + certified + balance + its own claims = minted), where shared =
  its SettledLocally given = the operation's burns, claimed = its redeem burns, received locally =
  its SettledLocally received; received + claimed <= verified import; certified <= minted; and
  **shared + certified <= minted**;
- provenance (one Wh, one claim per meter): the ledger attributes every Wh held to its holder's
  own production or to what it acquired, independently of the token's lanes (what leaves by
  transfer or claim is taken from the acquired first; an ask's escrow from the own first, its fills
  from the escrow's acquired first, its refund returned as it left); sharing and certificates may
  only take own production: a certificate burning more than its owner's own production left is a
  violation (the hole where crypto-kWh received after sharing were certified as one's own);
- every SettledLocally entry that moves energy is an account whose readings of that interval the
  operation verified in the same transaction (ReadingsVerified of its member meter in a
  transaction to the operation), giving at most its export and receiving at most its import;
- the market holds exactly what it owes: per interval, its crypto-kWh = open energy-backed asks'
  remaining + the order owners' claimableEnergy; its payment tokens = everybody's claimable + open
  bids' remaining x price + open collateral asks' remaining x retail + unsettled forward sales x
  retail;
- certificates: each issued amount = the crypto-kWh its approval burned, of its owner, within its
  period, at most the requested amount; a rejected request burned nothing; per certificate,
  holders' balances + claimed = amount;
- R15: a member's ``quantities`` = (minted, shared, minted - shared, import, received, import -
  received) from the SettledLocally events (checked once after each settlement, all again at the
  end of an example: they change only then);
- the ledger saw every transaction: no log of the token, certificates or market on the chain from
  a transaction it did not record.

Run (with the environment of the README: the venv, node_modules/.bin and SOLCX_BINARY_PATH)::

    pytest -q tests/test_invariants.py                   # the CI campaign: >= 10,000 calls, ~3 min
    INVARIANT_EXAMPLES=1000 pytest -q tests/test_invariants.py     # longer
    INVARIANT_MARKET=auction pytest -q tests/test_invariants.py    # the call-auction market
    PLANT_BUG=settle pytest -q tests/test_invariants.py -k campaign  # the planted-bug check

``INVARIANT_EXAMPLES`` (default 130) and ``INVARIANT_STEPS`` (default 100, the most steps per
example) size the campaign; the default size asserts that at least 10,000 calls ran, and the count
is printed (calls, transactions through, refusals by error, per action). A failing example is
printed as hypothesis found it (its draws, the violation) and saved in ``.hypothesis/``, replayed
first next time; ``INVARIANT_SHRINK=1`` shrinks it first (minutes: every attempt replays on the
chain). ``INVARIANT_CONTRACTS=DIR`` runs the campaign against the contracts of another tree
(``DIR/contracts``, e.g. a candidate fix in a scratch copy; ``DIR/node_modules`` needed).

Planted bugs: ``PLANT_BUG=NAME`` copies ``contracts/`` (of ``INVARIANT_CONTRACTS`` if set) to
``build/invariants/NAME/``, changes one line, compiles it there (cached), deploys it, and expects
the campaign to fail with the violation that bug causes, which it prints; the test fails if the
campaign does not catch it:

- ``settle``: ``EnergyToken.settleLocal`` skips its settleable check (``refusedHere`` reads every
  account as verified by the caller for every interval): the rogue allocator, always refused by
  the real token, then settles the market's escrow or anybody's crypto-kWh;
- ``certify``: ``EnergyToken.certify`` ignores what the account acquired (``take = take > others ?
  take - others : 0;`` deleted): crypto-kWh bought from others are certified as one's own
  production.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from web3 import Web3
from web3.types import RPCEndpoint

from gridshare.chain import deployment as deployment_module
from gridshare.chain import market
from gridshare.chain.compiler import compile_contracts, project_root
from gridshare.chain.deployment import ALLOCATOR_ROLE, ContractReverted, deploy
from gridshare.chain.network import Chain, start_anvil
from gridshare.chain.operation import allocate, join
from gridshare.protocol.guarantees import Declaration, Status
from gridshare.protocol.market import Backing, Side
from gridshare.protocol.meters import MeterKind, meter_id, new_meter_key
from gridshare.protocol.readings import MeterReadings, SignedReadings, unpack_energy
from gridshare.protocol.settlement import Entry, decode_entries
from gridshare.protocol.settlement import encode as encode_settlement

pytestmark = pytest.mark.anvil

# --- the campaign's size and world -----------------------------------------------------------------

EXAMPLES = int(os.environ.get("INVARIANT_EXAMPLES", "130"))
STEPS = int(os.environ.get("INVARIANT_STEPS", "100"))
MIN_CALLS = 10_000  # asserted for the default (CI) size
PLANT = os.environ.get("PLANT_BUG", "")
OTHER_TREE = os.environ.get("INVARIANT_CONTRACTS", "")
SHRINK = os.environ.get("INVARIANT_SHRINK", "") not in ("", "0")
DESIGN = os.environ.get("INVARIANT_MARKET", "continuous")  # or "auction"

DAY = 86_400
SECONDS = 900
PER_DAY = DAY // SECONDS
WINDOW = 4  # a day's energy: its last intervals, so that the day is final once they are verified
DAYS = 5  # days of readings an example may reach
CAPACITY_W = 10_000  # 2,500 Wh an interval
GATE_CLOSURE_DELAY = DAY
SALT = bytes.fromhex("5a" * 32)
SOLAR = b"solar-pv".ljust(32, b"\0")
DECL = Declaration().as_call_arg()
ZERO = "0x" + "00" * 20
MAX_UINT = 2**256 - 1
PRICES = (40_000, 41_000, 100_000, 150_000, 200_000, 242_000, 252_000)
BAD_PRICES = (39_000, 253_000, 100_500)  # outside the band, off the tick
ENERGY = st.one_of(st.sampled_from([0, 1, 100, 400, 1000, 2500]), st.integers(0, 2500))

PRODUCERS = ("P1", "P2", "P3")
CONSUMERS = ("C1", "C2", "C3")
MEMBERS = ("P1", "P2", "C1", "C2")  # in join order: the operation's member order
NON_MEMBERS = ("P3", "C3")
KINDS = {"P1": MeterKind.PRODUCER, "P2": MeterKind.PROSUMER, "P3": MeterKind.PRODUCER,
         "C1": MeterKind.CONSUMER, "C2": MeterKind.CONSUMER, "C3": MeterKind.CONSUMER}
PEOPLE = PRODUCERS + CONSUMERS + ("T",)

#: name -> (file, line, its replacement, what it breaks, what the violation it causes says)
PLANTED = {
    "settle": ("contracts/EnergyToken.sol", "let flag := tload(account)",
               "let flag := or(caller(), shl(192, 0xffffffff))", "EnergyToken.settleLocal skips its settleable check",
               ("SettledLocally moved", "the market holds", "rogue burned")),
    "certify": ("contracts/EnergyToken.sol", "take = take > others ? take - others : 0;", "",
                "EnergyToken.certify ignores what the account acquired", ("of its own production left",)),
}


def _topic(signature: str) -> bytes:
    return keccak(text=signature)


TRANSFER_SINGLE = _topic("TransferSingle(address,address,address,uint256,uint256)")
TRANSFER_BATCH = _topic("TransferBatch(address,address,address,uint256[],uint256[])")
SETTLED_LOCALLY = _topic("SettledLocally(uint256,bytes)")
READINGS_VERIFIED = _topic("ReadingsVerified(bytes32,uint64,uint64,bytes)")
CERT_REQUESTED = _topic("CertificationRequested(uint256,bytes32,address,uint64,uint64,uint64)")
CERT_ISSUED = _topic("CertificateIssued(uint256,bytes32,address,uint64,address)")
CERT_REJECTED = _topic("CertificationRejected(uint256,bytes32)")
ORDER_PLACED = _topic("OrderPlaced(uint256,uint64,address,uint8,uint8,uint256,uint256)")
ORDER_CANCELLED = _topic("OrderCancelled(uint64,uint256)")
ORDER_EXPIRED = _topic("OrderExpired(uint64,uint256)")
TRADED = _topic("Traded(uint256,uint64,uint64,uint256,uint256)")


class Violation(AssertionError):
    """An invariant of the ledger or the market does not hold."""


@dataclass
class Stats:
    """What the campaign ran, over all its examples."""

    calls: int = 0
    txs: int = 0
    steps: int = 0
    examples: int = 0
    checks: int = 0
    rules: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)

    def report(self, seconds: float) -> str:
        refused = sum(self.refusals.values())
        top = ", ".join(f"{name} {n}" for name, n in self.refusals.most_common(12))
        rules = ", ".join(f"{name} {n}" for name, n in sorted(self.rules.items()))
        return (f"invariant campaign: {self.calls:,} calls ({self.txs:,} transactions through, {refused:,} refused) "
                f"in {self.examples} examples, {self.steps:,} steps, {self.checks:,} invariant checks, "
                f"{seconds:.0f} s\n  per rule: {rules}\n  refusals: {top}")


STATS = Stats()


# --- contracts: the worktree's, another tree's, or a planted bug's ----------------------------------


def _artifacts() -> tuple[dict, str]:
    if PLANT:
        if PLANT not in PLANTED:
            raise ValueError(f"PLANT_BUG={PLANT!r}: choose one of {', '.join(PLANTED)}")
        path, old, new, what, _ = PLANTED[PLANT]
        src = project_root()
        base = Path(OTHER_TREE) if OTHER_TREE else src
        tree = src / "build" / "invariants" / PLANT
        shutil.rmtree(tree / "contracts", ignore_errors=True)
        shutil.copytree(base / "contracts", tree / "contracts")
        text = (tree / path).read_text()
        assert text.count(old) == 1, f"the planted bug's line is not exactly once in {path}: {old!r}"
        (tree / path).write_text(text.replace(old, new))
        for link, target in (("node_modules", src / "node_modules"),
                             ("gridshare/toolchain/solc", src / "gridshare" / "toolchain" / "solc")):
            if not (tree / link).exists():
                (tree / link).parent.mkdir(parents=True, exist_ok=True)
                (tree / link).symlink_to(target)
        return compile_contracts(tree), f"planted bug {PLANT!r} in the contracts of {base}: {what}"
    if OTHER_TREE:
        return compile_contracts(Path(OTHER_TREE)), f"the contracts of {OTHER_TREE}"
    return compile_contracts(), "the worktree's contracts"


def _first_day(now: int) -> int:
    """The campaign's first UTC day: tomorrow, or the next month's first day when its days would
    run past the month (certificates lie within one calendar month)."""
    day = now // DAY + 1
    first = date(1970, 1, 1) + timedelta(days=day)
    if first.day + DAYS > 28:
        day = (date(first.year + (first.month == 12), first.month % 12 + 1, 1) - date(1970, 1, 1)).days
    return day


def _anvil() -> tuple[Chain, str]:
    """A fresh anvil node from node_modules (``start_anvil``), talked to over its IPC socket:
    the same node, at a tenth of HTTP's cost per request (0.1 ms against 1 ms here)."""
    folder = tempfile.mkdtemp(prefix="gs-inv-")
    socket = os.path.join(folder, "anvil.ipc")
    node = start_anvil(extra_args=["--ipc", socket])
    deadline = time.monotonic() + 10
    while not os.path.exists(socket) and time.monotonic() < deadline:
        time.sleep(0.02)
    if not os.path.exists(socket):
        node.close()
        raise RuntimeError(f"anvil did not open its IPC socket {socket}")
    chain = Chain(Web3(Web3.IPCProvider(socket, timeout=60)), "anvil", node.sender, node._process)
    node._process = None  # closed by ``chain``
    return chain, folder


@dataclass
class Meter:
    name: str
    id: bytes
    key: object
    owner: str
    kind: MeterKind


class World:
    """The deployed community, set up once; each example starts from its snapshot."""

    def __init__(self) -> None:
        artifacts, self.variant = _artifacts()
        self.variant += f", {DESIGN} market"
        self.chain, self.folder = _anvil()
        try:
            self._set_up(artifacts)
        except BaseException:
            self.close()
            raise

    def _set_up(self, artifacts: dict) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(deployment_module, "compile_contracts", lambda *args, **kwargs: artifacts)
            self.c = deploy(self.chain, write=False, gate_closure_delay=GATE_CLOSURE_DELAY, market_design=DESIGN)
        c, w3 = self.c, self.chain.w3
        accounts = self.chain.accounts()
        self.operator = accounts[0]  # deployer: operator, issuing body (the grid fee goes to the treasury)
        self.who = dict(zip(PEOPLE, accounts[1:8]))
        self.relayer, self.outsider = accounts[8], accounts[9]
        self.name = {a: n for n, a in self.who.items()} | {self.operator: "operator", c.market.address: "market",
                                                            self.outsider: "outsider", c.treasury.address: "treasury"}
        for person in PEOPLE:
            c.transact(c.registry.functions.registerParticipant(self.who[person]))
        self.meters: dict[str, Meter] = {}
        for name, kind in KINDS.items():
            key = new_meter_key()
            mid = meter_id(SALT, key.address)
            c.transact(c.registry.functions.registerMeter(mid, key.address, self.who[name], int(kind), CAPACITY_W,
                                                          SOLAR, 1_700_000_000))
            self.meters[name] = Meter(name, mid, key, self.who[name], kind)
        self.owner_of = {m.id: m.owner for m in self.meters.values()}
        self.member_meters = {self.meters[n].id for n in MEMBERS}
        self.d0 = _first_day(w3.eth.get_block("latest")["timestamp"])
        self.start = self.d0 * DAY
        self.chain.travel(self.start)
        ends = {m.name: c.registry.functions.meterState(m.id).call()[0] for m in self.meters.values()}
        outages = [self.sign(m, MeterReadings(m.id, ends[m.name], self.start, [], [], 0, 0))
                   for m in self.meters.values() if ends[m.name] < self.start]  # (registered near midnight: none)
        if outages:
            c.transact(c.registry.functions.submitReadings([s.as_call_arg() for s in outages]), self.relayer)
        join(c, [self.meters[n].id for n in MEMBERS], self.start // SECONDS)
        for person in PEOPLE:
            a = self.who[person]
            c.transact(c.payment.functions.faucet(10_000 * 10**6), a)
            c.transact(c.payment.functions.approve(c.market.address, MAX_UINT), a)
            c.transact(c.token.functions.setApprovalForAll(c.market.address, True), a)
        self.retail_per_wh = c.market.functions.prices().call()[1] // 1000
        # the attacker: an allocator other than the operation, granted the role
        rogue = artifacts["TestAllocator"]
        receipt = c.transact(w3.eth.contract(abi=rogue.abi, bytecode=rogue.bytecode).constructor(
            c.registry.address, c.token.address))
        self.rogue = w3.eth.contract(address=receipt["contractAddress"], abi=rogue.abi)
        c.transact(c.registry.functions.grantRole(ALLOCATOR_ROLE, self.rogue.address))
        reader = artifacts["TestMulticall"]
        receipt = c.transact(w3.eth.contract(abi=reader.abi, bytecode=reader.bytecode).constructor())
        self.reader = receipt["contractAddress"]
        self.name[self.rogue.address] = "rogue"
        #: every account that may hold crypto-kWh, money or certificates
        self.accounts = [self.operator, *(self.who[p] for p in PEOPLE), c.market.address, c.treasury.address]
        self.holders = [self.who[p] for p in PEOPLE]
        self.snapshot = self._rpc("evm_snapshot")

    def _rpc(self, method: str, *params):
        answer = self.chain.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def reset(self) -> None:
        """Back to the snapshot (which anvil consumes: take it again)."""
        assert self._rpc("evm_revert", self.snapshot) is True
        self.snapshot = self._rpc("evm_snapshot")

    def sign(self, m: Meter, run: MeterReadings) -> SignedReadings:
        return run.sign(m.key, self.chain.chain_id, self.c.registry.address)

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def at(self, timestamp: int) -> None:
        if self.now() < timestamp:
            self.chain.travel(timestamp)

    def close(self) -> None:
        self.chain.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- what the events say -------------------------------------------------------------------------------


def _address(topic) -> str:
    return to_checksum_address(bytes(topic)[12:])


class Ledger:
    """The token's, the operation's, the certificates' and the market's events of one example,
    from the receipt of every transaction the campaign sends (``Community.on_receipt``)."""

    def __init__(self, world: World):
        self.w = world
        c = world.c
        self.token, self.registry = c.token.address, c.registry.address
        self.guarantees, self.market, self.operation = c.guarantees.address, c.market.address, c.operation.address
        self.minted: Counter = Counter()  # (account, interval id) -> Wh
        self.given: Counter = Counter()  # burned by the operation (sharing)
        self.certified: Counter = Counter()  # burned by the certificates
        self.claimed: Counter = Counter()  # burned by the account itself (redeem)
        self.t_in: Counter = Counter()
        self.t_out: Counter = Counter()
        self.s_given: Counter = Counter()  # SettledLocally entries
        self.s_received: Counter = Counter()
        self.ids: set[int] = set()  # interval ids with tokens or orders
        self.shared: set[tuple[str, int]] = set()  # (member account, interval id) settled
        self.orders: list[int] = []
        self.traders: set[tuple[str, int]] = set()  # (order owner, interval id)
        self.fresh: set[tuple[str, int]] = set()  # (member, interval id) shared since the last check
        self.forward: set[tuple[int, str]] = set()  # (interval id, seller) of collateral asks
        self.requested: dict[int, tuple[bytes, int, int, int]] = {}  # id -> (meter, fromDay, toDay, Wh)
        self.issued: dict[int, tuple[str, int]] = {}  # id -> (owner, Wh)
        self.burned_for: Counter = Counter()  # certificate id -> Wh its approval burned
        self.rejected: set[int] = set()
        self.violations: list[str] = []
        self.hashes: set[bytes] = set()
        # Provenance, kept here independently of the token's lanes: one attribution of every Wh an
        # account holds to its own production or to what it acquired (transfers and purchases),
        # what leaves taken from the acquired first, an ask's escrow from the own first and its
        # fills from the escrow's acquired first. Under it, sharing and certificates may only take
        # own production: the token's rule must never let them take more.
        self.own: Counter = Counter()  # (account, interval id) -> own production held
        self.acquired: Counter = Counter()
        self.escrowed: dict[int, list] = {}  # energy ask id -> [owner, interval id, own Wh, acquired Wh]
        self.escrowing: list[tuple[str, int, int, int]] = []  # escrow moves waiting for their OrderPlaced
        self.releasing: list[tuple[str, int, int]] = []  # releases waiting for their OrderCancelled/Expired
        self.market_events: set[bytes] = set()

    def bad(self, message: str) -> None:
        self.violations.append(message)

    def record(self, receipt) -> None:
        STATS.txs += 1
        self.hashes.add(bytes(receipt["transactionHash"]))
        verified: dict[tuple[str, int], tuple[int, int]] = {}  # (account, id) -> (import, export) via members
        pending: list[tuple[str, int, int]] = []  # certify burns waiting for their certificate event
        settled: list[tuple[int, list[Entry]]] = []
        operation_burns: Counter = Counter()
        self.market_events = {bytes(log["topics"][0]) for log in receipt["logs"] if log["address"] == self.market}
        for log in receipt["logs"]:
            address, topics, data = log["address"], log["topics"], bytes(log["data"])
            t0 = bytes(topics[0])
            if address == self.token:
                if t0 == SETTLED_LOCALLY:
                    (entries,) = abi_decode(["bytes"], data)
                    settled.append((int.from_bytes(bytes(topics[1]), "big"), decode_entries(entries)))
                    continue
                if t0 == TRANSFER_SINGLE:
                    ids, values = [int.from_bytes(data[:32], "big")], [int.from_bytes(data[32:64], "big")]
                elif t0 == TRANSFER_BATCH:
                    ids, values = abi_decode(["uint256[]", "uint256[]"], data)
                else:
                    continue
                operator, frm, to = (_address(t) for t in topics[1:4])
                for i, v in zip(ids, values):
                    self._move(operator, frm, to, i, v, pending, operation_burns)
            elif address == self.registry and t0 == READINGS_VERIFIED:
                meter = bytes(topics[1])
                _, first, energy = abi_decode(["uint64", "uint64", "bytes"], data)
                if meter in self.w.member_meters and receipt["to"] == self.operation:
                    for k, (imp, exp) in enumerate(unpack_energy(energy)):
                        verified[(self.w.owner_of[meter], first // SECONDS + k)] = (imp, exp)
            elif address == self.guarantees:
                cid = int.from_bytes(bytes(topics[1]), "big") if len(topics) > 1 else 0
                if t0 == CERT_REQUESTED:
                    from_day, to_day, amount = abi_decode(["uint64", "uint64", "uint64"], data)
                    self.requested[cid] = (bytes(topics[2]), from_day, to_day, amount)
                elif t0 == CERT_ISSUED:
                    owner = _address(topics[3])
                    (amount,) = abi_decode(["uint64"], data[:32])
                    meter, from_day, to_day, asked = self.requested[cid]
                    burned = sum(v for _, _, v in pending)
                    self.burned_for[cid] = burned
                    self.issued[cid] = (owner, amount)
                    if burned != amount or amount > asked:
                        self.bad(f"certificate {cid} issued for {amount} Wh (requested {asked}) but its approval "
                                 f"burned {burned} Wh of crypto-kWh")
                    for account, i, v in pending:
                        if account != owner or not from_day * PER_DAY <= i < to_day * PER_DAY:
                            self.bad(f"certificate {cid} of {self.w.name.get(owner)} days [{from_day}, {to_day}) "
                                     f"burned {v} Wh of {self.w.name.get(account)}'s interval {i}")
                    pending.clear()
                elif t0 == CERT_REJECTED:
                    self.rejected.add(cid)
                    if pending:
                        self.bad(f"request {cid} rejected after burning {pending}")
                    pending.clear()
            elif address == self.market and t0 == ORDER_PLACED:
                iid, oid, owner = int.from_bytes(bytes(topics[1]), "big"), int.from_bytes(bytes(topics[2]), "big"), \
                    _address(topics[3])
                side, backing, _, _ = abi_decode(["uint8", "uint8", "uint256", "uint256"], data)
                self.orders.append(oid)
                self.ids.add(iid)
                self.traders.add((owner, iid))
                if side == Side.ASK and backing == Backing.COLLATERAL:
                    self.forward.add((iid, owner))
                if side == Side.ASK and backing == Backing.ENERGY:
                    who, i, own, acquired = self.escrowing.pop(0) if self.escrowing else (None, iid, 0, 0)
                    if (who, i) != (owner, iid):
                        self.bad(f"energy ask {oid} of {self.w.name.get(owner)} placed without its escrow")
                    self.escrowed[oid] = [owner, iid, own, acquired]
            elif address == self.market and t0 == TRADED:
                ask, q = int.from_bytes(bytes(topics[3]), "big"), abi_decode(["uint256"], data[:32])[0]
                if ask in self.escrowed:  # a fill takes the escrow's acquired Wh first
                    e = self.escrowed[ask]
                    from_acquired = min(q, e[3])
                    e[3] -= from_acquired
                    e[2] -= q - from_acquired
            elif address == self.market and t0 in (ORDER_CANCELLED, ORDER_EXPIRED):
                oid, (remaining,) = int.from_bytes(bytes(topics[1]), "big"), abi_decode(["uint256"], data)
                if oid in self.escrowed and remaining:
                    owner, i, own, acquired = self.escrowed[oid]
                    back = self.releasing.pop(0) if self.releasing else None
                    if back != (owner, i, remaining) or own + acquired != remaining:
                        self.bad(f"ask {oid} refunded {remaining} Wh of {own + acquired} left in escrow; "
                                 f"released {back}")
                    self.own[(owner, i)] += own
                    self.acquired[(owner, i)] += acquired
                    self.escrowed[oid] = [owner, i, 0, 0]
        if pending:
            self.bad(f"crypto-kWh burned by the certificates without a certificate: {pending}")
        entry_given: Counter = Counter()
        for iid, entries in settled:
            for e in entries:
                key = (e.account, iid)
                if e.given_wh or e.received_wh:
                    if key not in verified:
                        self.bad(f"SettledLocally moved {self.w.name.get(e.account, e.account)}'s interval {iid} "
                                 f"(gave {e.given_wh}, received {e.received_wh} Wh) in a transaction to "
                                 f"{self.w.name.get(receipt['to'], receipt['to'])} that did not verify it through "
                                 "the operation")
                    else:
                        imp, exp = verified[key]
                        if e.given_wh > exp or e.received_wh > imp:
                            self.bad(f"SettledLocally: {self.w.name.get(e.account)} gave {e.given_wh} of its export "
                                     f"{exp} / received {e.received_wh} of its import {imp} Wh in interval {iid}")
                self.s_given[key] += e.given_wh
                self.s_received[key] += e.received_wh
                entry_given[key] += e.given_wh
                self.shared.add(key)
                self.fresh.add(key)
        if +entry_given != +operation_burns:
            self.bad(f"the operation's burns {dict(+operation_burns)} are not its SettledLocally given "
                     f"{dict(+entry_given)}")

    def _move(self, operator: str, frm: str, to: str, i: int, v: int, pending: list, operation_burns: Counter) -> None:
        self.ids.add(i)
        for who in (frm, to):
            if who != ZERO and who not in self.w.accounts:
                self.bad(f"crypto-kWh of interval {i} moved to or from {who}, outside the community's accounts")
        name = self.w.name.get
        if frm == ZERO:
            if operator != self.registry:
                self.bad(f"{v} Wh of interval {i} minted by {operator}, not the registry")
            self.minted[(to, i)] += v
            self.own[(to, i)] += v
        elif to == ZERO:
            if operator == self.operation:
                self.given[(frm, i)] += v
                operation_burns[(frm, i)] += v
                if v > self.own[(frm, i)]:
                    self.bad(f"{name(frm)} shared {v} Wh of interval {i}, with {self.own[(frm, i)]} Wh of its own "
                             "production left")
                self.own[(frm, i)] -= v
            elif operator == self.guarantees:
                self.certified[(frm, i)] += v
                pending.append((frm, i, v))
                if v > self.own[(frm, i)]:
                    self.bad(f"{name(frm)} certified {v} Wh of interval {i}, with {self.own[(frm, i)]} Wh of its own "
                             "production left (one Wh, one claim)")
                self.own[(frm, i)] = max(0, self.own[(frm, i)] - v)
            elif operator == frm:
                self.claimed[(frm, i)] += v
                self._spend(frm, i, v)
            else:
                self.bad(f"{name(operator, operator)} burned {v} Wh of {name(frm, frm)}'s interval {i}")
        else:
            self.t_out[(frm, i)] += v
            self.t_in[(to, i)] += v
            if to == self.market and ORDER_PLACED in self.market_events:  # an ask's escrow: own first
                own = min(v, self.own[(frm, i)])
                self.own[(frm, i)] -= own
                self.acquired[(frm, i)] -= v - own
                self.escrowing.append((frm, i, own, v - own))
            elif frm == self.market and self.market_events & {ORDER_CANCELLED, ORDER_EXPIRED}:
                self.releasing.append((to, i, v))  # given back as it was at the OrderCancelled/Expired
            else:
                if frm != self.market:
                    self._spend(frm, i, v)
                if to != self.market:
                    self.acquired[(to, i)] += v

    def _spend(self, account: str, i: int, v: int) -> None:
        """``v`` Wh leave ``account`` by a transfer or a claim: what it acquired first."""
        from_acquired = min(v, self.acquired[(account, i)])
        self.acquired[(account, i)] -= from_acquired
        self.own[(account, i)] -= v - from_acquired


# --- the state, read in one eth_call ---------------------------------------------------------------------


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _word(x) -> bytes:
    if isinstance(x, str):
        return bytes.fromhex(x[2:]).rjust(32, b"\0")
    if isinstance(x, bytes):
        return x.rjust(32, b"\0")
    return x.to_bytes(32, "big")


INTERVAL_ACCOUNT = _selector("intervalAccount(address,uint256)")
CLAIMABLE = _selector("claimable(address)")
CLAIMABLE_ENERGY = _selector("claimableEnergy(address,uint256)")
BALANCE_OF = _selector("balanceOf(address)")
ORDER = _selector("order(uint64)")
FORWARD_SALE = _selector("forwardSale(uint256,address)")
CERTIFICATE = _selector("certificate(uint256)")
GO_BALANCE = _selector("balanceOf(address,uint256)")
GO_CLAIMED = _selector("claimedBalance(address,uint256)")
QUANTITIES = _selector("quantities(address,uint256)")
READ = _selector("read(address[],bytes[])")


@dataclass
class View:
    now: int  # the block's timestamp
    account: dict  # (account, id) -> (balance, minted, imported, received, claimed)
    claimable: dict  # account -> money
    claimable_energy: dict  # (account, id) -> Wh
    market_money: int
    orders: dict  # order id -> (id, owner, side, backing, interval id, price, remaining)
    forward: dict  # (id, seller) -> (sold, settled)
    certificates: dict  # id -> (amount, status)
    go_balance: dict  # (account, certificate id) -> Wh
    go_claimed: dict
    quantities: dict  # (member account, id) -> six figures

    def balance(self, account: str, i: int) -> int:
        return self.account.get((account, i), (0,) * 5)[0]

    def redeemable(self, account: str, i: int) -> int:
        _, _, imported, received, claimed = self.account.get((account, i), (0,) * 5)
        return imported - received - claimed


def _read_call(plan) -> bytes:
    """``read(address[] targets, bytes[] data)``'s calldata, ABI-encoded by hand (eth_abi takes
    milliseconds for the hundreds of views of a step)."""
    n = len(plan)
    targets = [_word(p[2]) for p in plan]
    blobs, offsets, at = [], [], 32 * n
    for p in plan:
        data = p[3]
        padded = data + b"\0" * (-len(data) % 32)
        offsets.append(_word(at))
        blobs.append(_word(len(data)) + padded)
        at += 32 + len(padded)
    head = _word(64) + _word(64 + 32 + 32 * n)
    return READ + head + _word(n) + b"".join(targets) + _word(n) + b"".join(offsets) + b"".join(blobs)


def read_state(world: World, ledger: Ledger, cache: dict, quantities: set) -> View:
    """The state the invariants need, in one ``eth_call``: every account's figures in every
    interval with events, the market's books, debts and money, the certificates, and the
    operation's ``quantities`` of the (member, interval) pairs in ``quantities`` (they only change
    when shared: checked once after their settlement, and all again at the end of an example)."""
    c = world.c
    ids = sorted(ledger.ids)
    traders = sorted(ledger.traders)
    issued = sorted(ledger.issued)
    key = (tuple(ids), len(ledger.orders), tuple(traders), tuple(sorted(ledger.forward)), len(ledger.requested),
           tuple(issued), tuple(sorted(quantities)))
    if cache.get("key") != key:
        plan: list[tuple[str, tuple, str, bytes, int]] = []  # (kind, key, target, data, words)

        def add(kind, k, target, selector, *args, words):
            plan.append((kind, k, target, selector + b"".join(_word(a) for a in args), words))

        for a in world.accounts:
            for i in ids:
                add("account", (a, i), c.token.address, INTERVAL_ACCOUNT, a, i, words=5)
            add("claimable", a, c.market.address, CLAIMABLE, a, words=1)
        for a, i in traders:  # only order owners are owed crypto-kWh
            add("energy", (a, i), c.market.address, CLAIMABLE_ENERGY, a, i, words=1)
        add("money", None, c.payment.address, BALANCE_OF, c.market.address, words=1)
        for oid in ledger.orders:
            add("order", oid, c.market.address, ORDER, oid, words=7)
        for i, seller in sorted(ledger.forward):
            add("forward", (i, seller), c.market.address, FORWARD_SALE, i, seller, words=4)
        for cid in sorted(ledger.requested):
            add("certificate", cid, c.guarantees.address, CERTIFICATE, cid, words=16)
        for cid in issued:
            for a in world.holders:
                add("go_balance", (a, cid), c.guarantees.address, GO_BALANCE, a, cid, words=1)
                add("go_claimed", (a, cid), c.guarantees.address, GO_CLAIMED, a, cid, words=1)
        for a, i in sorted(quantities):
            add("quantities", (a, i), c.operation.address, QUANTITIES, a, i, words=6)
        cache.update(key=key, plan=plan, tx={"to": world.reader, "data": "0x" + _read_call(plan).hex()})
    answer = world.chain.w3.provider.make_request(RPCEndpoint("eth_call"), [cache["tx"], "latest"])
    if "error" in answer:
        raise RuntimeError(f"reading the state: {answer['error']}")
    out = bytes.fromhex(answer["result"][2:])[64:]
    view = View(int.from_bytes(out[:32], "big"), {}, {}, {}, 0, {}, {}, {}, {}, {}, {})
    p = 32
    for kind, k, _, _, words in cache["plan"]:
        values = tuple(int.from_bytes(out[p + 32 * j: p + 32 * j + 32], "big") for j in range(words))
        p += 32 * words
        if kind == "account":
            view.account[k] = values
        elif kind == "energy":
            view.claimable_energy[k] = values[0]
        elif kind == "claimable":
            view.claimable[k] = values[0]
        elif kind == "money":
            view.market_money = values[0]
        elif kind == "order":
            view.orders[k] = (values[0], to_checksum_address(values[1].to_bytes(20, "big")), *values[2:])
        elif kind == "forward":
            view.forward[k] = values
        elif kind == "certificate":
            view.certificates[k] = (values[1], values[6])
        elif kind == "go_balance":
            view.go_balance[k] = values[0]
        elif kind == "go_claimed":
            view.go_claimed[k] = values[0]
        elif kind == "quantities":
            view.quantities[k] = values
    assert p == len(out), (p, len(out))
    return view


def _settling(world: World, interval_id: int, seller: str, sale: tuple) -> tuple[int, int]:
    """What a seller's forward sales of an interval still lock: (Wh of collateral, Wh of its tokens
    to hand out). Not started: all it sold in collateral. Paged settlement under way (the first
    ``settled_deliveries`` handed out, first trades first, from the ``delivered`` Wh it took): the
    rest of the deliveries less what is left to give, and what is left to give."""
    sold, settled, delivered, settled_deliveries = sale
    if settled:
        return 0, 0
    if not settled_deliveries:
        return sold, 0
    quantities = [q for _, q in world.c.market.functions.deliveries(interval_id, seller).call()]
    processed = sum(quantities[:settled_deliveries])
    left = delivered - min(delivered, processed)
    return sold - processed - left, left


def check(world: World, ledger: Ledger, v: View) -> list[str]:
    """Every invariant of the module docstring; the violations, described."""
    bad = list(ledger.violations)
    name = world.name
    market_address = world.c.market.address
    for i in sorted(ledger.ids):
        held = redeemed = minted = 0
        for a in world.accounts:
            bal, mnt, imported, received, claimed = v.account[(a, i)]
            k = (a, i)
            held, redeemed, minted = held + bal, redeemed + received + claimed, minted + mnt
            if mnt != ledger.minted[k]:
                bad.append(f"{name[a]} interval {i}: minted {mnt} Wh, its mint events {ledger.minted[k]}")
            flows = mnt - ledger.given[k] - ledger.certified[k] - claimed + ledger.t_in[k] - ledger.t_out[k]
            if bal != flows:
                bad.append(f"{name[a]} interval {i}: balance {bal} Wh but minted {mnt} - shared {ledger.given[k]} - "
                           f"certified {ledger.certified[k]} - claimed {claimed} + in {ledger.t_in[k]} - out "
                           f"{ledger.t_out[k]} = {flows}")
            if claimed != ledger.claimed[k]:
                bad.append(f"{name[a]} interval {i}: claimed {claimed} Wh, its redeem burns {ledger.claimed[k]}")
            if received != ledger.s_received[k] or ledger.given[k] != ledger.s_given[k]:
                bad.append(f"{name[a]} interval {i}: received locally {received} / shared {ledger.given[k]} Wh, "
                           f"SettledLocally says {ledger.s_received[k]} / {ledger.s_given[k]}")
            if received + claimed > imported:
                bad.append(f"{name[a]} interval {i}: redeemed {received} + {claimed} Wh of an import of {imported}")
            if ledger.certified[k] > mnt:
                bad.append(f"{name[a]} interval {i}: certified more than it produced: {ledger.certified[k]} Wh of "
                           f"a production of {mnt} Wh")
            elif mnt and ledger.given[k] + ledger.certified[k] > mnt:
                bad.append(f"{name[a]} interval {i}: shared {ledger.given[k]} + certified {ledger.certified[k]} Wh "
                           f"of a production of {mnt} Wh (one Wh, one claim)")
        certified = sum(ledger.certified[(a, i)] for a in world.accounts)
        if held + redeemed + certified != minted:
            bad.append(f"interval {i}: balances {held} + redeemed {redeemed} + certified {certified} = "
                       f"{held + redeemed + certified} Wh, minted {minted}")
        # the market holds exactly what it owes, in crypto-kWh (a forward settlement under way still
        # holds what it has to hand out)
        asks = sum(o[6] for o in v.orders.values() if o[4] == i and o[2] == Side.ASK and o[3] == Backing.ENERGY)
        owed = sum(wh for (a, j), wh in v.claimable_energy.items() if j == i)
        owed += sum(_settling(world, j, seller, sale)[1] for (j, seller), sale in v.forward.items() if j == i)
        if v.balance(market_address, i) != asks + owed:
            bad.append(f"interval {i}: the market holds {v.balance(market_address, i)} Wh, owes {asks} (open asks) + "
                       f"{owed} (claimable, or being settled) = {asks + owed}")
    # ... and in money
    retail = world.retail_per_wh
    bids = sum(o[6] * o[5] // 1000 for o in v.orders.values() if o[2] == Side.BID)
    collateral = sum(o[6] * retail for o in v.orders.values() if o[2] == Side.ASK and o[3] == Backing.COLLATERAL)
    forward = sum(_settling(world, i, seller, sale)[0] * retail for (i, seller), sale in v.forward.items())
    claimable = sum(v.claimable.values())
    if v.market_money != bids + collateral + forward + claimable:
        bad.append(f"the market holds {v.market_money} in money, owes {claimable} (claimable) + {bids} (open bids) + "
                   f"{collateral} (open collateral asks) + {forward} (unsettled forward sales) = "
                   f"{bids + collateral + forward + claimable}")
    # certificates
    for cid, (amount, status) in v.certificates.items():
        issued, rejected = status == Status.ISSUED, status == Status.REJECTED
        if issued != (cid in ledger.issued) or rejected != (cid in ledger.rejected):
            bad.append(f"certificate {cid}: status {Status(status).name} against its events")
        if status == Status.ISSUED:
            if amount != ledger.issued[cid][1]:
                bad.append(f"certificate {cid}: amount {amount} Wh, issued {ledger.issued[cid][1]}")
            held = sum(v.go_balance[(a, cid)] + v.go_claimed[(a, cid)] for a in world.holders)
            if held != amount:
                bad.append(f"certificate {cid} of {amount} Wh: held + claimed = {held} Wh")
    if sum(ledger.certified.values()) != sum(ledger.burned_for.values()):
        bad.append(f"{sum(ledger.certified.values())} Wh burned by the certificates, "
                   f"{sum(ledger.burned_for.values())} Wh in certificates")
    # R15 from the sharing alone
    for (a, i), q in v.quantities.items():
        _, mnt, imported, received, _ = v.account[(a, i)]
        given = ledger.s_given[(a, i)]
        expected = (mnt, given, mnt - given, imported, received, imported - received)
        if q != expected:
            bad.append(f"quantities({name[a]}, {i}) = {q}, the settlement's {expected}")
    return bad


# --- the campaign ------------------------------------------------------------------------------------------


class Campaign(RuleBasedStateMachine):
    world: World  # set by the test before running

    # -- set-up, helpers

    @initialize()
    def start(self) -> None:
        w = self.world
        w.reset()
        STATS.examples += 1
        self.ledger = Ledger(w)
        w.c.on_receipt = self.ledger.record
        self.next = {name: w.start for name in KINDS}  # where each meter's verified readings end
        self.registers = {name: (0, 0) for name in KINDS}
        self.runs: list[SignedReadings] = []  # verified, for replays
        self.cache: dict = {}
        self.failed = False
        self.first_block = w.chain.w3.eth.block_number
        self.v = read_state(w, self.ledger, self.cache, set())

    def teardown(self) -> None:
        w = self.world
        if hasattr(self, "ledger") and not getattr(self, "failed", True):  # every quantities() again
            self.assert_holds(read_state(w, self.ledger, {}, self.ledger.shared))
        if hasattr(self, "ledger") and w.chain.w3.eth.block_number > self.first_block:
            # every transaction of the example went through Community.transact, its events recorded:
            # the token's, certificates' and market's logs on the chain come from those only
            logs = w.chain.w3.eth.get_logs({"fromBlock": self.first_block + 1, "toBlock": "latest",
                                            "address": [w.c.token.address, w.c.guarantees.address,
                                                        w.c.market.address]})
            unseen = {bytes(log["transactionHash"]) for log in logs} - self.ledger.hashes
            assert not unseen, f"transactions the ledger did not record: {unseen}"
        w.c.on_receipt = None

    def call(self, rule: str, send, *, must_pass: bool = False, must_refuse: str = ""):
        """One call of the campaign: ``send()`` sends a transaction or a view. A refusal is counted
        (and is a failure if ``must_pass``); ``must_refuse`` names an attack the chain must refuse."""
        STATS.calls += 1
        STATS.steps += 1
        STATS.rules[rule] += 1
        try:
            result = send()
        except ContractReverted as refused:
            if must_pass:
                raise
            STATS.refusals[refused.error.name] += 1
            return None
        if must_refuse:
            self.ledger.bad(f"the chain accepted {must_refuse}")
        return result

    def day(self, name: str) -> int:
        return self.next[name] // DAY

    def segment(self, name: str, k: int) -> tuple[int, int]:
        """The next run of a meter: from its day's window (its outage before declared), at most
        ``k`` intervals, within the window."""
        nxt = self.next[name]
        d = nxt // DAY
        first = max(nxt, d * DAY + DAY - WINDOW * SECONDS)
        return first, min(k, ((d + 1) * DAY - first) // SECONDS)

    def signed_run(self, name: str, first: int, imports: list[int], exports: list[int]) -> SignedReadings:
        m = self.world.meters[name]
        imp, exp = self.registers[name]
        run = MeterReadings(m.id, self.next[name], first, imports, exports, imp + sum(imports), exp + sum(exports))
        return self.world.sign(m, run)

    def advance(self, name: str, s: SignedReadings) -> None:
        self.next[name] = s.run.end(SECONDS)
        self.registers[name] = (s.run.import_register_wh, s.run.export_register_wh)
        self.runs.append(s)

    def draw_run(self, data, name: str, n: int) -> tuple[list[int], list[int]]:
        kind = KINDS[name]
        imports = [data.draw(ENERGY) if kind != MeterKind.PRODUCER else 0 for _ in range(n)]
        exports = [data.draw(ENERGY) if kind != MeterKind.CONSUMER else 0 for _ in range(n)]
        return imports, exports

    def ids(self) -> list[int]:
        """The interval ids that may carry energy up to the day after the latest readings."""
        last = min(self.world.d0 + DAYS, max(self.next.values()) // DAY + 1)
        return [d * PER_DAY + PER_DAY - WINDOW + k for d in range(self.world.d0, last + 1) for k in range(WINDOW)]

    def open_ids(self) -> list[int]:
        """Interval ids whose orders are still open."""
        return [i for i in self.ids() if self.v.now < (i + 1) * SECONDS + GATE_CLOSURE_DELAY]

    def interval(self, data, prefer: list[int] | None = None) -> int:
        if prefer and data.draw(st.integers(0, 4)) > 0:
            return data.draw(st.sampled_from(sorted(prefer)))
        return data.draw(st.sampled_from(self.ids()))

    @staticmethod
    def amount(data, upto: int) -> int:
        """Mostly 1..upto (often all of it), sometimes more (the chain refuses)."""
        if upto <= 0 or data.draw(st.integers(0, 9)) == 0:
            return data.draw(st.integers(max(upto, 0) + 1, max(upto, 0) + 100))
        return data.draw(st.one_of(st.just(upto), st.integers(1, upto)))

    def held(self, account: str) -> list[int]:
        return [i for (a, i), values in self.v.account.items() if a == account and values[0] > 0]

    def open_orders(self) -> list[tuple]:
        return [o for o in self.v.orders.values() if o[6] > 0]

    # -- readings

    def verify_readings(self, data) -> None:
        """A non-member's next run, relayed to the registry."""
        name = data.draw(st.sampled_from([m for m in NON_MEMBERS if self.day(m) < self.world.d0 + DAYS]))
        first, n = self.segment(name, data.draw(st.integers(1, WINDOW)))
        signed = self.signed_run(name, first, *self.draw_run(data, name, n))
        self.world.at(signed.run.end(SECONDS))
        c = self.world.c
        self.call("verify", lambda: c.transact(c.registry.functions.submitReadings([signed.as_call_arg()]),
                                               self.world.relayer), must_pass=True)
        self.advance(name, signed)

    def allocate_members(self, data) -> None:
        """The members' next runs, verified and shared by the operation in one transaction."""
        first, n = self.segment("P1", data.draw(st.integers(1, WINDOW)))
        runs = [self.signed_run(name, first, *self.draw_run(data, name, n)) for name in MEMBERS]
        self.world.at(first + n * SECONDS)
        # sent without a simulation first (check_first=False): a refusal would still be named
        report = self.call("allocate", lambda: allocate(self.world.c, runs, check_first=False), must_pass=True)
        assert report.intervals > 0 and report.incomplete is None, report
        for name, s in zip(MEMBERS, runs):
            self.advance(name, s)

    # -- crypto-kWh

    def transfer(self, data) -> None:
        w, c = self.world, self.world.c
        src = data.draw(st.sampled_from(w.holders))
        i = self.interval(data, self.held(src))
        needy = [a for a in w.holders if self.v.redeemable(a, i) > 0 and a != src]
        if needy and data.draw(st.booleans()):  # to someone who can consume it
            dst = data.draw(st.sampled_from(needy))
        else:
            dst = data.draw(st.sampled_from([*w.holders, w.c.market.address, w.outsider]))
        amount = self.amount(data, self.v.balance(src, i))
        others = [j for j in self.held(src) if j != i]
        if others and data.draw(st.integers(0, 3)) == 0:  # a batch of two intervals
            j = data.draw(st.sampled_from(others))
            more = self.amount(data, self.v.balance(src, j))
            self.call("transfer", lambda: c.transact(
                c.token.functions.safeBatchTransferFrom(src, dst, [i, j], [amount, more], b""), src))
        else:
            self.call("transfer", lambda: c.transact(c.token.functions.safeTransferFrom(src, dst, i, amount, b""),
                                                     src))

    def redeem(self, data) -> None:
        """A time-matched claim: crypto-kWh redeemed against the account's import of the interval."""
        w, c = self.world, self.world.c
        pairs = sorted((a, i) for (a, i), (bal, _, imported, received, claimed) in self.v.account.items()
                       if bal and imported > received + claimed and a in w.holders)
        if pairs and data.draw(st.integers(0, 3)):
            account, i = data.draw(st.sampled_from(pairs))
        else:
            account = data.draw(st.sampled_from(w.holders))
            i = self.interval(data, self.held(account))
        sender = account if data.draw(st.integers(0, 9)) else data.draw(st.sampled_from(w.holders))
        amount = self.amount(data, min(self.v.balance(account, i), self.v.redeemable(account, i)))
        others = [j for a, j in pairs if a == account and j != i]
        if others and data.draw(st.integers(0, 2)) == 0:
            j = data.draw(st.sampled_from(others))
            more = self.amount(data, min(self.v.balance(account, j), self.v.redeemable(account, j)))
            self.call("redeem", lambda: c.transact(c.token.functions.redeemBatch(account, [i, j], [amount, more]),
                                                   sender))
        else:
            self.call("redeem", lambda: c.transact(c.token.functions.redeem(account, i, amount), sender))

    # -- the market

    def price(self, data) -> int:
        if data.draw(st.integers(0, 19)) == 0:
            return data.draw(st.sampled_from(BAD_PRICES))
        return data.draw(st.sampled_from(PRICES))

    def place_ask(self, data) -> None:
        w = self.world
        seller = data.draw(st.sampled_from(w.holders))
        if data.draw(st.integers(0, 3)) == 0:  # a forward sale, backed by collateral
            i = self.interval(data, self.open_ids())
            qty, backing = data.draw(st.integers(1, 2500)), Backing.COLLATERAL
        else:
            i = self.interval(data, [j for j in self.held(seller) if j in self.open_ids()] or self.held(seller))
            qty, backing = self.amount(data, self.v.balance(seller, i)), Backing.ENERGY
        price = self.price(data)
        self.call("place_ask", lambda: market.place(w.c, seller, Side.ASK, i, price, qty, backing))

    def place_bid(self, data) -> None:
        w = self.world
        buyer = data.draw(st.sampled_from(w.holders))
        asks = [o[4] for o in self.open_orders() if o[2] == Side.ASK and o[4] in self.open_ids()]
        i = self.interval(data, asks or self.open_ids())
        qty, price = data.draw(st.integers(1, 2500)), self.price(data)
        self.call("place_bid", lambda: market.place(w.c, buyer, Side.BID, i, price, qty))

    def cancel(self, data) -> None:
        w = self.world
        order = data.draw(st.sampled_from(self.open_orders()))
        sender = order[1] if data.draw(st.integers(0, 9)) else data.draw(st.sampled_from(w.holders))
        self.call("cancel", lambda: market.cancel(w.c, sender, order[0]))

    def expire(self, data) -> None:
        w, c = self.world, self.world.c
        closed = [o[0] for o in self.open_orders() if self.v.now >= (o[4] + 1) * SECONDS + GATE_CLOSURE_DELAY]
        if closed and data.draw(st.integers(0, 4)):
            ids = data.draw(st.lists(st.sampled_from(closed), min_size=1, max_size=3, unique=True))
        else:
            ids = [data.draw(st.sampled_from(self.open_orders()))[0]]
        sender = data.draw(st.sampled_from(w.holders))
        self.call("expire", lambda: c.transact(c.market.functions.expire(ids), sender))

    def clear(self, data) -> None:
        """Clears an interval's call auction (refused in the continuous design, before gate closure,
        twice, or past the settlement deadline)."""
        w, c = self.world, self.world.c
        books = sorted({o[4] for o in self.open_orders()})
        closed = [i for i in books if self.v.now >= (i + 1) * SECONDS + GATE_CLOSURE_DELAY]
        i = data.draw(st.sampled_from(closed if closed and data.draw(st.integers(0, 4)) else books))
        sender = data.draw(st.sampled_from(w.holders))
        page = data.draw(st.sampled_from([1, 2, 500]))  # small pages leave it mid-clearing for a while
        self.call("clear", lambda: c.transact(c.market.functions.clear(i, page), sender))

    def settle_forward(self, data) -> None:
        w, c = self.world, self.world.c
        i, seller = data.draw(st.sampled_from(sorted(k for k, (sold, done, *_) in self.v.forward.items()
                                                     if sold and not done)))
        sender = seller if data.draw(st.integers(0, 3)) else data.draw(st.sampled_from(w.holders))
        page = data.draw(st.sampled_from([1, 500]))
        self.call("settle", lambda: c.transact(c.market.functions.settle(i, seller, page), sender))

    def claim(self, data) -> None:
        w, c = self.world, self.world.c
        owed = sorted(({a for a, money in self.v.claimable.items() if money}
                       | {a for (a, _), wh in self.v.claimable_energy.items() if wh})
                      - {c.market.address, c.treasury.address})  # the treasury withdraws its fees by a proposal
        if owed and data.draw(st.integers(0, 5)):
            account = data.draw(st.sampled_from(owed))
            ids = sorted(i for (a, i), wh in self.v.claimable_energy.items() if a == account and wh)
            money = data.draw(st.booleans()) or not ids
            self.call("claim", lambda: market.claim(c, account, ids, money=money))
        else:  # nothing to claim: refused
            account = data.draw(st.sampled_from([w.operator, *w.holders]))
            self.call("claim", lambda: c.transact(c.market.functions.withdraw(), account))

    def deposit(self, data) -> None:
        w, c = self.world, self.world.c
        account = data.draw(st.sampled_from(w.holders))
        amount = data.draw(st.integers(1, 10**6))
        self.call("deposit", lambda: c.transact(c.market.functions.deposit(amount), account))

    # -- guarantees of origin

    def request_certificate(self, data) -> None:
        w, c = self.world, self.world.c
        producer = data.draw(st.sampled_from(PRODUCERS))
        m = w.meters[producer]
        final = self.next[producer] // DAY  # its days before this one are final
        if final > w.d0 and data.draw(st.integers(0, 4)):
            from_day = data.draw(st.integers(w.d0, final - 1))
            to_day = data.draw(st.integers(from_day + 1, final))
        else:
            from_day = data.draw(st.integers(w.d0, w.d0 + DAYS - 1))
            to_day = from_day + data.draw(st.integers(1, 3))
        requester = data.draw(st.sampled_from([m.owner] * 4 + [w.operator, w.who["T"]]))
        self.call("request_go", lambda: c.transact(
            c.guarantees.functions.requestCertification(m.id, from_day, to_day, DECL), requester))

    def pending(self) -> list[int]:
        return sorted(cid for cid, (_, status) in self.v.certificates.items() if status == Status.PENDING)

    def approve_certificates(self, data) -> None:
        w, c = self.world, self.world.c
        ids = data.draw(st.lists(st.sampled_from(self.pending()), min_size=1, max_size=3, unique=True))
        issuer = w.operator if data.draw(st.integers(0, 9)) else w.who["P1"]
        self.call("approve_go", lambda: c.transact(c.guarantees.functions.approve(ids), issuer))

    def reject_certificate(self, data) -> None:
        w, c = self.world, self.world.c
        cid = data.draw(st.sampled_from(self.pending()))
        self.call("reject_go", lambda: c.transact(c.guarantees.functions.reject(cid, b"x".ljust(32, b"\0")),
                                                  w.operator))

    def move_certificate(self, data) -> None:
        """A holder transfers part of a certificate, or claims (cancels) it for a beneficiary."""
        w, c = self.world, self.world.c
        holder, cid = data.draw(st.sampled_from(sorted(k for k, wh in self.v.go_balance.items() if wh)))
        amount = self.amount(data, self.v.go_balance[(holder, cid)])
        if data.draw(st.booleans()):
            to = data.draw(st.sampled_from(w.holders))
            self.call("move_go", lambda: c.transact(
                c.guarantees.functions.safeTransferFrom(holder, to, cid, amount, b""), holder))
        else:
            start = w.start
            self.call("move_go", lambda: c.transact(c.guarantees.functions.claim(
                holder, cid, amount, b"flat".ljust(32, b"\0"), start, start + DAY, b"FR"), holder))

    # -- attacks the chain must refuse

    def rogue_settles(self, data) -> None:
        """An allocator with the role but not the members' operation settles tokens it did not
        verify: the market's escrow, a member's, a non-member's."""
        w, c = self.world, self.world.c
        victim = data.draw(st.sampled_from([c.market.address, *w.holders]))
        i = self.interval(data, self.held(victim))
        beneficiary = data.draw(st.sampled_from([w.who[p] for p in CONSUMERS]))
        q = max(1, min(self.v.balance(victim, i), self.v.redeemable(beneficiary, i)))
        settlement = encode_settlement([(i, [Entry(victim, q, 0), Entry(beneficiary, 0, q)])])
        self.call("rogue", lambda: c.transact(w.rogue.functions.verifyAndSettle([], settlement)),
                  must_refuse=f"a rogue allocator settling {w.name[victim]}'s {q} Wh of interval {i}")

    def hijack_readings(self, data) -> None:
        """A member's run relayed past its operation, a verified run replayed, a second exporting
        meter for a producer: refused."""
        w, c = self.world, self.world.c
        what = data.draw(st.sampled_from(["member", "replay", "meter"]))
        if what == "member" or (what == "replay" and not self.runs):
            name = data.draw(st.sampled_from(MEMBERS))
            first, n = self.segment(name, 1)
            signed = self.signed_run(name, first, *self.draw_run(data, name, n))
            w.at(signed.run.end(SECONDS))
            self.call("hijack", lambda: c.transact(c.registry.functions.submitReadings([signed.as_call_arg()]),
                                                   w.relayer),
                      must_refuse=f"a member's run relayed to the registry ({name})")
        elif what == "replay":
            signed = data.draw(st.sampled_from(self.runs))
            self.call("hijack", lambda: c.transact(c.registry.functions.submitReadings([signed.as_call_arg()]),
                                                   w.relayer), must_refuse="a verified run again")
        else:
            owner = w.who[data.draw(st.sampled_from(PRODUCERS))]
            key = new_meter_key()
            self.call("hijack", lambda: c.transact(c.registry.functions.registerMeter(
                meter_id(SALT, key.address), key.address, owner, int(MeterKind.PRODUCER), CAPACITY_W, SOLAR,
                1_700_000_000)), must_refuse="a second exporting meter of an account")

    # -- time

    def advance_time(self, data) -> None:
        seconds = data.draw(st.sampled_from([SECONDS, 3600, 6 * 3600, DAY]))
        STATS.steps += 1
        STATS.rules["advance_time"] += 1
        self.world.chain.travel(self.v.now + seconds)

    # -- the one rule: an action, drawn among those that can run (a single rule rather than one
    # per action: hypothesis' swarm testing would leave some actions out of whole runs)

    #: action -> (weight, whether it can run)
    ACTIONS = {
        "verify_readings": (3, lambda self: any(self.day(m) < self.world.d0 + DAYS for m in NON_MEMBERS)),
        "allocate_members": (3, lambda self: self.day("P1") < self.world.d0 + DAYS),
        "transfer": (3, None),
        "redeem": (3, None),
        "place_ask": (3, None),
        "place_bid": (3, None),
        "cancel": (1, lambda self: self.open_orders()),
        "expire": (1, lambda self: self.open_orders()),
        "clear": (2 if DESIGN == "auction" else 0, lambda self: self.open_orders()),
        "settle_forward": (1, lambda self: any(sold and not done for sold, done, *_ in self.v.forward.values())),
        "claim": (2, None),
        "deposit": (1, None),
        "request_certificate": (2, None),
        "approve_certificates": (2, lambda self: self.pending()),
        "reject_certificate": (1, lambda self: self.pending()),
        "move_certificate": (1, lambda self: any(self.v.go_balance.values())),
        "rogue_settles": (2, None),
        "hijack_readings": (1, None),
        "advance_time": (1, lambda self: self.v.now < (self.world.d0 + DAYS + 3) * DAY),
    }

    @rule(data=st.data())
    def step(self, data) -> None:
        actions = [name for name, (weight, can) in self.ACTIONS.items() if can is None or can(self)
                   for _ in range(weight)]
        getattr(self, data.draw(st.sampled_from(actions)))(data)

    # -- the invariants

    @invariant()
    def ledger_holds(self) -> None:
        self.v = read_state(self.world, self.ledger, self.cache, self.ledger.fresh)
        self.ledger.fresh = set()
        STATS.checks += 1
        self.assert_holds(self.v)

    def assert_holds(self, v: View) -> None:
        bad = check(self.world, self.ledger, v)
        if bad:
            self.failed = True
            raise Violation(f"{len(bad)} invariant violation(s) ({self.world.variant}):\n  " + "\n  ".join(bad[:12]))


@pytest.fixture(scope="module")
def world():
    w = World()
    yield w
    w.close()


def _campaign(world: World, examples: int, steps: int, *, database: bool = True) -> None:
    Campaign.world = world
    # shrinking replays the failing sequence on the chain hundreds of times (minutes): on demand
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if SHRINK else [])
    run_state_machine_as_test(Campaign, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, print_blob=True, phases=phases,
        suppress_health_check=list(HealthCheck), **({} if database else {"database": None})))


def test_invariant_campaign(world, capsys):
    """The campaign: no invariant breaks (or, with PLANT_BUG, one does and it is shown)."""
    start = time.monotonic()
    if PLANT:
        with pytest.raises(Violation) as caught:
            _campaign(world, EXAMPLES, STEPS, database=False)
        notes = "\n".join(getattr(caught.value, "__notes__", []))
        with capsys.disabled():
            print(f"\n{world.variant}: caught after {STATS.examples} examples, {STATS.calls:,} calls, "
                  f"{time.monotonic() - start:.0f} s\n{caught.value}\n{notes}")
        signs = PLANTED[PLANT][4]
        assert any(sign in str(caught.value) for sign in signs), f"a violation, but not the planted bug's ({signs})"
        return
    try:
        _campaign(world, EXAMPLES, STEPS)
    finally:
        with capsys.disabled():
            print("\n" + STATS.report(time.monotonic() - start))
    if "INVARIANT_EXAMPLES" not in os.environ and "INVARIANT_STEPS" not in os.environ:
        assert STATS.calls >= MIN_CALLS, f"the CI campaign ran {STATS.calls} calls, fewer than {MIN_CALLS}"


def test_a_shared_wh_is_not_certified_again(world):
    """What the campaign found on the first one-claim contracts, made minimal: P1 shares 800 of its
    1,000 Wh with C1 (AUTOCONS), receives P3's 500 Wh of the same interval, then certifies the day.
    ``certify`` burned min(balance, minted) = min(700, 1,000) = 700 Wh and issued them as P1's
    production: 800 shared + 700 certified of a meter that produced 1,000 Wh, 500 of them P3's
    energy certified as P1's device's. P1's production left unspent is 200 Wh (balance 700 - 500
    acquired)."""
    w, c = world, world.c
    w.reset()
    ledger = Ledger(w)
    c.on_receipt = ledger.record
    try:
        window = w.start + DAY - WINDOW * SECONDS
        i = window // SECONDS
        energy = {"P1": (0, 1000), "C1": (800, 0), "P3": (0, 500)}
        runs = {}
        for name in (*MEMBERS, "P3"):
            m = w.meters[name]
            imp, exp = energy.get(name, (0, 0))
            imports, exports = [imp] + [0] * (WINDOW - 1), [exp] + [0] * (WINDOW - 1)
            runs[name] = w.sign(m, MeterReadings(m.id, w.start, window, imports, exports, imp, exp))
        w.at(w.start + DAY)
        allocate(c, [runs[name] for name in MEMBERS])
        c.transact(c.registry.functions.submitReadings([runs["P3"].as_call_arg()]), w.relayer)
        c.transact(c.token.functions.safeTransferFrom(w.who["P3"], w.who["P1"], i, 500, b""), w.who["P3"])
        c.transact(c.guarantees.functions.requestCertification(w.meters["P1"].id, w.d0, w.d0 + 1, DECL), w.who["P1"])
        [cid] = ledger.requested
        c.transact(c.guarantees.functions.approve([cid]))
        assert c.guarantees.functions.certificate(cid).call()[1] == 200, "the certificate of P1's day"
        assert check(w, ledger, read_state(w, ledger, {}, ledger.shared)) == []
    finally:
        c.on_receipt = None
