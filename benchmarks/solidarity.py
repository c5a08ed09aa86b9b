"""Gas of solidarity: flagging an energy-poor member, a pledge, a gift, and a pledge's distribution.

Run: ``.venv/bin/python benchmarks/solidarity.py [--write | --check]``. Gas from receipts on the
embedded EVM (cancun; the same on anvil), exact and repeatable: deterministic keys, a fixed clock.
``--write`` refreshes ``benchmarks/snapshots/solidarity.md`` and ``solidarity.json``; ``--check``
compares with the JSON (``benchmarks/snapshot.py``).

Setup: an operation with a supplied (static) key, a producer exporting 3,000 Wh per interval and
five households importing 600 Wh each; the key gives one household (not energy-poor) its whole
consumption, so the producer keeps a surplus of 2,400 Wh and the four energy-poor households need
600 Wh each, every interval of a day (96 intervals) shared. The producer then gives once, pledges
half of its surplus, and its pledge is distributed: for one interval (four recipients, 300 Wh each),
then for the rest of the day in one transaction (the gas per interval is the day's cost of a
pledge).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect
from gridshare.chain.operation import allocate, join
from gridshare.domain.allocation import StaticKey, per_mille
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import series_to_readings, to_runs

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "solidarity.md"
T0 = 2_002_968_000  # 2033-06-21 12:00 UTC: a fixed future time
DAY0 = (T0 // 86_400 + 1) * 86_400  # the next midnight: the shared day starts there
INTERVALS = 96
EXPORT_WH, IMPORT_WH = 3_000, 600
POOR = 4
FUNDS = 10**18
SOLAR, GRID = b"solar-pv".ljust(32, b"\0"), b"grid-connection".ljust(32, b"\0")


def account(name: str):
    return Account.from_key(keccak(text=f"bench-solidarity-{name}"))


def measure(chain) -> list[dict]:
    w3 = chain.w3
    chain.travel(T0)
    c = deploy(chain, write=False, allocation_key="supplied")
    producer = account("producer")
    households = [account(f"household-{k}") for k in range(POOR + 1)]  # the last one is not energy-poor
    people = [producer, *households]
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(people), name="bench-signers", layer=0)
    meters = []
    for k, a in enumerate(people):
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": chain.sender, "to": a.address,
                                                                     "value": FUNDS}))
        key, mid = account(f"meter-{k}"), meter_id(bytes(32), f"bench-solidarity-{k}")
        c.transact(c.registry.functions.registerParticipant(a.address))
        kind = MeterKind.PRODUCER if a is producer else MeterKind.CONSUMER
        c.transact(c.registry.functions.registerMeter(mid, key.address, a.address, int(kind), 20_000,
                                                      SOLAR if a is producer else GRID, 1_700_000_000))
        meters.append((mid, key))
    join(c, [mid for mid, _ in meters], DAY0 // 900)
    starts = [DAY0 + 900 * i for i in range(INTERVALS)]
    runs = []
    for (mid, key), a in zip(meters, people):
        previous_end = c.registry.functions.meterState(mid).call()[0]
        exports = [EXPORT_WH if a is producer else 0] * INTERVALS
        imports = [0 if a is producer else IMPORT_WH] * INTERVALS
        readings = series_to_readings(mid, starts, imports, exports)
        runs += [r.sign(key, chain.chain_id, c.registry.address)
                 for r in to_runs(readings, 900, previous_end=previous_end)]
    chain.travel(starts[-1] + 1800)
    names = {"0x" + mid.hex(): a for (mid, _), a in zip(meters, people)}
    rich = "0x" + meters[-1][0].hex()  # the household the static key serves
    allocate(c, runs, key=StaticKey(per_mille({h: int(h == rich) for h in names if names[h] is not producer})))
    ids = [s // 900 for s in starts]

    rows = []

    def row(operation: str, detail: str, receipt, per: int = 1) -> None:
        rows.append({"operation": operation, "detail": detail, "gas": receipt["gasUsed"], "per": per,
                     "per_item": receipt["gasUsed"] / per})

    sol = c.solidarity.functions
    poor = [h.address for h in households[:POOR]]
    row("flag", "the operator flags a member energy-poor (the first)", c.transact(sol.setEnergyPoor(poor[0], True)))
    row("flag", "the operator flags a member energy-poor (a second)", c.transact(sol.setEnergyPoor(poor[1], True)))
    for a in poor[2:]:
        c.transact(sol.setEnergyPoor(a, True))
    row("give", "100 Wh of an interval to one energy-poor member", c.transact(sol.give(ids[0], poor[0], 100),
                                                                              producer.address))
    row("pledge", "a producer pledges 50 % of its surplus", c.transact(sol.pledge(5000), producer.address))
    receipt = c.transact(sol.distribute(producer.address, ids[1:2]))
    row("distribute", f"one interval, {POOR} recipients (300 Wh each)", receipt)
    receipt = c.transact(sol.distribute(producer.address, ids[2:]))
    given = [e.args.givenWh for e in c.solidarity.events.PledgeDistributed().get_logs(from_block=0)]
    assert given == [POOR * 300] * (len(ids) - 1), given  # what the setup says: measured gifts, not no-ops
    row("distribute", f"the rest of the day in one transaction ({len(ids) - 2} intervals, {POOR} recipients), "
                      "per interval", receipt, len(ids) - 2)
    return rows


def table(rows: list[dict]) -> Table:
    t = Table(title="Solidarity on the embedded EVM (py-evm, cancun)", title_justify="left")
    for col in ("operation", "what", "gas", "per interval"):
        t.add_column(col, justify="left" if col in ("operation", "what") else "right")
    for r in rows:
        t.add_row(r["operation"], r["detail"], f"{r['gas']:,}", f"{r['per_item']:,.0f}" if r["per"] > 1 else "")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| operation | what | gas | per interval |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {r['operation']} | {r['detail']} | {r['gas']:,} | "
              f"{format(round(r['per_item']), ',') if r['per'] > 1 else ''} |" for r in rows]
    return "\n".join(lines)


def cases(rows: list[dict]) -> dict[str, int]:
    pairs = []
    for r in rows:
        pairs.append((f"{r['operation']}: {r['detail']}", r["gas"]))
        if r["per"] > 1:
            pairs.append((f"{r['operation']}: {r['detail']}, per interval", r["per_item"]))
    return snapshot.cases(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=160)
    with connect("embedded") as chain:
        rows = measure(chain)
    console.print(table(rows))

    def write_markdown() -> None:
        SNAPSHOT.write_text("# Gas of solidarity (snapshot)\n\nWritten by `benchmarks/solidarity.py --write` with "
                            "`solidarity.json`; gas from receipts on the\nembedded EVM (cancun), identical on anvil. "
                            "Setup: the docstring of `benchmarks/solidarity.py`.\n\n" + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "solidarity", cases(rows), write_markdown)


if __name__ == "__main__":
    sys.exit(main())
