"""`gridshare simulate SCENARIO`: a whole community end to end on a chain, and its reports."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridshare.cli import Context, console, pass_ctx
from gridshare.scenario import DEFAULT_SCENARIO, load_scenario
from gridshare.simulation import DEFAULT_MARKET_INTERVALS, simulate as run


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder of the reports [default: reports/simulate/<scenario file name>].")
@click.option("--seed", type=int, help="Seed of the market agents [default: the scenario's seed].")
@click.option("--market-intervals", type=click.IntRange(min=0), default=DEFAULT_MARKET_INTERVALS, show_default=True,
              help="Intervals traded per day (0: every interval where a trade is possible).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@pass_ctx
def simulate(ctx: Context, scenario, out_dir, seed, market_intervals, no_plots):
    """Simulate SCENARIO (a TOML file; default: the packaged 50-dwelling Lyon week) end to end.

    Deploys the community, registers its meters, signs, verifies and shares every interval,
    trades what is left in the market, issues guarantees of origin, and writes CSV files, plots
    and report.html. On --network anvil a rerun with the same --out resumes where it stopped.
    """
    path = scenario or DEFAULT_SCENARIO
    sc = load_scenario(path)  # a bad file: one line naming the field
    out_dir = out_dir or Path("reports") / "simulate" / Path(path).stem
    t0 = time.monotonic()
    with ctx.chain() as chain:
        console.print(f"[bold]{sc.name}[/]: {sc.households.count} households, "
                      f"{sc.period.days} day(s) from {sc.period.start}, on {chain.network} (chain {chain.chain_id})",
                      highlight=False)
        with Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as progress:
            result = run(sc, chain, out_dir, progress, seed=seed, market_intervals=market_intervals,
                         plots=not no_plots)
    checks = ", ".join(f"{v} {k}" for k, v in result.checks.items())
    console.print(f"checked against the engines: {checks}; all equal", highlight=False)
    if result.resumed:
        console.print("resumed: " + ", ".join(f"{k} {v}" for k, v in result.resumed.items()), highlight=False)
    console.print(f"{len(result.trades)} trades, {len(result.certificates)} certificates; "
                  f"{time.monotonic() - t0:.0f} s. Report: {result.files['html']}", highlight=False)
