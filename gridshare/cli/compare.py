"""`gridshare compare SCENARIO`: one community under several market designs, side by side."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridshare.cli.context import console, show
from gridshare.cli.params import OUTPUT_FOLDER
from gridshare.errors import GridshareError
from gridshare.simulate.compare import DESIGNS, ChainPrices, compare as run
from gridshare.simulate.scenario import DEFAULT_SCENARIO, load_scenario
from gridshare.simulate.simulation import DEFAULT_MARKET_INTERVALS


def _amount(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise GridshareError(f"{what} must be a number, not {text!r}") from None
    if not value.is_finite() or value < 0:
        raise GridshareError(f"{what} must be a number >= 0, not {text}")
    return value


@click.command("compare")
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option("--gas-price", default="1", show_default=True, help="Gas price in gwei, for the chain's cost.")
@click.option("--token-price", default="3000", show_default=True,
              help="Price of the chain's token (ETH) in EUR, for the chain's cost.")
@click.option("--out", "out_dir", type=OUTPUT_FOLDER,
              help="Folder of the comparison and of each design's reports [default: reports/compare/<scenario>].")
@click.option("--market-intervals", type=click.IntRange(min=0), default=DEFAULT_MARKET_INTERVALS, show_default=True,
              help="Intervals traded per day (0: every interval where a trade is possible).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
def compare(scenario, gas_price, token_price, out_dir, market_intervals, no_plots):
    """Simulate SCENARIO (a TOML file or a packaged name: lyon-building, street, short) under each
    market design (sharing only; a continuous market after sharing; a call auction after
    sharing; a continuous market instead of sharing), each on a fresh embedded chain, and write a side-by-side table (comparison.csv,
    comparison.md) and plots: self-consumption and coverage rates, each group's bill, kWh traded,
    gas, and the chain's cost per household per year at --gas-price and --token-price."""
    path = scenario or DEFAULT_SCENARIO
    packaged = DEFAULT_SCENARIO.parent / f"{Path(path).name}.toml"
    if not Path(path).is_file() and Path(path).suffix == "" and packaged.exists():
        path = packaged
    sc = load_scenario(path)
    prices = ChainPrices(_amount(gas_price, "--gas-price"), _amount(token_price, "--token-price"))
    out = out_dir or Path("reports") / "compare" / Path(path).stem
    t0 = time.monotonic()
    console.print(f"[bold]{sc.name}[/]: {len(DESIGNS)} designs, each simulated on a fresh embedded chain",
                  highlight=False)
    with Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        rows, files = run(sc, out, prices, progress, market_intervals=market_intervals, plots=not no_plots)
    table = Table(title=f"{sc.name}: market designs side by side (chain at {prices.gas_price_gwei} gwei, "
                        f"{prices.token_eur} EUR/token)", title_justify="left")
    columns = list(dict.fromkeys(c for r in rows for c in r))
    for c in columns:
        table.add_column(c.replace("bill_eur_per_member: ", "bill EUR/member: ").replace("_", " "),
                         justify="left" if c == "design" else "right")
    for r in rows:
        table.add_row(*("" if r.get(c) is None else f"{r[c]:,}" if isinstance(r.get(c), (int, float)) else str(r[c])
                        for c in columns))
    show(table)
    console.print(f"{time.monotonic() - t0:.0f} s. {files['md']} (and {files['csv'].name}"
                  f"{', rates.png, bills.png, chain.png' if 'rates_png' in files else ''}); each design's reports in {out}/",
                  highlight=False)
