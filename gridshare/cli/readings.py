"""`gridshare readings ...`: relaying signed meter readings."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import click

from gridshare.chain import deployment, network
from gridshare.chain.deployment import Community
from gridshare.chain.operation import STILL_IN, members
from gridshare.chain.relayer import Rejection, relay
from gridshare.cli.context import Context, console, err_console, pass_ctx, progress
from gridshare.cli.meter import password
from gridshare.cli.params import METER_POINT, OUTPUT_FILE, salt_option
from gridshare.errors import GridshareError
from gridshare.protocol.enedis_csv import read_steps
from gridshare.protocol.load_curve import CONSUMPTION, PRODUCTION, meter_series, to_intervals
from gridshare.protocol.manifest import read_manifest
from gridshare.protocol.meters import load_keystore, meter_id
from gridshare.protocol.readings import DAY_RUN, SignedReadings, load_signed, save_signed, series_to_readings, to_runs


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
        for line in refusal_lines(report.rejected, community.interval_seconds):
            err_console.print(line, highlight=False)
        raise GridshareError(f"{len(report.rejected)} runs not verified (written to {rejected_path}); fix or drop them")


#: at most this many lines of refusals; the file has them all
MOST_SHOWN = 10


def refusal_lines(rejected: Sequence[Rejection], seconds: int) -> list[str]:
    """The refusals for people: one line per meter and reason (a meter's runs waiting behind a
    refused one share it), its first run's time and how many runs; at most :data:`MOST_SHOWN` lines."""
    groups: dict[tuple[bytes, str], list[Rejection]] = {}
    for r in rejected:
        why = r.error.name if r.error is not None else r.reason.split(":")[0]
        groups.setdefault((r.run.run.meter_id, why), []).append(r)
    lines = []
    for (meter, _), rs in groups.items():
        first = min(rs, key=lambda r: r.run.run.first_interval_start)
        when = datetime.fromtimestamp(first.run.run.first_interval_start, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        count = f"{len(rs)} runs" if len(rs) > 1 else "1 run"
        why = str(first.error) if first.error is not None else first.reason
        lines.append(f"not verified: meter 0x{meter.hex()[:12]}.., {count} from {when}: {why}")
    if len(lines) > MOST_SHOWN:
        lines = lines[:MOST_SHOWN] + [f"... and {len(lines) - MOST_SHOWN} more meters or reasons (every run is in the "
                                      "rejected file)"]
    return lines


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


@readings.command("import-enedis")
@click.argument("curve", type=click.Path(path_type=Path))
@click.option("--point", type=METER_POINT, required=True, help="The meter point (PRM) whose curve to import; its "
              "meterId is computed with the community salt.")
@click.option("--keystore", type=click.Path(path_type=Path), required=True,
              help="The meter's (or its gateway's) signer keystore (password from GRIDSHARE_METER_PASSWORD).")
@click.option("--out", "output", type=OUTPUT_FILE, required=True,
              help="Signed runs, CSV or JSON by the extension: what `readings submit` and `allocate` read.")
@click.option("--flow", type=click.Choice(["consumption", "production"]),
              help="Read the curve as drawn (consumption) or injected (production) when the file has no "
                   "Grandeur métier column; with one, import only that curve [default: CONS and PROD both].")
@salt_option
@click.option("--manifest", type=click.Path(path_type=Path),
              help="Deployment manifest naming the chain and registry [default: deployments/31337.json].")
@click.option("--previous-end", type=click.IntRange(0, 2**64 - 1), default=None,
              help="Where the meter's verified readings end (`meter state`): the first run declares an "
                   "outage from there [default: the curve's first interval].")
@click.option("--import-register", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="The meter's import register (Wh) before the curve's first interval (`meter state`).")
@click.option("--export-register", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="The meter's export register (Wh) before the curve's first interval.")
@click.option("--run-intervals", type=click.IntRange(1, 2976), default=DAY_RUN, show_default=True,
              help="Cut runs every this many intervals since the epoch (members sign the operation's cadence).")
def readings_import_enedis(curve: Path, point: str, keystore: Path, output: Path, flow: str | None,
                           salt: bytes | None, manifest: Path | None, previous_end: int | None,
                           import_register: int, export_register: int, run_intervals: int):
    """Sign an Enedis load curve (CURVE: the ';' CSV of the Enedis portal or SGE, W averaged over
    10/15/30/60-minute steps, Paris time; docs/enedis.md) as the readings of the meter of --point.

    Each step's energy is spread on the deployment's intervals in whole Wh (a 30-minute step in two
    15-minute intervals, the odd Wh in the first). Needs no chain: the chain id, the registry and
    the interval length come from the manifest.
    """
    if salt is None:
        raise GridshareError("the community salt is needed: pass --salt HEX or set GRIDSHARE_COMMUNITY_SALT")
    steps = read_steps(curve)
    m = read_manifest(manifest or deployment.manifest_path(network.ANVIL_CHAIN_ID))
    curves = to_intervals(steps, m.interval_seconds, curve)
    if not curves:
        raise GridshareError(f"{curve} holds no values")
    wanted = {"consumption": CONSUMPTION, "production": PRODUCTION}.get(flow or "")
    starts, imports, exports = meter_series(curves, point, wanted, curve)
    key = load_keystore(keystore, password("GRIDSHARE_METER_PASSWORD", confirm=False))
    mid = meter_id(salt, point)
    rows = series_to_readings(mid, starts, imports, exports, import_register_wh=import_register,
                              export_register_wh=export_register)
    runs = to_runs(rows, m.interval_seconds, previous_end=previous_end, run_intervals=run_intervals)
    signed = [r.sign(key, m.chain_id, m.address("MeterRegistry")) for r in runs]
    save_signed(output, signed)
    console.print(f"PRM {point} -> meter 0x{mid.hex()}: {len(rows)} intervals ({sum(imports):,} Wh imported, "
                  f"{sum(exports):,} Wh exported) signed in {len(signed)} runs with {key.address} for chain "
                  f"{m.chain_id} -> {output}", highlight=False)
