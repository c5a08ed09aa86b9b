"""`gridshare meter ...`: meter keys, ids, registration, state and signing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.table import Table

from gridshare.chain import deployment, ledger, network, reward
from gridshare.cli.context import Context, console, pass_ctx, progress, show
from gridshare.cli.params import ADDRESS, METER_ID, METER_POINT, OUTPUT_FILE, PAST_DAY, salt_option
from gridshare.errors import GridshareError
from gridshare.protocol.guarantees import day_of
from gridshare.protocol.manifest import read_manifest
from gridshare.protocol.meters import (
    MeterKind,
    keystore_address,
    load_keystore,
    meter_id,
    new_meter_key,
    save_keystore,
)
from gridshare.protocol.readings import DAY_RUN, load_unsigned, save_signed, save_unsigned, to_runs
from gridshare.simulate.example_readings import example_readings
from gridshare.protocol.units import utc_text


@click.group()
def meter():
    """Meters: keys, ids, registration and signing."""


def _salt(salt: bytes | None) -> bytes:
    if salt is None:
        raise GridshareError("the community salt is needed: pass --salt HEX or set GRIDSHARE_COMMUNITY_SALT")
    return salt


def password(envvar: str, confirm: bool) -> str:
    """A keystore's password: from ``envvar``, else asked on a terminal."""
    secret = os.environ.get(envvar)
    if secret is None:
        if not sys.stdin.isatty():
            raise GridshareError(f"a keystore password is needed: set {envvar}")
        secret = click.prompt("keystore password", hide_input=True, confirmation_prompt=confirm)
    return secret


@meter.command("new-key")
@click.argument("keystore", type=OUTPUT_FILE)
def meter_new_key(keystore: Path):
    """Create a meter signer key, encrypted as a V3 keystore (password from GRIDSHARE_METER_PASSWORD)."""
    if keystore.exists():
        raise GridshareError(f"{keystore} exists; refusing to overwrite a key")
    key = new_meter_key()
    save_keystore(key, keystore, password("GRIDSHARE_METER_PASSWORD", confirm=True))
    console.print(f"meter signer {key.address} -> {keystore}")


@meter.command("id")
@click.option("--point", type=METER_POINT, required=True, help="Meter point number (PRM/PDL); never sent to the chain.")
@salt_option
def meter_id_cmd(point, salt):
    """Print the meterId of a meter point."""
    console.print("0x" + meter_id(_salt(salt), point).hex())


@meter.command("register")
@click.option("--point", type=METER_POINT, required=True, help="Meter point number (PRM/PDL).")
@salt_option
@click.option("--signer", type=ADDRESS, help="Address of the meter's signer key.")
@click.option("--signer-keystore", type=click.Path(path_type=Path),
              help="Or the signer's keystore (its address is read, the key stays encrypted).")
@click.option("--owner", type=ADDRESS, required=True, help="Participant who receives what the meter earns.")
@click.option("--kind", type=click.Choice(["producer", "consumer", "prosumer"]), required=True)
@click.option("--capacity", "capacity_w", type=click.IntRange(1, 2**64 - 1), required=True, help="Capacity in W.")
@click.option("--technology", default="solar-pv", show_default=True, help="Up to 32 bytes, e.g. solar-pv.")
@click.option("--commissioned", type=PAST_DAY, help="Commissioning date, YYYY-MM-DD (not in the future).")
@pass_ctx
def meter_register(ctx: Context, point, salt, signer, signer_keystore, owner, kind, capacity_w, technology,
                   commissioned):
    """Register a meter (operator only); its owner is admitted as a participant if needed."""
    if (signer is None) == (signer_keystore is None):
        raise GridshareError("name the meter's signer: --signer ADDRESS or --signer-keystore FILE (one of them)")
    if signer_keystore is not None:
        signer = keystore_address(signer_keystore)
    mid = meter_id(_salt(salt), point)
    tech = technology.encode()
    if len(tech) > 32:
        raise GridshareError(f"--technology is {len(tech)} bytes; at most 32")
    when = day_of(commissioned) * 86_400 if commissioned else 0
    with ctx.community() as community:
        registry = community.registry
        if not registry.functions.isParticipant(owner).call():
            community.transact(registry.functions.registerParticipant(owner))
            console.print(f"participant {owner} registered")
        community.transact(registry.functions.registerMeter(
            mid, signer, owner, int(MeterKind.parse(kind)), capacity_w, tech.ljust(32, b"\0"), when))
        first = registry.functions.meterState(mid).call()[0]
    console.print(f"meter 0x{mid.hex()} registered ({kind}, {capacity_w} W, owner {owner}); its readings "
                  f"start at {utc_text(first)} (previousEnd {first})")


