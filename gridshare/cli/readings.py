"""`gridshare readings ...`: relaying signed meter readings."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import click

from gridshare.chain.deployment import Community
from gridshare.chain.operation import STILL_IN, members
from gridshare.chain.relayer import relay
from gridshare.cli.context import Context, console, err_console, pass_ctx, progress
from gridshare.errors import GridshareError
from gridshare.protocol.readings import SignedReadings, load_signed, save_signed


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
    with ctx.community() as community:
        _refuse_members(community, signed, file)
        with progress("relaying runs") as bar:
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


def _refuse_members(community: Community, signed: Sequence[SignedReadings], file: Path) -> None:
    """Refuse runs of the operation's members over their membership that are not verified yet:
    verified here they would never be shared (``gridshare allocate`` verifies and shares them)."""
    seconds = community.interval_seconds
    spans: dict[bytes, list[tuple[int, int]]] = {}
    for m in members(community):
        until = 2**64 if m.until_interval == STILL_IN else m.until_interval * seconds
        spans.setdefault(m.meter_id, []).append((m.from_interval * seconds, until))
    ends: dict[bytes, int] = {}
    for s in signed:
        run = s.run
        if any(run.previous_end < until and start < run.end(seconds) for start, until in spans.get(run.meter_id, [])):
            ends[run.meter_id] = max(ends.get(run.meter_id, 0), run.end(seconds))
    for meter_id, end in ends.items():
        verified_until = community.registry.functions.meterState(meter_id).call()[0]
        if end > verified_until:
            since = min(start for start, _ in spans[meter_id])
            raise GridshareError(
                f"meter 0x{meter_id.hex()[:12]}.. is a member of the operation since "
                f"{datetime.fromtimestamp(since, timezone.utc):%Y-%m-%d %H:%M} UTC: its readings there are verified "
                f"and shared by `gridshare allocate {file}` (submitted here they would never be shared); nothing "
                "was submitted")
