"""Gas of the EnergyMarket: placement, cancellation, matching and settlement, both designs.

Run: ``.venv/bin/python benchmarks/market.py [--anvil] [--write | --check]``.
Gas comes from transaction receipts on the embedded EVM (cancun, the gas schedule of anvil and
mainnet), so it is exact and repeatable; ``--anvil`` runs the same on a real node and reports the
largest difference. ``--write`` refreshes ``benchmarks/snapshots/market.md`` and ``market.json`` (gas
by case, and per fill, trade, sale or order where a case handles several); ``--check`` compares the
gas with ``market.json`` (``benchmarks/snapshot.py``).

Setup: the chain moves to a fixed future time (interval ids, and so calldata, repeat); four
sellers with producer meters, four buyers; every account funded with test euros and approvals
given beforehand (one-off costs, not measured). Each seller's verified export of the measured
intervals is relayed first, so energy-backed asks find their tokens. Steady state: before the
measured rows every account has traded once (its claimable balances exist), as a participant
trading every day has.

*Gas per matched trade* is what the goal (at most 70,000) is compared with: in the continuous
design, the taker order's transaction divided by its fills; in the call auction, the clearing
transaction divided by its trades; in a batch of orders signed off-chain (``BatchAuction``, goal at
most 25,000), the batch's one transaction (every signature checked, every order settled, the
energy moved into the buyers' claims) divided by its trades. *Full trade* adds up every transaction one trade needs:
both placements, and the buyer's energy claim and the seller's withdrawal (amortised when
batched). Public anchors (issue): Clober 154,000 gas per taker order, CoW Protocol ~66,000 per
order in a batch, Seaport 1.5 ~152,000 per fill.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table
from web3.logs import DISCARD

from gridshare.chain.batch import settle_batch
from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect, start_anvil
from gridshare.chain.relayer import relay
from gridshare.protocol.market import Side
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.orders import Order
from gridshare.protocol.readings import MeterReading, to_runs

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "market.md"
T0 = 2_000_000_000  # a fixed time in the future: interval ids repeat from run to run
GOAL = 70_000
PRICE_ASK, PRICE_BID = 100_000, 150_000  # base units per kWh
BATCHES = (1, 10, 50)
BATCH_TRADERS = 25  # sellers, and as many buyers, in a batch of signed orders
BATCH_GOAL = 25_000  # gas per matched trade in a batch (issue #14)
ENERGY = 1
COLLATERAL = 2
FUNDS = 10_000 * 10**6


class Bench:
    def __init__(self, chain, design: str):
        self.chain, self.design = chain, design
        self.w3 = chain.w3
        self.c = deploy(chain, write=False, market_design=design, gate_closure_delay=86_400)
        self.m = self.c.market.functions
        accounts = chain.accounts()
        self.sellers, self.buyers = accounts[1:5], accounts[5:9]
        self.rows: list[dict] = []
        self.iid = T0 // 900 + 1  # the next interval to use: the first after the meters are registered
        self.meters: dict[str, tuple[bytes, object, int]] = {}

    # --- setup -------------------------------------------------------------------------------------

    def setup(self) -> None:
        self.chain.travel(T0)
        c = self.c
        for a in (*self.sellers, *self.buyers):
            c.transact(c.registry.functions.registerParticipant(a))
            c.transact(c.payment.functions.faucet(FUNDS), a)
            c.transact(c.payment.functions.approve(c.market.address, 2**256 - 1), a)
            c.transact(c.token.functions.setApprovalForAll(c.market.address, True), a)
        for k, a in enumerate((*self.sellers, *self.buyers)):
            key = Account.from_key(keccak(text=f"bench-market-meter-{k}"))  # deterministic: repeatable gas
            mid = meter_id(bytes(32), f"bench-market-{k}")
            kind = MeterKind.PRODUCER if a in self.sellers else MeterKind.CONSUMER
            c.transact(c.registry.functions.registerMeter(mid, key.address, a, int(kind), 10**7,
                                                          b"solar-pv".ljust(32, b"\0"), 1_700_000_000))
            self.meters[a] = (mid, key, 0)

    def produce(self, intervals: list[int], wh: int = 1_000_000) -> None:
        """Verified readings of these (ended) intervals: every seller exports, every buyer
        imports (the buyers' ledger slots of the interval exist, as for any metered consumer)."""
        signed = []
        for a, (mid, key, register) in self.meters.items():
            readings = []
            for i in intervals:
                register += wh
                imported, exported = (0, wh) if a in self.sellers else (wh, 0)
                readings.append(MeterReading(mid, i * 900, imported, exported,
                                             *((0, register) if exported else (register, 0))))
            previous_end = self.c.registry.functions.meterState(mid).call()[0]
            signed += [r.sign(key, self.chain.chain_id, self.c.registry.address)
                       for r in to_runs(readings, 900, previous_end=previous_end)]
            self.meters[a] = (mid, key, register)
        assert not relay(self.c, signed).rejected

    # --- measuring ---------------------------------------------------------------------------------

    def send(self, call, sender) -> tuple[dict, float]:
        t = time.perf_counter()
        receipt = self.c.transact(call, sender)
        return receipt, time.perf_counter() - t

    def order_id(self, receipt) -> int:
        return self.c.market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)[0].args.orderId

    def fills(self, receipt) -> int:
        return len(self.c.market.events.Traded().process_receipt(receipt, errors=DISCARD))

    def row(self, operation: str, detail: str, receipt: dict, seconds: float, per: int = 1,
            goal: int | None = None, gas: int | None = None) -> int:
        gas = receipt["gasUsed"] if gas is None else gas
        self.rows.append({"design": self.design, "operation": operation, "detail": detail, "n": per, "gas": gas,
                          "per": gas / per, "seconds": seconds, "goal": goal})
        return gas

    def bid(self, buyer, iid, q, price=PRICE_BID, hint=0):
        return self.send(self.m.placeBid(iid, price, q, hint), buyer)

    def ask(self, seller, iid, q, backing=ENERGY, price=PRICE_ASK, hint=0):
        return self.send(self.m.placeAsk(iid, price, q, backing, hint), seller)

    # --- the designs -------------------------------------------------------------------------------

    def continuous(self) -> None:
        intervals = [self.iid + k for k in range(6)]
        self.chain.travel((intervals[-1] + 1) * 900 + 1)  # all ended, all gates open (closure a day later)
        self.produce(intervals)
        s, b = self.sellers, self.buyers
        # warm-up: every account has traded once (claimable balances exist)
        w = intervals[0]
        for k in range(4):
            self.ask(s[k], w, 1000)
            self.bid(b[k], w, 1000)

        i = intervals[1]
        r, t = self.ask(s[0], i, 1000)
        self.row("place ask", "energy-backed, first order of a book (tokens into escrow)", r, t)
        r, t = self.ask(s[1], i, 1000, price=PRICE_ASK + 10_000)
        self.row("place ask", "energy-backed, resting behind it", r, t)
        r, t = self.ask(s[2], i, 1000, COLLATERAL, price=PRICE_ASK + 20_000)
        self.row("place ask", "forward (collateral), resting", r, t)
        r, t = self.bid(b[0], i, 1000, price=90_000)
        self.row("place bid", "resting (no trade)", r, t)
        r, t = self.bid(b[1], i, 1000, price=80_000)
        r, t = self.send(self.m.cancel(self.order_id(r)), b[1])
        self.row("cancel", "a resting bid (refund to claimable)", r, t)

        # matches: a taker bid filling 1 energy-backed ask (paid by transfer, then from a deposit)
        r, t = self.bid(b[2], i, 1000)
        self.row("match", "taker bid filling 1 energy-backed ask, paid by transferFrom", r, t, self.fills(r), GOAL)
        self.ask(s[1], i, 1000, price=PRICE_ASK + 10_000)
        r, t = self.send(self.m.deposit(10**9), b[2])
        self.row("deposit", "money for many orders", r, t)
        r, t = self.bid(b[2], i, 1000)
        gas = self.row("match", "taker bid filling 1 energy-backed ask, paid from a deposit", r, t, self.fills(r),
                       GOAL)
        place_ask = self.rows[1]["gas"]
        for k in (5, 10):
            j = intervals[2] if k == 5 else intervals[3]
            for n in range(k):
                self.ask(s[n % 4], j, 100, price=PRICE_ASK + 1000 * n)
            r, t = self.bid(b[3], j, 100 * k)
            self.row("match", f"taker bid filling {k} energy-backed asks", r, t, self.fills(r), GOAL)
        j = intervals[4]
        for n in range(10):
            self.bid(b[n % 4], j, 100, price=PRICE_BID - 1000 * n)
        r, t = self.ask(s[3], j, 1000)
        self.row("match", "taker ask (energy-backed) filling 10 bids", r, t, self.fills(r), GOAL)

        # forward: a sale before delivery, its settlement
        f = intervals[-1] + 3  # not started yet
        self.ask(s[0], f, 1000, COLLATERAL)
        r, t = self.bid(b[0], f, 600)
        self.row("match", "taker bid filling 1 forward ask (delivery recorded)", r, t, self.fills(r), GOAL)
        self.bid(b[1], f, 400)
        self.chain.travel((f + 1) * 900 + 1)
        self.produce([f], wh=700)
        self.chain.travel((f + 1) * 900 + 86_400)  # gate closure
        r, t = self.send(self.m.settle(f, s[0], 500), s[0])
        self.row("settle", "forward sales to 2 buyers, 700 of 1000 Wh delivered", r, t, 2)

        # payouts: the makers' tokens (bids filled by a taker ask) and the sellers' money
        r, t = self.send(self.m.claimEnergy([j]), b[0])
        self.row("claim", "claimEnergy, 1 interval", r, t)
        r, t = self.send(self.m.withdraw(), s[0])
        withdraw = self.row("claim", "withdraw", r, t)
        self.row("full trade", "place ask (resting) + taker bid from a deposit + withdraw", {"gasUsed": 0}, 0, 1,
                 None, place_ask + gas + withdraw)
        self.iid = f + 1

    def auction(self) -> None:
        s, b = self.sellers, self.buyers
        for n in BATCHES:
            i = self.iid = self.iid + 200  # past the last gate closure
            self.chain.travel((i + 1) * 900 + 1)
            self.produce([i])
            placed, last_ask, last_bid = 0, 0, 0
            for k in range(n):  # each order rests behind the previous one: the hint is exact
                r, _ = self.ask(s[k % 4], i, 100, price=PRICE_ASK + 1000 * k, hint=last_ask)
                last_ask = self.order_id(r)
                placed += r["gasUsed"]
                r, _ = self.bid(b[k % 4], i, 100, price=PRICE_BID - 1000 * k, hint=last_bid)
                last_bid = self.order_id(r)
                placed += r["gasUsed"]
            if n == BATCHES[-1]:
                self.rows.append({"design": self.design, "operation": "place",
                                  "detail": "ask (energy-backed) or bid (from a transfer), resting, with a hint",
                                  "n": 2 * n, "gas": placed, "per": placed / (2 * n), "seconds": 0, "goal": None})
            self.chain.travel((i + 1) * 900 + 86_400)  # gate closure
            r, t = self.send(self.m.clear(i, 500), b[0])
            fills = self.fills(r)
            self.row("clear", f"{n} bids x {n} asks, {fills} trades at one price", r, t, fills, GOAL)

    def batch(self, n: int = BATCH_TRADERS) -> None:
        """``BatchAuction``: ``n`` sellers' and ``n`` buyers' orders signed off-chain, one interval's
        batch settled in one transaction. Quantities differ so the walk interleaves (about 2n - 1
        trades). Rows: a warm-up batch whose buyers claim in a group of eight intervals they had not
        claimed in (their claim lanes are new storage), then the next interval's (lanes exist: the
        steady state of members trading every interval)."""
        c, w3 = self.c, self.w3
        keys = [Account.from_key(keccak(text=f"bench-batch-trader-{k}")) for k in range(2 * n)]
        sellers, buyers = keys[:n], keys[n:]
        meters = {}
        for k, key in enumerate(keys):
            w3.eth.send_transaction({"from": self.chain.sender, "to": key.address, "value": 10**18})
            c.transact(c.registry.functions.registerParticipant(key.address))
            meter_key = Account.from_key(keccak(text=f"bench-batch-meter-{k}"))
            mid = meter_id(bytes(32), f"bench-batch-{k}")
            kind = MeterKind.PRODUCER if key in sellers else MeterKind.CONSUMER
            c.transact(c.registry.functions.registerMeter(mid, meter_key.address, key.address, int(kind), 10**7,
                                                          b"solar-pv".ljust(32, b"\0"), 1_700_000_000))
            meters[key.address] = (mid, meter_key)
            self._raw(key, c.payment.functions.faucet(FUNDS))
            self._raw(key, c.payment.functions.approve(c.batch.address, 2**256 - 1))
            self._raw(key, c.batch.functions.deposit(FUNDS))
        now = w3.eth.get_block("latest")["timestamp"]
        first = (now // 900 // 8 + 1) * 8  # the first interval of a group of eight, after the registrations
        self.chain.travel((first + 2) * 900 + 1)
        signed = []
        for k, key in enumerate(keys):
            mid, meter_key = meters[key.address]
            readings, register = [], 0
            for i in (first, first + 1):
                register += 100_000
                flow = (0, 100_000) if key in sellers else (100_000, 0)
                readings.append(MeterReading(mid, i * 900, *flow, *((0, register) if key in sellers else (register, 0))))
            previous_end = c.registry.functions.meterState(mid).call()[0]
            signed += [r.sign(meter_key, self.chain.chain_id, c.registry.address)
                       for r in to_runs(readings, 900, previous_end=previous_end)]
        assert not relay(c, signed).rejected
        for i, what in ((first, "claim lanes new (a buyer's first claim in 8 intervals)"),
                        (first + 1, "claim lanes exist (members trading every interval)")):
            self.chain.travel(max(c.market.functions.gateClosure(i).call(), w3.eth.get_block("latest")["timestamp"] + 1))
            orders = [Order(s.address, i, Side.ASK, 60_000 + 1000 * k, 1000 + 37 * k).sign(
                          s, self.chain.chain_id, c.batch.address) for k, s in enumerate(sellers)]
            orders += [Order(b.address, i, Side.BID, 150_000 - 1000 * k, 1100 + 23 * k).sign(
                           b, self.chain.chain_id, c.batch.address) for k, b in enumerate(buyers)]
            t = time.perf_counter()
            settled = settle_batch(c, i, orders, self.buyers[0])
            seconds = time.perf_counter() - t
            self.row("batch", f"{n} bids x {n} asks signed off-chain, {len(settled.fills)} trades, {what}",
                     {"gasUsed": settled.gas_used}, seconds, len(settled.fills), BATCH_GOAL)
        self.iid = w3.eth.get_block("latest")["timestamp"] // 900 + 1

    def _raw(self, key, call) -> None:
        """A transaction from a key the node does not hold (a member signing its own)."""
        w3 = self.w3
        tx = call.build_transaction({"from": key.address, "nonce": w3.eth.get_transaction_count(key.address),
                                     "gas": 1_000_000})
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction))

    def run(self) -> list[dict]:
        self.setup()
        if self.design == "continuous":
            self.continuous()
        else:
            self.auction()
            self.batch()
        return self.rows


