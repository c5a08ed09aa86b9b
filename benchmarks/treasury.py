"""Gas of the community treasury's governance: syncing votes, proposing, voting, queueing, executing.

Run: ``.venv/bin/python benchmarks/treasury.py [--anvil] [--write | --check]``.
Gas comes from transaction receipts on the embedded EVM (cancun, the gas schedule of anvil and
mainnet), so it is exact and repeatable; ``--anvil`` runs the same on a real node and reports the
largest difference. ``--write`` refreshes ``benchmarks/snapshots/treasury.md`` and ``treasury.json``;
``--check`` compares the gas with ``treasury.json`` (``benchmarks/snapshot.py``).

Setup: the chain moves to a fixed future time (days, checkpoints and calldata repeat); three
producers and two consumers, each with one meter (deterministic keys); each producer's export of
one day is verified, up to the next UTC midnight (so that its day counts in its weight). Then, in
order: every meter's first sync (a producer's, a consumer's: mint and the owner's self-delegation),
a sync that changes nothing, a sync after a later day's readings (mint the difference), a
donation, a payout proposal, the votes (the first of a proposal, a later one, one with a reason),
its queueing in the treasury and its execution, and last a sync of a deactivated meter (burn).
The governance settings are the devnet's (docs/protocol.md): they change no gas.
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

from gridshare.chain import treasury
from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect, start_anvil
from gridshare.chain.relayer import relay
from gridshare.domain.votes import SUPPORT
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReadings
from gridshare.protocol.units import DAY

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "treasury.md"
T0 = 2_000_000_000  # a fixed time in the future (2033-05-18 03:33 UTC)
DAY0 = T0 // DAY + 1  # the first whole UTC day after registration
EXPORT_WH = 2_000_000  # a producer's day: 2 MWh in 8 intervals at midday
PRODUCING = range(44, 52)
PAYOUT = 25 * 10**6  # 25 tEUR
SOLAR = b"solar-pv".ljust(32, b"\0")


class Bench:
    def __init__(self, chain):
        self.chain = chain
        self.c = deploy(chain, write=False)
        accounts = chain.accounts()
        self.producers, self.consumers = accounts[1:4], accounts[4:6]
        self.donor = accounts[6]
        self.meters: dict[str, tuple[bytes, object]] = {}
        self.rows: list[dict] = []

    # --- setup -------------------------------------------------------------------------------------

    def setup(self) -> None:
        self.chain.travel(T0)
        c = self.c
        for k, a in enumerate((*self.producers, *self.consumers)):
            key = Account.from_key(keccak(text=f"bench-treasury-meter-{k}"))  # deterministic: repeatable gas
            mid = meter_id(bytes(32), f"bench-treasury-{k}")
            kind = MeterKind.PRODUCER if a in self.producers else MeterKind.CONSUMER
            c.transact(c.registry.functions.registerParticipant(a))
            c.transact(c.registry.functions.registerMeter(mid, key.address, a, int(kind), 10**7, SOLAR,
                                                          1_700_000_000))
            self.meters[a] = (mid, key)
        self.produce(self.producers, DAY0)

    def produce(self, producers: list[str], day: int) -> None:
        """Each producer's export of ``day`` verified: an outage up to its midday, 8 intervals, an
        outage up to the next midnight (runs signed by the meter)."""
        self.chain.travel((day + 1) * DAY + 60)
        signed = []
        for a in producers:
            mid, key = self.meters[a]
            state = self.c.registry.functions.meterState(mid).call()
            first = day * DAY + PRODUCING[0] * 900
            exports = [EXPORT_WH // len(PRODUCING)] * len(PRODUCING)
            run = MeterReadings(mid, state[0], first, [0] * len(exports), exports, state[1], state[2] + EXPORT_WH)
            end = MeterReadings(mid, run.end(900), (day + 1) * DAY, [], [], state[1], state[2] + EXPORT_WH)
            signed += [r.sign(key, self.chain.chain_id, self.c.registry.address) for r in (run, end)]
        assert not relay(self.c, signed).rejected

    # --- measuring ---------------------------------------------------------------------------------

    def send(self, operation: str, detail: str, call, sender: str) -> dict:
        t = time.perf_counter()
        receipt = self.c.transact(call, sender)
        self.rows.append({"operation": operation, "detail": detail, "gas": receipt["gasUsed"],
                          "seconds": time.perf_counter() - t})
        return receipt

    def run(self) -> list[dict]:
        self.setup()
        c, votes, g = self.c, self.c.votes.functions, self.c.governor.functions
        anyone = self.donor
        sync = "sync"
        self.send(sync, "a producer's meter, first (mint, self-delegation)", votes.sync(self.meters[self.producers[0]][0]),
                  anyone)
        self.send(sync, "a consumer's meter, first (mint, self-delegation)", votes.sync(self.meters[self.consumers[0]][0]),
                  anyone)
        for a in (*self.producers[1:], *self.consumers[1:]):
            c.transact(votes.sync(self.meters[a][0]), anyone)
        self.send(sync, "weight unchanged (nothing written)", votes.sync(self.meters[self.producers[0]][0]), anyone)
        self.produce(self.producers[:1], DAY0 + 1)
        self.send(sync, "after a later day's readings (mint the difference)",
                  votes.sync(self.meters[self.producers[0]][0]), anyone)

        c.transact(c.payment.functions.faucet(100 * 10**6), self.donor)
        self.send("donate", "a payment-token transfer to the treasury (for reference)",
                  c.payment.functions.transfer(c.treasury.address, 100 * 10**6), self.donor)
        data = bytes.fromhex(c.payment.encode_abi("transfer", [self.consumers[0], PAYOUT])[2:])
        description = "Pay the winter bill of an energy-poor member: 25 tEUR"
        receipt = self.send("propose", "a payout (one payment-token transfer), 53-byte description",
                            g.propose([c.payment.address], [0], [data], description), self.producers[0])
        pid = c.governor.events.ProposalCreated().process_receipt(receipt)[0].args.proposalId
        p = treasury.proposal(c, pid)
        self.chain.travel(p.vote_start + 1)
        self.send("castVote", "the first vote of a proposal (for)", g.castVote(pid, SUPPORT["for"]), self.producers[0])
        self.send("castVote", "a later vote, the first against", g.castVote(pid, SUPPORT["against"]), self.consumers[0])
        self.send("castVote", "castVoteWithReason, for (a later one), a 30-byte reason",
                  g.castVoteWithReason(pid, SUPPORT["for"], "a battery can wait: bills now"), self.producers[1])
        self.chain.travel(p.vote_end + 1)
        self.send("queue", "a payout that passed: scheduled in the treasury", g.queue(*p.call_args), anyone)
        self.chain.travel(g.proposalEta(pid).call() + 1)
        self.send("execute", "the payout: the treasury transfers the payment token", g.execute(*p.call_args), anyone)
        assert c.payment.functions.balanceOf(self.consumers[0]).call() == PAYOUT

        c.transact(c.registry.functions.deactivateMeter(self.meters[self.consumers[1]][0]))
        self.send(sync, "a deactivated meter (burn its weight)", votes.sync(self.meters[self.consumers[1]][0]), anyone)
        return self.rows


def measure(chain_factory) -> list[dict]:
    with chain_factory() as chain:
        return Bench(chain).run()


def table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("operation", "what", "gas", "wall time"):
        t.add_column(col, justify="left" if col in ("operation", "what") else "right")
    for r in rows:
        t.add_row(r["operation"], r["detail"], f"{r['gas']:,}", f"{r['seconds'] * 1000:,.0f} ms")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| operation | what | gas |", "| --- | --- | ---: |"]
    lines += [f"| {r['operation']} | {r['detail']} | {r['gas']:,} |" for r in rows]
    return "\n".join(lines)


def cases(rows: list[dict]) -> dict[str, int]:
    return snapshot.cases((f"{r['operation']}: {r['detail']}", r["gas"]) for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="also run on a real anvil node")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=160)
    rows = measure(lambda: connect("embedded"))
    console.print(table(rows, "The community treasury on the embedded EVM (py-evm, cancun)"))
    if args.anvil:
        anvil_rows = measure(start_anvil)
        console.print(table(anvil_rows, "the same on anvil"))
        worst = max(abs(a["gas"] - b["gas"]) for a, b in zip(rows, anvil_rows))
        console.print(f"largest gas difference between embedded and anvil: {worst:,}")

    def write_markdown() -> None:
        SNAPSHOT.write_text(
            "# Gas of the community treasury (snapshot)\n\n"
            "Written by `benchmarks/treasury.py --write` with `treasury.json`; gas from receipts on the embedded EVM\n"
            "(cancun). Setup: the docstring of `benchmarks/treasury.py`.\n\n" + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "treasury", cases(rows), write_markdown)


if __name__ == "__main__":
    sys.exit(main())
