"""Gas (and wall time) of guarantees of origin: request, approve, transfer and claim; and of a reward claim.

Run: ``.venv/bin/python benchmarks/guarantees.py [--anvil] [--write | --check]``.
Gas is measured on the embedded EVM (cancun; the same gas schedule as anvil and mainnet) from
transaction receipts, so it is exact and repeatable; wall time is indicative only. ``--write``
refreshes the committed snapshots ``benchmarks/snapshots/guarantees.md`` and ``guarantees.json`` (gas
by case, and per certificate where a case handles several); ``--check`` compares the gas with
``guarantees.json`` (``benchmarks/snapshot.py``).

Setup: the chain is moved to a fixed future time (so that day numbers, and hence calldata, are the
same on every run), producer meters are registered, and then the clock is moved past their
production days, whose readings are relayed. Each producing day has a zero reading at midnight
(it checkpoints the day) and 8 producing intervals of 2,000 Wh at midday (16 kWh a day); a
certificate's gas does not depend on how many readings its period holds (the registry answers
from two checkpoints). Every sender is a deterministic key (``keccak(text=...)``), funded and
signing locally, so gas repeats exactly, and is the same on anvil.

Shapes of an approval batch:
- *one producer*: consecutive one-day requests of one device (a producer's backlog);
- *distinct producers*: one request per device, each of its own owner (an issuing body's round).
Every measured request comes after the contract's first certificate, and (but for the row saying
so) on a device that already has a request in the same 256-day word of its day bitmap: a device's
first request (and its first in every 256 days) writes a fresh word.

Reward claims (``SolarReward.claim``, one token per MWh of verified solar export): a meter of its
own exports 200,000 Wh in each of the 8 producing intervals (1.6 MWh a day); its first claim
(days 0-1 verified: 3 tokens, 0.2 MWh carried) writes fresh slots, a second one (days 2-3: 3 more)
updates them. Sent by the deployer: anyone may claim, the tokens go to the meter's owner.
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
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect, start_anvil
from gridshare.chain.relayer import relay
from gridshare.protocol.guarantees import DAY, Declaration, Support, beneficiary_id
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReading, to_runs

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "guarantees.md"
T0 = 2_002_968_000  # 2033-06-21 12:00 UTC: a fixed time in the future, where the meters are registered
# (the 30-day request, days 9 to 38 from DAY0, is then 1-30 July: a certificate's period lies within
# one calendar month)
DAY0 = T0 // DAY + 1  # the first whole UTC day after registration
PERIODS = (1, 7, 30)
BATCHES = (1, 10, 50)
GOAL_ISSUE = 100_000  # gas per certificate (issue)
GOAL_CLAIM = 50_000  # gas per claim (issue)
PRODUCING = range(44, 52)  # 11:00-13:00 UTC
EXPORT_WH = 2_000
REWARD_EXPORT_WH = 200_000  # the reward meter's producing intervals: 1.6 MWh a day
DECLARATION = Declaration(region="FRK26", support=Support.INVESTMENT).as_call_arg()
SOLAR = b"solar-pv".ljust(32, b"\0")
# one producer: day 0 warm-up; requests of 1, 7 and 30 days; then one-day requests for the batches
ONE_DAYS = 1 + sum(PERIODS) + sum(BATCHES[1:])
DISTINCT = sum(BATCHES)  # devices of the distinct producers
FUNDS = 10 * 10**18


def account(name: str):
    """A deterministic key: addresses (and so calldata, and gas) are the same on every run."""
    return Account.from_key(keccak(text=f"bench-goo-{name}"))


class Bench:
    def __init__(self, chain):
        self.chain = chain
        self.w3 = chain.w3
        self.c = deploy(chain, write=False)
        self.go = self.c.guarantees.functions
        self.owner = account("producer")
        self.owners = [account(f"owner-{i}") for i in range(DISTINCT)]
        # every sender signs locally; the deployer (registry operator and issuing body) stays the node's
        self.w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build([self.owner, *self.owners]),
                                        name="bench-signers", layer=0)
        for a in (self.owner, *self.owners):
            tx = self.w3.eth.send_transaction({"from": chain.sender, "to": a.address, "value": FUNDS})
            self.w3.eth.wait_for_transaction_receipt(tx)

    # --- setup -------------------------------------------------------------------------------------

    def meter(self, name: str, owner: str, capacity_w: int = 10_000):
        key = account(f"meter-{name}")
        mid = meter_id(bytes(32), f"bench-goo-{name}")
        if not self.c.registry.functions.isParticipant(owner).call():
            self.c.transact(self.c.registry.functions.registerParticipant(owner))
        self.c.transact(self.c.registry.functions.registerMeter(mid, key.address, owner, int(MeterKind.PRODUCER),
                                                                capacity_w, SOLAR, 1_700_000_000))
        return mid, key

    def readings(self, mid: bytes, key, days: int, *, first: int = 0, export_wh: int = EXPORT_WH) -> list:
        """``days`` producing days from DAY0 + ``first``, and the midnight reading after them (the end
        checkpoint); a midnight reading already verified is not repeated."""
        previous_end, _, register = self.c.registry.functions.meterState(mid).call()[:3]
        out = []
        for day in range(DAY0 + first, DAY0 + first + days):
            if day * DAY >= previous_end:
                out.append(MeterReading(mid, day * DAY, 0, 0, 0, register))
            for i in PRODUCING:
                register += export_wh
                out.append(MeterReading(mid, day * DAY + 900 * i, 0, export_wh, 0, register))
        out.append(MeterReading(mid, (DAY0 + first + days) * DAY, 0, 0, 0, register))
        # signed as runs; the intervals between are outages the meter declares
        return [r.sign(key, self.chain.chain_id, self.c.registry.address)
                for r in to_runs(out, 900, previous_end=previous_end)]

    # --- measured transactions ---------------------------------------------------------------------

    def send(self, call, sender: str | None = None) -> tuple[dict, int, float]:
        t = time.perf_counter()
        receipt = self.c.transact(call, sender)
        return receipt, receipt["gasUsed"], time.perf_counter() - t

    def request(self, mid: bytes, owner: str, day: int, days: int) -> tuple[int, int, float]:
        """Requests days [DAY0 + day, DAY0 + day + days): (certificate id, gas, seconds)."""
        receipt, gas, seconds = self.send(self.go.requestCertification(mid, DAY0 + day, DAY0 + day + days,
                                                                       DECLARATION), owner)
        [event] = self.c.guarantees.events.CertificationRequested().process_receipt(receipt, errors=DISCARD)
        return event.args.certificateId, gas, seconds

    def approve(self, ids: list[int]) -> tuple[int, float]:
        _, gas, seconds = self.send(self.go.approve(ids))
        return gas, seconds

    # --- the benchmark -----------------------------------------------------------------------------

    def run(self) -> list[dict]:
        self.chain.travel(T0)
        producer = self.owner.address
        mid, key = self.meter("producer", producer)
        devices = [self.meter(f"device-{i}", o.address) for i, o in enumerate(self.owners)]
        rewarded = self.meter("reward", account("reward-owner").address, capacity_w=1_000_000)
        self.chain.travel((DAY0 + ONE_DAYS) * DAY + 3600)  # every interval below has ended
        signed = self.readings(mid, key, ONE_DAYS)
        for m, k in devices:
            signed += self.readings(m, k, 2)
        report = relay(self.c, signed)
        assert not report.rejected, report.rejected[0]

        rows: list[dict] = []

        def row(group, operation, detail, n, gas, txs, seconds, goal=None):
            rows.append({"group": group, "operation": operation, "detail": detail, "n": n, "gas": gas, "txs": txs,
                         "per_cert": gas / n, "excl_base": (gas - 21_000 * txs) / n, "seconds": seconds,
                         "goal": goal})

        # warm-up: the contract's first certificate (its counter) and each device's bitmap word
        warm, _, _ = self.request(mid, producer, 0, 1)
        self.approve([warm])
        first = [self.request(m, self.owners[i].address, 0, 1) for i, (m, _) in enumerate(devices)]
        row("issue", "requestCertification", "1-day period, a device's first request", 1, first[0][1], 1,
            first[0][2])

        # requests of one device, by its owner
        day, requested = 1, {}
        for days in PERIODS:
            requested[days] = self.request(mid, producer, day, days)
            row("issue", "requestCertification", f"{days}-day period", 1, requested[days][1], 1, requested[days][2])
            day += days

        # approvals: one producer
        single_id = requested[1][0]
        batches: dict[tuple[str, int], tuple[list[int], list[tuple[int, float]], int, float]] = {}
        gas, seconds = self.approve([single_id])
        batches["one producer", 1] = [single_id], [requested[1][1:]], gas, seconds
        for n in BATCHES[1:]:
            ids, reqs = [], []
            for _ in range(n):
                cid, g, s = self.request(mid, producer, day, 1)
                ids.append(cid)
                reqs.append((g, s))
                day += 1
            gas, seconds = self.approve(ids)
            batches["one producer", n] = ids, reqs, gas, seconds
        assert day == ONE_DAYS
        # approvals: distinct producers (day 1 of each device, requested by its own owner)
        k = 0
        for n in BATCHES:
            ids, reqs = [], []
            for m, _ in devices[k : k + n]:
                cid, g, s = self.request(m, self.owners[k].address, 1, 1)
                ids.append(cid)
                reqs.append((g, s))
                k += 1
            gas, seconds = self.approve(ids)
            batches["distinct producers", n] = ids, reqs, gas, seconds
        for (shape, n), (ids, reqs, gas, seconds) in batches.items():
            row("issue", "approve", f"{shape}, {n} request{'s' if n > 1 else ''}", n, gas, 1, seconds, GOAL_ISSUE)
        for (shape, n), (ids, reqs, gas, seconds) in batches.items():
            if n in (1, BATCHES[-1]):
                detail = f"{shape}, {'single' if n == 1 else f'batch of {n}'} (1-day requests)"
                row("issue", "request + approve", detail, n, sum(g for g, _ in reqs) + gas, n + 1,
                    sum(s for _, s in reqs) + seconds, GOAL_ISSUE)

        # transfers: part of the one-day certificate, then the 10 certificates of the batch of 10
        self.approve([requested[7][0], requested[30][0]])
        new, other = account("holder-new").address, account("holder-batch").address
        half = 8_000  # Wh: half of a one-day certificate
        for detail in ("part, to a new holder", "part, to an existing holder"):
            _, gas, seconds = self.send(self.go.safeTransferFrom(producer, new, single_id, half // 2, b""), producer)
            row("transfer", "safeTransferFrom", detail, 1, gas, 1, seconds)
        ten = batches["one producer", 10][0]
        for detail in ("10 certificates (part of each), to a new holder", "10 certificates (part of each), "
                       "to an existing holder"):
            call = self.go.safeBatchTransferFrom(producer, other, ten, [half // 2] * len(ten), b"")
            _, gas, seconds = self.send(call, producer)
            row("transfer", "safeBatchTransferFrom", detail, len(ten), gas, 1, seconds)

        # claims: part of the 30-day certificate, by its holder
        cid = requested[30][0]
        start, end = (DAY0 + 9) * DAY, (DAY0 + 39) * DAY
        for detail in ("part, the holder's first claim of the certificate", "part, a second claim"):
            call = self.go.claim(producer, cid, 100_000, beneficiary_id("contract FR-2033-0042"), start, end, b"FR")
            _, gas, seconds = self.send(call, producer)
            row("claim", "claim", detail, 1, gas, 1, seconds, GOAL_CLAIM)
        assert self.go.claimedBalance(producer, cid).call() == 200_000

        # reward claims (SolarReward): 2 days verified (3.2 MWh), claimed; 2 more, claimed again
        for detail, first in (("a meter's first claim (3 tokens)", 0),
                              ("a second claim (3 tokens; 0.2 MWh carried from the first)", 2)):
            report = relay(self.c, self.readings(*rewarded, 2, first=first, export_wh=REWARD_EXPORT_WH))
            assert not report.rejected, report.rejected[0]
            receipt, gas, seconds = self.send(self.c.reward.functions.claim(rewarded[0]))
            [event] = self.c.reward.events.RewardClaimed().process_receipt(receipt, errors=DISCARD)
            assert event.args.tokens == 3, event.args
            row("reward", "reward claim", detail, 1, gas, 1, seconds)
        return rows


def measure(chain) -> list[dict]:
    return Bench(chain).run()


def verdict(r: dict) -> str:
    if r["goal"] is None:
        return ""
    return f"{'met' if r['per_cert'] <= r['goal'] else 'NOT met'} (≤ {r['goal']:,})"


def table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("operation", "what", "certificates", "gas", "gas per certificate", "per certificate excl. 21k base",
                "goal", "wall time"):
        t.add_column(col, justify="left" if col in ("operation", "what", "goal") else "right")
    for r in rows:
        t.add_row(r["operation"], r["detail"], str(r["n"]), f"{r['gas']:,}", f"{r['per_cert']:,.0f}",
                  f"{r['excl_base']:,.0f}", verdict(r), f"{r['seconds'] * 1000:,.0f} ms")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| operation | what | certificates | gas | gas per certificate | excl. 21k base | goal |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['operation']} | {r['detail']} | {r['n']} | {r['gas']:,} | {r['per_cert']:,.0f} | "
                     f"{r['excl_base']:,.0f} | {verdict(r)} |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    def find(operation, detail_start):
        return next(r for r in rows if r["operation"] == operation and r["detail"].startswith(detail_start))

    n = BATCHES[-1]
    a1, an = find("approve", "distinct producers, 1 "), find("approve", f"distinct producers, {n} ")
    f1, fn = find("request + approve", "distinct producers, single"), find("request + approve",
                                                                           f"distinct producers, batch of {n}")
    c1, c2 = find("claim", "part, the holder's first"), find("claim", "part, a second")
    r1, r2 = find("reward claim", "a meter's first"), find("reward claim", "a second")

    def ok(r):
        return "met" if r["per_cert"] <= r["goal"] else "**not met**"

    return (
        f"Goals (issue): at most {GOAL_ISSUE:,} gas to issue a certificate, at most {GOAL_CLAIM:,} to claim one. "
        "Compared with *gas per certificate*: the transactions' gas (21k base included) divided by the "
        "certificates they handle.\n\n"
        f"- issue, *approve only* (the issuing body's transaction): {a1['per_cert']:,.0f} single, "
        f"{an['per_cert']:,.0f} per certificate in a batch of {n} - {ok(a1)} single, {ok(an)} batched;\n"
        f"- issue, *request + approve* (the full issuance, the producer's request included): "
        f"{f1['per_cert']:,.0f} single, {fn['per_cert']:,.0f} per certificate in a batch of {n} - "
        f"{ok(f1)} single, {ok(fn)} batched;\n"
        f"- claim: {c1['per_cert']:,.0f} for a holder's first claim of a certificate, {c2['per_cert']:,.0f} "
        f"for a second - {ok(c1)}, {ok(c2)};\n"
        f"- reward claim (`SolarReward.claim`, no goal): {r1['gas']:,} for a meter's first claim, {r2['gas']:,} for "
        "a later one.\n")


def cases(rows: list[dict]) -> dict[str, int]:
    """The JSON snapshot: each row's gas, and its gas per certificate when it handles several."""
    pairs = []
    for r in rows:
        pairs.append((f"{r['operation']}: {r['detail']}", r["gas"]))
        if r["n"] > 1:
            pairs.append((f"{r['operation']}: {r['detail']}, per certificate", r["per_cert"]))
    return snapshot.cases(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="also run on a real anvil node (wall time)")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=180)
    with connect("embedded") as chain:
        rows = measure(chain)
    console.print(table(rows, "GuaranteeOfOrigin on the embedded EVM (py-evm, cancun)"))
    console.print(summary(rows))
    if args.anvil:
        with start_anvil() as chain:
            anvil_rows = measure(chain)
        console.print(table(anvil_rows, "the same on anvil (wall time through web3.py)"))
        worst = max(abs(a["gas"] - b["gas"]) for a, b in zip(rows, anvil_rows))
        console.print(f"largest gas difference between embedded and anvil: {worst:,}")

    def write_markdown() -> None:
        SNAPSHOT.write_text(
            "# Gas of guarantees of origin (snapshot)\n\n"
            "Written by `benchmarks/guarantees.py --write` with `guarantees.json`; gas from receipts on the\n"
            "embedded EVM (cancun), identical on anvil. Setup and shapes: the docstring of\n"
            "`benchmarks/guarantees.py`.\n\n" + summary(rows) + "\n" + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "guarantees", cases(rows), write_markdown)


if __name__ == "__main__":
    sys.exit(main())