def measure(chain_factory) -> list[dict]:
    rows = []
    for design in ("continuous", "auction"):
        with chain_factory() as chain:
            rows += Bench(chain, design).run()
    return rows


def verdict(r: dict) -> str:
    if r["goal"] is None:
        return ""
    return f"{'met' if r['per'] <= r['goal'] else 'NOT met'} (≤ {r['goal']:,})"


def table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("design", "operation", "what", "gas", "per", "gas per", "goal", "wall time"):
        t.add_column(col, justify="left" if col in ("design", "operation", "what", "goal") else "right")
    for r in rows:
        t.add_row(r["design"], r["operation"], r["detail"], f"{r['gas']:,}", str(r["n"]), f"{r['per']:,.0f}",
                  verdict(r), f"{r['seconds'] * 1000:,.0f} ms")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| design | operation | what | gas | per | gas per | goal |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['design']} | {r['operation']} | {r['detail']} | {r['gas']:,} | {r['n']} | "
                     f"{r['per']:,.0f} | {verdict(r)} |")
    return "\n".join(lines)


UNITS = {"match": "fill", "clear": "trade", "settle": "sale", "place": "order", "batch": "trade"}  # what "per" counts


def cases(rows: list[dict]) -> dict[str, int]:
    """The JSON snapshot: each row's gas, and its gas per fill (trade, sale, order) when it handles several."""
    pairs = []
    for r in rows:
        pairs.append((f"{r['design']} {r['operation']}: {r['detail']}", r["gas"]))
        if r["n"] > 1:
            pairs.append((f"{r['design']} {r['operation']}: {r['detail']}, per {UNITS[r['operation']]}", r["per"]))
    return snapshot.cases(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="also run on a real anvil node")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=180)
    rows = measure(lambda: connect("embedded"))
    console.print(table(rows, "EnergyMarket on the embedded EVM (py-evm, cancun)"))
    if args.anvil:
        anvil_rows = measure(start_anvil)
        console.print(table(anvil_rows, "the same on anvil"))
        worst = max(abs(a["gas"] - b["gas"]) for a, b in zip(rows, anvil_rows))
        console.print(f"largest gas difference between embedded and anvil: {worst:,}")

    def write_markdown() -> None:
        SNAPSHOT.write_text(
            "# Gas of the EnergyMarket (snapshot)\n\n"
            "Written by `benchmarks/market.py --write` with `market.json`; gas from receipts on the embedded EVM\n"
            "(cancun). Setup, definitions and the public anchors: the docstring of `benchmarks/market.py`.\n\n"
            + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "market", cases(rows), write_markdown)


if __name__ == "__main__":
    sys.exit(main())
