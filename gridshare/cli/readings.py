"""`gridshare readings ...`: relaying signed meter readings."""

from __future__ import annotations

from pathlib import Path

import click

from gridshare.chain.relayer import relay
from gridshare.cli.context import Context, console, err_console, pass_ctx, progress
from gridshare.errors import GridshareError
from gridshare.protocol.readings import load_signed, save_signed


@click.group()
def readings():
    """Signed meter readings."""


@readings.command("submit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--max-gas", type=click.IntRange(100_000, 2**24), default=16_000_000, show_default=True,
              help="Plan each transaction's worst-case gas under this (whole runs).")
@pass_ctx
def readings_submit(ctx: Context, file: Path, max_gas: int):
    """Relay signed runs from FILE (CSV or JSON) in batches; resumable.

    Runs already verified on-chain are skipped, so a rerun after a crash submits only what is
    missing. Runs that cannot be verified (refused, superseded, waiting for missing intervals) are
    listed with why, written to FILE.rejected.csv, and make the exit code 1.
    """
    signed = load_signed(file)
    with ctx.community() as community, progress("relaying runs") as bar:
        task = bar.add_task("relay", total=len(signed))
        report = relay(community, signed, max_gas=max_gas, on_progress=lambda n: bar.advance(task, n))
    console.print(f"{report.submitted} runs ({report.intervals} intervals) verified in {report.batches} batches, "
                  f"{report.already_verified} already on-chain, {len(report.rejected)} not verified"
                  + (f"; {report.gas_used / report.intervals:,.0f} gas per interval" if report.intervals else ""))
    if report.rejected:
        rejected_path = file.with_name(file.stem + ".rejected.csv")
        save_signed(rejected_path, [r.run for r in report.rejected])
        for r in report.rejected:
            err_console.print(f"not verified: {r}")
        raise GridshareError(f"{len(report.rejected)} runs not verified (written to {rejected_path}); fix or drop them")
