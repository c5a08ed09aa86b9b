"""`gridshare simulate SCENARIO` (and `gridshare demo`): a whole community end to end on a chain, and its reports."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridshare.chain import deployment
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import OUTPUT_FOLDER
from gridshare.simulate.report import group_rows, summary_rows
from gridshare.simulate.scenario import DEFAULT_SCENARIO, load_scenario
from gridshare.simulate.simulation import DEFAULT_MARKET_INTERVALS, STATE_FILE, SimulationResult
from gridshare.simulate.simulation import simulate as run


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option("--out", "out_dir", type=OUTPUT_FOLDER,
              help="Folder of the reports [default: reports/simulate/<scenario file name>].")
@click.option("--seed", type=int, help="Seed of the market agents [default: the scenario's seed].")
@click.option("--market-intervals", type=click.IntRange(min=0), default=DEFAULT_MARKET_INTERVALS, show_default=True,
              help="Intervals traded per day (0: every interval where a trade is possible).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--shared-devnet", is_flag=True, help="On --network anvil, run on the devnet of the other commands "
              "(.gridshare/), moving its clock, and leave the simulated community on it (its manifest becomes "
              "deployments/31337.json, for dApps and `gridshare web`); by default the simulation has a devnet of "
              "its own, in --out.")
@pass_ctx
def simulate(ctx: Context, scenario, out_dir, seed, market_intervals, no_plots, shared_devnet):
    """Simulate SCENARIO (a TOML file, or the name of a packaged one: lyon-building, street, amep, short;
    default: the packaged 50-dwelling Lyon week) end to end.

    Deploys the community, registers its meters, signs, verifies and shares every interval,
    trades what is left in the market, issues guarantees of origin and claims them for the
    households, and writes CSV files, plots and report.html. On --network anvil the simulation
    has a devnet of its own in --out (unless --shared-devnet), and a run that was interrupted
    resumes where it stopped when run again with the same --out.
    """
    path = scenario or DEFAULT_SCENARIO
    packaged = DEFAULT_SCENARIO.parent / f"{Path(path).name}.toml"
    if not Path(path).is_file() and Path(path).suffix == "" and packaged.exists():
        path = packaged  # `gridshare simulate street`: the packaged scenario of that name
    _run(ctx, path, out_dir or Path("reports") / "simulate" / Path(path).stem, seed, market_intervals, not no_plots,
         shared_devnet)


@click.command()
@pass_ctx
def demo(ctx: Context):
    """The main job on the default scenario: a 50-dwelling Lyon building for a June week, into reports/demo/."""
    _run(ctx, DEFAULT_SCENARIO, Path("reports") / "demo", None, DEFAULT_MARKET_INTERVALS, True)


def _run(ctx: Context, path: Path, out_dir: Path, seed, market_intervals: int, plots: bool,
         shared_devnet: bool = False) -> None:
    sc = load_scenario(path)  # a bad file: one line naming the field
    t0 = time.monotonic()
    # on anvil, a devnet of its own (kept with the reports, so that a rerun resumes): the user's
    # devnet, its clock and its community are not touched
    with ctx.chain(anvil_state=None if shared_devnet else out_dir / "anvil-state.json") as chain:
        console.print(f"[bold]{sc.name}[/]: {sc.households.count} households, "
                      f"{sc.period.days} day(s) from {sc.period.start}, on {chain.network} (chain {chain.chain_id})",
                      highlight=False)
        with Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as progress:
            result = run(sc, chain, out_dir, progress, seed=seed, market_intervals=market_intervals, plots=plots)
        if shared_devnet and chain.network == "anvil":  # left on the devnet: its community for dApps and commands
            manifest = deployment.write_manifest(json.loads((out_dir / STATE_FILE).read_text())["manifest"])
            console.print(f"the devnet's community is now the simulated one: {manifest} (`make web` shows it)",
                          highlight=False)
    _print(result)
    console.print(f"{time.monotonic() - t0:.0f} s. Report: {result.files['html']} (and the CSV files and plots "
                  f"next to it)", highlight=False)


#: group_rows column -> terminal header
COLUMNS = {"group": "group", "participants": "n", "exported_kwh": "export kWh", "given_locally_kwh": "given kWh",
           "imported_kwh": "import kWh", "received_locally_kwh": "received kWh", "bought_market_kwh": "bought kWh",
           "sold_market_kwh": "sold kWh", "given_solidarity_kwh": "gifts out kWh",
           "received_solidarity_kwh": "gifts in kWh", "from_supplier_kwh": "supplier kWh", "paid_market_eur": "paid EUR",
           "earned_market_eur": "earned EUR"}


OPTIONAL_COLUMNS = {"bought_market_kwh", "sold_market_kwh", "given_solidarity_kwh", "received_solidarity_kwh",
                    "paid_market_eur", "earned_market_eur"}


def _print(result: SimulationResult) -> None:
    summary = Table(title=result.scenario.name, title_justify="left", show_header=False)
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    for row in summary_rows(result):
        value = row["value"]
        summary.add_row(row["figure"], f"{value:,}" if isinstance(value, (int, float)) else str(value))
    show(summary)
    rows = group_rows(result)
    # the market's and the gifts' columns only where something was traded or given
    columns = [c for c in COLUMNS if c not in OPTIONAL_COLUMNS or any(g[c] for g in rows)]
    groups = Table(title="By group (every participant: participants.csv)", title_justify="left")
    for c in columns:
        groups.add_column(COLUMNS[c], justify="left" if c == "group" else "right")
    for g in rows:
        groups.add_row(*(f"{g[c]:,.1f}" if isinstance(g[c], float) else str(g[c]) for c in columns))
    show(groups)
    if result.resumed:
        console.print("resumed: " + ", ".join(f"{k} {v}" for k, v in result.resumed.items()), highlight=False)