@meter.command("list")
@pass_ctx
def meter_list(ctx: Context):
    """Every registered meter: owner, kind, capacity, and the totals of its verified readings."""
    with ctx.community(read_only=True) as community:
        meters = ledger.meters(community)
    table = Table(title=f"{len(meters)} meters", title_justify="left")
    for header, right in (("meterId", False), ("owner", False), ("kind", False), ("capacity kW", True),
                          ("intervals", True), ("import kWh", True), ("export kWh", True)):
        table.add_column(header, justify="right" if right else "left")
    for m in meters.values():
        table.add_row("0x" + m.meter_id.hex(), m.owner, m.kind.name.lower(), f"{m.capacity_w / 1000:g}",
                      f"{m.readings:,}", f"{m.import_wh / 1000:,.3f}", f"{m.export_wh / 1000:,.3f}")
    show(table, empty="no meter registered yet: `gridshare meter register` (operator)")


@meter.command("state")
@click.argument("meter_id", type=METER_ID)
@pass_ctx
def meter_state(ctx: Context, meter_id: bytes):
    """Where METER_ID's verified readings end: the previousEnd its next run signs, and its registers."""
    with ctx.community(read_only=True) as community:
        state = community.registry.functions.meterState(meter_id).call()
    nxt, imp, exp, verified, known = state
    registers = f"registers import {imp:,} Wh, export {exp:,} Wh" if known else "no run verified yet"
    console.print(f"verified readings end at {utc_text(nxt)}: previousEnd {nxt}; {registers}; "
                  f"verified export {verified:,} Wh")


@meter.command("reward")
@click.argument("meter_id", type=METER_ID)
@click.option("--check", is_flag=True, help="Only show what a claim would mint now; send nothing.")
@pass_ctx
def meter_reward(ctx: Context, meter_id: bytes, check: bool):
    """Claim METER_ID's solar reward: one SolarReward token per MWh of its verified export not yet
    rewarded (counted to the start of the UTC day its readings reached), minted to its owner whoever
    sends; the remainder below a MWh carries to the next claim."""
    with ctx.community(read_only=check) as community:
        now = reward.claimable(community, meter_id)
        if check:
            console.print(f"meter 0x{meter_id.hex()[:12]}..: {now.tokens:,} SUN claimable ({now.wh:,} Wh) of "
                          f"{now.verified_wh:,} Wh verified, {now.rewarded_wh:,} Wh rewarded before; "
                          f"{now.carried_wh:,} Wh would carry")
            return
        done = reward.claim(community, meter_id)
    console.print(f"meter 0x{meter_id.hex()[:12]}..: {done.tokens:,} SUN minted to {done.owner} "
                  f"({done.rewarded_wh:,} Wh rewarded in all; {now.verified_wh - done.rewarded_wh:,} Wh carried to "
                  f"the next claim)")


@meter.command("example-readings")
@click.argument("meter_id", type=METER_ID)
@click.argument("output", type=OUTPUT_FILE)
@click.option("--days", type=click.IntRange(1, 31), default=2, show_default=True,
              help="Whole UTC days after the meter's readings end (with the rest of their first day).")
