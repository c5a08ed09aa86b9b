"""`gridshare demo`: one day of a small Lyon community, end to end on the embedded chain.

Three producers (a shared rooftop plant owned by the operator and two private rooftops, pvlib
clear-sky PV) and seven households (demandlib BDEW H0 profiles) on 21 June 2026 at 15 minutes.
Every meter signs its 96 readings with its own key; the community's self-consumption operation
verifies them and, in the same transactions, mints verified export as crypto-kWh and shares each
interval's production pro rata of consumption (the dynamic default key, computed on-chain): the
households consume what they receive against their verified import; the rest is surplus.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridshare.deployment import deploy
from gridshare.meter import MeterKind, meter_id, new_community_salt, new_meter_key
from gridshare.network import connect
from gridshare.profiles import LYON, household_import_wh, interval_starts, pv_export_wh
from gridshare.reading import interval_id, series_to_readings
from gridshare.operation import allocate, join

DAY = date(2026, 6, 21)
INTERVAL = 900
SOLAR = b"solar-pv".ljust(32, b"\0")
GRID = b"grid-connection".ljust(32, b"\0")

#: (name, kind, capacity W, annual consumption kWh or PV kWp)
PRODUCERS = [("Shared rooftop plant", 9_000), ("Rooftop, 4 rue Vaubecour", 6_000), ("Rooftop, 11 quai Perrache", 3_000)]
HOUSEHOLDS = [("Flat 1A", 2_200), ("Flat 1B", 3_400), ("Flat 2A", 4_100), ("Flat 2B", 1_800),
              ("Flat 3A", 5_200), ("Flat 3B", 2_900), ("Flat 4A", 3_700)]
HOUSEHOLD_CAPACITY_W = 9_000  # a 9 kVA connection


@dataclass
class DemoMeter:
    name: str
    kind: MeterKind
    owner: str
    capacity_w: int
    id: bytes
    key: object
    imports: list[int]
    exports: list[int]


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def run(console: Console | None = None) -> dict:
    """Run the demo; prints its tables and returns the figures (for tests)."""
    console = console or Console()
    t0 = time.monotonic()
    chain = connect("embedded")
    community = deploy(chain, interval_seconds=INTERVAL, write=False)
    registry, token = community.registry, community.token
    console.print(f"[bold]gridshare demo[/] - {DAY:%d %B %Y}, Lyon, {INTERVAL // 60}-minute intervals, "
                  f"embedded chain {chain.chain_id}")
    console.print(f"MeterRegistry {registry.address}  EnergyToken {token.address}")

    starts = interval_starts(DAY, 1, INTERVAL, LYON.tz)
    owners = chain.accounts()  # the operator owns the shared plant; one account per other meter
    salt = new_community_salt()
    meters: list[DemoMeter] = []
    for i, (name, kwp) in enumerate(PRODUCERS):
        exports = pv_export_wh(kwp, starts, INTERVAL)
        meters.append(DemoMeter(name, MeterKind.PRODUCER, owners[i], kwp, meter_id(salt, f"3000000000000{i}"),
                                new_meter_key(), [0] * len(starts), exports))
    for j, (name, annual) in enumerate(HOUSEHOLDS):
        imports = household_import_wh(annual, starts, INTERVAL, seed=j)
        meters.append(DemoMeter(name, MeterKind.CONSUMER, owners[len(PRODUCERS) + j], HOUSEHOLD_CAPACITY_W,
                                meter_id(salt, f"3000000000001{j}"), new_meter_key(), imports, [0] * len(starts)))

    with _progress(console) as progress:
        task = progress.add_task("registering meters", total=len(meters))
        for m in meters:
            if not registry.functions.isParticipant(m.owner).call():
                community.transact(registry.functions.registerParticipant(m.owner))
            community.transact(registry.functions.registerMeter(
                m.id, m.key.address, m.owner, int(m.kind), m.capacity_w,
                SOLAR if m.kind == MeterKind.PRODUCER else GRID, 1_700_000_000))
            progress.advance(task)

        signed = []
        task = progress.add_task("meters signing readings", total=len(meters) * len(starts))
        for m in meters:
            for reading in series_to_readings(m.id, starts, m.imports, m.exports,
                                              import_register_wh=1_000_000, export_register_wh=500_000):
                signed.append(reading.sign(m.key, chain.chain_id, registry.address))
                progress.advance(task)

        # the operation shares each interval as it verifies its readings (dynamic default key)
        join(community, [m.id for m in meters], interval_id(starts[0], INTERVAL))
        task = progress.add_task("verifying and sharing", total=len(starts))
        report = allocate(community, signed, intervals_per_transaction=4, on_progress=lambda n: progress.advance(task, n))

    ids = [interval_id(s, INTERVAL) for s in starts]
    table = Table(title=f"Verified energy and crypto-kWh, {DAY:%d %B %Y}", title_justify="left")
    for col in ("meter", "kind", "owner", "imported kWh", "exported kWh", "local kWh in", "local kWh out",
                "tokens held kWh"):
        table.add_column(col, justify="left" if col in ("meter", "kind", "owner") else "right")
    figures = {}
    for m in meters:
        accounts = [token.functions.intervalAccount(m.owner, i).call() for i in ids]
        held = sum(a[0] for a in accounts)
        local_in = sum(a[3] for a in accounts)  # redeemed: received and consumed locally
        local_out = sum(a[1] - a[0] for a in accounts)  # minted - held: given locally
        state = registry.functions.meterState(m.id).call()
        figures[m.name] = {"import_wh": state[1] - 1_000_000, "export_wh": state[2] - 500_000,
                           "local_in_wh": local_in, "local_out_wh": local_out, "redeemed_wh": local_in,
                           "held_wh": held}
        table.add_row(m.name, m.kind.name.lower(), m.owner[:10] + "..", *(f"{v / 1000:,.2f}" for v in (
            figures[m.name]["import_wh"], figures[m.name]["export_wh"], local_in, local_out, held)))
    console.print(table)
    produced = sum(f["export_wh"] for f in figures.values())
    consumed = sum(f["import_wh"] for f in figures.values())
    shared = sum(f["redeemed_wh"] for f in figures.values())
    console.print(
        f"{len(signed)} readings verified and {report.intervals} intervals shared in {report.transactions} "
        f"transactions ({report.gas_used / len(signed):,.0f} gas per reading, sharing included). "
        f"Produced {produced / 1000:,.1f} kWh, consumed {consumed / 1000:,.1f} kWh, shared locally "
        f"{shared / 1000:,.1f} kWh ({shared / consumed:.0%} of consumption); surplus {(produced - shared) / 1000:,.1f} kWh "
        f"stays with the producers as tokens. {time.monotonic() - t0:.0f} s."
    )
    # the day's report for the community (Enedis R15 quantities, rates, CSV and plots)
    from pathlib import Path

    from gridshare.report import participants_table, quantities, summarize, write_report

    t1 = time.monotonic()
    start, end = starts[0], starts[-1] + INTERVAL
    summary = summarize(quantities(community, start, end), names={m.owner: m.name for m in meters},
                        tz=LYON.tz, start=start, end=end)
    report_dir = Path("reports") / "demo"
    paths = write_report(summary, report_dir, f"Lyon community, {DAY:%d %B %Y}")
    console.print(participants_table(summary, f"Collective self-consumption, {DAY:%d %B %Y}"))
    console.print(f"report ({time.monotonic() - t1:.1f} s): " + ", ".join(str(p) for p in paths), highlight=False)
    chain.close()
    return {"meters": figures, "report": report, "report_dir": report_dir}