@pass_ctx
def meter_example_readings(ctx: Context, meter_id: bytes, output: Path, days: int):
    """Write example readings of a registered meter into OUTPUT (CSV, as `meter sign` reads them): from
    where its verified readings end to the end of --days whole UTC days after, on clear-sky days
    (PV of its capacity for a producer, a household's load for a consumer, both for a prosumer).
    For trying the flow on a devnet without a real meter."""
    with ctx.community(read_only=True) as c:
        info = c.registry.functions.meter(meter_id).call()
        start, imp, exp, _verified, _known = c.registry.functions.meterState(meter_id).call()
        now = c.chain.w3.eth.get_block("latest")["timestamp"]
        seconds = c.interval_seconds
    end = (start // 86_400 + days + 1) * 86_400
    rows = example_readings(meter_id, MeterKind(info[2]), info[4], start, end, seconds, imp, exp)
    save_unsigned(output, rows)
    console.print(f"{len(rows)} readings of 0x{meter_id.hex()[:12]}.. from {utc_text(start)} to {utc_text(end)} "
                  f"-> {output} (import {sum(r.import_wh for r in rows) / 1000:,.3f} kWh, export "
                  f"{sum(r.export_wh for r in rows) / 1000:,.3f} kWh)")
    if end > now:
        console.print(f"they end after the chain's time ({utc_text(now)}): the chain verifies readings of ended "
                      f"intervals only; on a devnet: gridshare --network anvil devnet advance --days "
                      f"{(end - now + 86_399) // 86_400}")


@meter.command("sign")
@click.argument("keystores", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="KEYSTORE...")
@click.argument("readings", type=click.Path(path_type=Path))
@click.argument("output", type=OUTPUT_FILE)
@click.option("--manifest", type=click.Path(path_type=Path),
              help="Deployment manifest naming the chain and registry [default: deployments/31337.json].")
@click.option("--previous-end", type=click.IntRange(0, 2**64 - 1), default=None,
              help="Unix time where the meter's verified readings end (its nextIntervalStart on-chain): "
                   "the first run declares an outage from there [default: its first interval].")
@click.option("--run-intervals", type=click.IntRange(1, 2976), default=DAY_RUN, show_default=True,
              help="Cut runs every this many intervals since the epoch (96: at each UTC day for 15-minute "
                   "intervals). Members of an operation sign the operation's cadence.")
@pass_ctx
def meter_sign(ctx: Context, keystores: tuple[Path, ...], readings: Path, output: Path, manifest: Path | None,
               previous_end: int | None, run_intervals: int):
    """Sign unsigned READINGS (CSV, one row per interval: meterId, intervalStart, importWh, exportWh,
    importRegisterWh, exportRegisterWh) into runs in OUTPUT (CSV or JSON).

    With one KEYSTORE, it signs every row and needs no chain: the chain id, the registry and the
    interval length come from the manifest. With several (a gateway's meters, one file), each
    meter's rows are signed by the keystore of its signer registered on-chain (read with the
    global --network/--rpc-url options); all open with GRIDSHARE_METER_PASSWORD. Intervals the
    file skips become outages the meter declares (signed).
    """
    m = read_manifest(manifest or deployment.manifest_path(network.ANVIL_CHAIN_ID))
    secret = password("GRIDSHARE_METER_PASSWORD", confirm=False)
    keys = [load_keystore(k, secret) for k in keystores]
    rows = load_unsigned(readings)
    if not rows:
        raise GridshareError(f"{readings} holds no readings")
    runs = to_runs(rows, m.interval_seconds, previous_end=previous_end, run_intervals=run_intervals)
    registry = m.address("MeterRegistry")
    signers = _signers(ctx, m, keys, sorted({r.meter_id for r in runs})) if len(keys) > 1 else {}
    signed = []
    with progress("signing runs") as bar:
        task = bar.add_task("sign", total=len(runs))
        for r in runs:
            signed.append(r.sign(signers.get(r.meter_id, keys[0]), m.chain_id, registry))
            bar.advance(task)
    save_signed(output, signed)
    by = keys[0].address if len(keys) == 1 else f"the keys of {len({s.run.meter_id for s in signed})} meters"
    console.print(f"signed {len(rows)} readings in {len(signed)} runs with {by} for chain {m.chain_id} -> {output}")


def _signers(ctx: Context, m, keys: list, meter_ids: list[bytes]) -> dict[bytes, object]:
    """Each meter's key among ``keys``: the one whose address is the meter's signer on-chain."""
    by_address = {k.address: k for k in keys}
    out = {}
    with ctx.community(read_only=True) as c:
        if c.registry.address != m.address("MeterRegistry") or c.chain.chain_id != m.chain_id:
            raise GridshareError(f"the manifest names registry {m.address('MeterRegistry')} on chain {m.chain_id}, "
                                 f"the chain has {c.registry.address} on chain {c.chain.chain_id}: pass the "
                                 "--manifest of this chain, or the --network/--rpc-url of the manifest's")
        for mid in meter_ids:
            try:
                signer = c.registry.functions.meter(mid).call()[0]
            except Exception as exc:  # noqa: BLE001 - a revert is named below, anything else raised
                if c.errors.from_exception(exc) is None:
                    raise
                raise GridshareError(f"meter 0x{mid.hex()} is not registered on chain {c.chain.chain_id}: register "
                                     "it before signing for it with several keystores") from None
            if signer not in by_address:
                raise GridshareError(f"meter 0x{mid.hex()} is signed by {signer} on-chain and none of the "
                                     f"{len(keys)} keystores holds that key: add its keystore")
            out[mid] = by_address[signer]
    return out
