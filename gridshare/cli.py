"""The `gridshare` command line. Every error is one line on stderr and a non-zero exit.

Global options pick the chain: ``--network embedded`` (default, in-process, gone at exit),
``--network anvil`` (a local devnet kept between commands in .gridshare/anvil-state.json) or
``--rpc-url URL`` (any EVM chain; key from ``--keystore`` or ``GRIDSHARE_PRIVATE_KEY``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridshare import compiler, deployment, ledger, network
from gridshare.errors import GridshareError
from gridshare.meter import MeterKind, load_keystore, meter_id, new_meter_key, parse_salt, save_keystore
from gridshare.reading import DAY_RUN, load_signed, load_unsigned, save_signed, to_runs
from gridshare.relayer import relay

# tables need room: when the output is not a terminal, do not squeeze them into 80 columns
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)


class Context:
    def __init__(self, network_name: str, rpc_url: str | None, keystore: Path | None, account: str | None):
        self.network_name = network_name
        self.rpc_url = rpc_url
        self.keystore = keystore
        self.account = account

    def chain(self) -> network.Chain:
        state = network.default_anvil_state() if self.network_name == "anvil" and not self.rpc_url else None
        chain = network.connect(self.network_name, rpc_url=self.rpc_url, keystore=self.keystore, anvil_state=state)
        if self.account is not None:
            if chain.network == "rpc":
                chain.close()
                raise GridshareError("--account picks a development account; on --rpc-url the key decides the sender")
            accounts = chain.accounts()
            if self.account.isdigit():
                if int(self.account) >= len(accounts):
                    chain.close()
                    raise GridshareError(f"--account {self.account}: the devnet has {len(accounts)} accounts")
                chain.sender = accounts[int(self.account)]
            else:
                chain.sender = _address(self.account)
        return chain


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--network", "network_name", type=click.Choice(["embedded", "anvil"]), default="embedded",
              show_default=True, help="embedded: in-process EVM; anvil: local devnet kept between commands.")
@click.option("--rpc-url", help="Any EVM chain's JSON-RPC URL (overrides --network).")
@click.option("--keystore", type=click.Path(path_type=Path), help="V3 keystore of the sending key for --rpc-url "
              "(password from GRIDSHARE_KEYSTORE_PASSWORD); else GRIDSHARE_PRIVATE_KEY.")
@click.option("--account", help="Send as this development account (address or index) on embedded/anvil "
              "[default: account 0, the operator].")
@click.pass_context
def cli(ctx, network_name, rpc_url, keystore, account):
    """gridshare: local energy communities on Ethereum."""
    ctx.obj = Context(network_name, rpc_url, keystore, account)


# --- toolchain -------------------------------------------------------------------------------------


@cli.command("compile")
@click.option("--write-abi", is_flag=True, help="Write abi/<ContractName>.json.")
def compile_cmd(write_abi):
    """Compile the contracts with the pinned solc."""
    artifacts = compiler.compile_contracts(use_cache=False)
    for name, a in artifacts.items():
        console.print(f"{name}: {len(a.bytecode) // 2 - 1:,} bytes of creation code")
    if write_abi:
        for path in compiler.write_abis(artifacts):
            console.print(f"wrote {path.relative_to(compiler.project_root())}")


@cli.command()
@click.option("--interval", "interval_seconds", type=click.Choice(["900", "1800"]), default="900", show_default=True,
              help="Metering interval in seconds.")
@click.option("--expiry-months", type=click.IntRange(1, 255), default=12, show_default=True,
              help="Guarantees of origin expire this many months after their production period.")
@click.option("--issuing-body", help="Account that issues guarantees of origin [default: the deployer].")
@click.option("--key", "allocation_key", type=click.Choice(deployment.ALLOCATION_KEYS), default="dynamic-default",
              show_default=True, help="The self-consumption operation's allocation key.")
@click.option("--market", "market_design", type=click.Choice(deployment.MARKET_DESIGNS), default="continuous",
              show_default=True, help="Market design: continuous pay-as-bid, or a call auction at gate closure.")
@click.option("--payment-token", help="The market's ERC-20 [default on embedded/anvil: a new TestEuro].")
@click.option("--prices", default="0.252,0.04,0.01", show_default=True,
              help="Retail, feed-in and grid fee per kWh, in payment tokens (6 decimals assumed for TestEuro).")
@click.option("--gate-closure", "gate_closure_delay", type=click.IntRange(min=0), default=None,
              help="Seconds after an interval's end until its orders close [default: one interval].")
@pass_ctx
def deploy(ctx: Context, interval_seconds, expiry_months, issuing_body, allocation_key, market_design, payment_token,
           prices, gate_closure_delay):
    """Deploy the community's contracts; write deployments/<chainId>.json."""
    issuing_body = _address(issuing_body) if issuing_body else None
    retail, feed_in, fee = _prices(prices)
    with ctx.chain() as chain:
        community = deployment.deploy(chain, interval_seconds=int(interval_seconds), expiry_months=expiry_months,
                                      issuing_body=issuing_body, allocation_key=allocation_key,
                                      market_design=market_design,
                                      payment_token=_address(payment_token) if payment_token else None,
                                      retail_price=retail, feed_in_price=feed_in, grid_fee=fee,
                                      gate_closure_delay=gate_closure_delay)
        for name, c in community.manifest["contracts"].items():
            console.print(f"{name:<14} {c['address']}  (block {c['blockNumber']})")
        path = deployment.manifest_path(chain.chain_id)
        console.print(f"manifest: {path.relative_to(compiler.project_root()) if path.is_relative_to(compiler.project_root()) else path}")
        if chain.network == "embedded":
            console.print("[yellow]note:[/] the embedded chain ends with this command; use --network anvil to keep it")


def _prices(text: str) -> tuple[int, int, int]:
    """--prices "retail,feed-in,fee" in tokens per kWh, as base units of a 6-decimal token."""
    from decimal import Decimal, InvalidOperation

    try:
        values = [Decimal(v) * 10**6 for v in text.split(",")]
    except InvalidOperation:
        values = []
    if len(values) != 3 or any(v != v.to_integral_value() or v < 0 for v in values):
        raise GridshareError(f"--prices {text!r}: give retail,feed-in,grid-fee per kWh, e.g. 0.252,0.04,0.01")
    return tuple(int(v) for v in values)  # type: ignore[return-value]


@cli.group()
def devnet():
    """The local anvil devnet kept between commands."""


@devnet.command()
@click.option("--days", type=click.FloatRange(min=0, min_open=True), required=True)
@pass_ctx
def advance(ctx: Context, days):
    """Move the anvil devnet's clock forward (to test what takes time: readings, expiry)."""
    if ctx.network_name != "anvil" or ctx.rpc_url:
        raise GridshareError("only the anvil devnet's clock can move: add --network anvil")
    with ctx.chain() as chain:
        chain.w3.provider.make_request("evm_increaseTime", [int(days * 86_400)])
        chain.w3.provider.make_request("evm_mine", [])
        now = chain.w3.eth.get_block("latest")["timestamp"]
    console.print(f"devnet time is now {datetime.fromtimestamp(now, timezone.utc):%Y-%m-%d %H:%M} UTC")


@devnet.command()
def reset():
    """Forget the anvil devnet's state and its manifest."""
    for path in (network.default_anvil_state(), deployment.manifest_path(network.ANVIL_CHAIN_ID)):
        if path.exists():
            path.unlink()
            console.print(f"removed {path}")


# --- participants and meters -----------------------------------------------------------------------


@cli.group()
def participant():
    """Participants of the community."""


@participant.command("add")
@click.argument("address")
@pass_ctx
def participant_add(ctx: Context, address):
    """Admit ADDRESS as a participant (operator only)."""
    address = _address(address)
    with ctx.chain() as chain:
        community = deployment.load(chain)
        community.transact(community.registry.functions.registerParticipant(address))
        console.print(f"participant {address} registered")


@cli.group()
def meter():
    """Meters: keys, ids, registration and signing."""


def _salt(salt: str | None) -> bytes:
    salt = salt or os.environ.get("GRIDSHARE_COMMUNITY_SALT")
    if not salt:
        raise GridshareError("the community salt is needed: pass --salt HEX or set GRIDSHARE_COMMUNITY_SALT")
    return parse_salt(salt)


def _password(envvar: str, confirm: bool) -> str:
    password = os.environ.get(envvar)
    if password is None:
        if not sys.stdin.isatty():
            raise GridshareError(f"a keystore password is needed: set {envvar}")
        password = click.prompt("keystore password", hide_input=True, confirmation_prompt=confirm)
    return password


def _address(text: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise GridshareError(f"{text!r} is not an Ethereum address")
    return to_checksum_address(text)


@meter.command("new-key")
@click.argument("keystore", type=click.Path(path_type=Path))
def meter_new_key(keystore: Path):
    """Create a meter signer key, encrypted as a V3 keystore (password from GRIDSHARE_METER_PASSWORD)."""
    if keystore.exists():
        raise GridshareError(f"{keystore} exists; refusing to overwrite a key")
    key = new_meter_key()
    save_keystore(key, keystore, _password("GRIDSHARE_METER_PASSWORD", confirm=True))
    console.print(f"meter signer {key.address} -> {keystore}")


@meter.command("id")
@click.option("--point", required=True, help="Meter point number (PRM/PDL); never sent to the chain.")
@click.option("--salt", help="Community salt, 32 bytes hex (or GRIDSHARE_COMMUNITY_SALT).")
def meter_id_cmd(point, salt):
    """Print the meterId of a meter point."""
    console.print("0x" + meter_id(_salt(salt), point).hex())


@meter.command("register")
@click.option("--point", required=True, help="Meter point number (PRM/PDL).")
@click.option("--salt", help="Community salt, 32 bytes hex (or GRIDSHARE_COMMUNITY_SALT).")
@click.option("--signer", required=True, help="Address of the meter's signer key.")
@click.option("--owner", required=True, help="Participant who receives what the meter earns.")
@click.option("--kind", type=click.Choice(["producer", "consumer", "prosumer"]), required=True)
@click.option("--capacity", "capacity_w", type=click.IntRange(1, 2**32 - 1), required=True, help="Capacity in W.")
@click.option("--technology", default="solar-pv", show_default=True, help="Up to 32 bytes, e.g. solar-pv.")
@click.option("--commissioned", type=click.DateTime(["%Y-%m-%d"]), help="Commissioning date.")
@pass_ctx
def meter_register(ctx: Context, point, salt, signer, owner, kind, capacity_w, technology, commissioned):
    """Register a meter (operator only); its owner is admitted as a participant if needed."""
    mid = meter_id(_salt(salt), point)
    tech = technology.encode()
    if len(tech) > 32:
        raise GridshareError(f"--technology is {len(tech)} bytes; at most 32")
    when = int(commissioned.replace(tzinfo=timezone.utc).timestamp()) if commissioned else 0
    owner, signer = _address(owner), _address(signer)
    with ctx.chain() as chain:
        community = deployment.load(chain)
        registry = community.registry
        if not registry.functions.isParticipant(owner).call():
            community.transact(registry.functions.registerParticipant(owner))
            console.print(f"participant {owner} registered")
        community.transact(registry.functions.registerMeter(
            mid, signer, owner, int(MeterKind.parse(kind)), capacity_w, tech.ljust(32, b"\0"), when))
        first = registry.functions.meterState(mid).call()[0]
        console.print(f"meter 0x{mid.hex()} registered ({kind}, {capacity_w} W, owner {owner}); its readings "
                      f"start at {_utc(first)} (previousEnd {first})")


@meter.command("state")
@click.argument("meter_id", type=str)
@pass_ctx
def meter_state(ctx: Context, meter_id: str):
    """Where METER_ID's verified readings end: the previousEnd its next run signs, and its registers."""
    mid = _meter_id_arg(meter_id)
    with ctx.chain() as chain:
        state = deployment.load(chain).registry.functions.meterState(mid).call()
    nxt, imp, exp, verified, known = state
    registers = f"registers import {imp:,} Wh, export {exp:,} Wh" if known else "no run verified yet"
    console.print(f"verified readings end at {_utc(nxt)}: previousEnd {nxt}; {registers}; "
                  f"verified export {verified:,} Wh")


def _utc(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@meter.command("sign")
@click.argument("keystore", type=click.Path(path_type=Path))
@click.argument("readings", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--manifest", type=click.Path(path_type=Path),
              help="Deployment manifest naming the chain and registry [default: deployments/31337.json].")
@click.option("--previous-end", type=click.IntRange(0, 2**64 - 1), default=None,
              help="Unix time where the meter's verified readings end (its nextIntervalStart on-chain): "
                   "the first run declares an outage from there [default: its first interval].")
@click.option("--run-intervals", type=click.IntRange(1, 2976), default=DAY_RUN, show_default=True,
              help="Cut runs every this many intervals since the epoch (96: at each UTC day for 15-minute "
                   "intervals). Members of an operation sign the operation's cadence.")
def meter_sign(keystore: Path, readings: Path, output: Path, manifest: Path | None, previous_end: int | None,
               run_intervals: int):
    """Sign unsigned READINGS (CSV, one row per interval: meterId, intervalStart, importWh, exportWh,
    importRegisterWh, exportRegisterWh) into runs in OUTPUT (CSV or JSON).

    Signing needs no chain: the chain id, the registry and the interval length come from the
    manifest. Intervals the file skips become outages the meter declares (signed).
    """
    manifest = manifest or deployment.manifest_path(network.ANVIL_CHAIN_ID)
    if not manifest.exists():
        raise GridshareError(f"{manifest} not found: deploy first or pass --manifest")
    m = json.loads(manifest.read_text())
    chain_id, registry = m["chainId"], m["contracts"]["MeterRegistry"]["address"]
    seconds = int(m["settings"]["intervalSeconds"])
    key = load_keystore(keystore, _password("GRIDSHARE_METER_PASSWORD", confirm=False))
    rows = load_unsigned(readings)
    if not rows:
        raise GridshareError(f"{readings} holds no readings")
    runs = to_runs(rows, seconds, previous_end=previous_end, run_intervals=run_intervals)
    signed = [r.sign(key, chain_id, registry) for r in runs]
    save_signed(output, signed)
    console.print(f"signed {len(rows)} readings in {len(signed)} runs with {key.address} for chain {chain_id} -> {output}")


# --- readings and balances -------------------------------------------------------------------------


@cli.group()
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
    with ctx.chain() as chain:
        community = deployment.load(chain)
        with Progress(TextColumn("relaying runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console) as progress:
            task = progress.add_task("relay", total=len(signed))
            report = relay(community, signed, max_gas=max_gas,
                           on_progress=lambda n: progress.advance(task, n))
    console.print(f"{report.submitted} runs ({report.intervals} intervals) verified in {report.batches} batches, "
                  f"{report.already_verified} already on-chain, {len(report.rejected)} not verified"
                  + (f"; {report.gas_used / report.intervals:,.0f} gas per interval" if report.intervals else ""))
    if report.rejected:
        rejected_path = file.with_name(file.stem + ".rejected.csv")
        save_signed(rejected_path, [r.run for r in report.rejected])
        for r in report.rejected:
            err_console.print(f"not verified: {r}")
        raise GridshareError(f"{len(report.rejected)} runs not verified (written to {rejected_path}); fix or drop them")


@cli.command()
@click.option("--account", "accounts", multiple=True, help="Only this participant (repeatable).")
@pass_ctx
def balances(ctx: Context, accounts):
    """Crypto-kWh per participant and interval: held, verified import, redeemed."""
    accounts = [_address(a) for a in accounts]
    with ctx.chain() as chain:
        community = deployment.load(chain)
        rows = ledger.positions(community, accounts or None)
        seconds = community.interval_seconds
    table = Table(title="crypto-kWh per participant and interval (Wh)", title_justify="left")
    for col in ("participant", "interval (UTC)", "interval id", "held", "verified import", "redeemed"):
        table.add_column(col, justify="left" if col in ("participant", "interval (UTC)") else "right")
    for p in rows:
        when = datetime.fromtimestamp(p.interval_id * seconds, timezone.utc).strftime("%Y-%m-%d %H:%M")
        table.add_row(p.account, when, str(p.interval_id), f"{p.balance_wh:,}", f"{p.import_wh:,}", f"{p.redeemed_wh:,}")
    console.print(table if rows else "no verified energy yet")


@cli.command("report")
@click.option("--month", type=click.DateTime(["%Y-%m"]), required=True, help="The month to report, YYYY-MM.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Only this day of the month (adds a per-interval plot).")
@click.option("--out", "folder", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Write into OUT/YYYY-MM (or OUT/YYYY-MM-DD with --day).")
@click.option("--tz", default="UTC", show_default=True, help="Time zone of the calendar days, e.g. Europe/Paris.")
@pass_ctx
def report_cmd(ctx: Context, month, day, folder, tz):
    """Collective self-consumption report: R15 quantities per participant and interval, rates, CSV and plots."""
    from zoneinfo import ZoneInfo

    from gridshare import report

    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise GridshareError(f"--tz {tz!r} is not a time zone (e.g. UTC, Europe/Paris)") from None
    if day is not None and (day.year, day.month) != (month.year, month.month):
        raise GridshareError(f"--day {day:%Y-%m-%d} is not in --month {month:%Y-%m}")
    start, end = report.period(month=f"{month:%Y-%m}", day=day.date() if day else None, tz=tz)
    label = f"{day:%d %B %Y}" if day else f"{month:%B %Y}"
    with ctx.chain() as chain:
        community = deployment.load(chain)
        rows = report.quantities(community, start, end)
    if not rows:
        console.print(f"no verified energy in {label} ({tz})")
        return
    summary = report.summarize(rows, tz=tz, start=start, end=end)
    title = f"Collective self-consumption, {label}"
    paths = report.write_report(summary, folder / (f"{day:%Y-%m-%d}" if day else f"{month:%Y-%m}"), title)
    console.print(report.participants_table(summary, title))
    console.print("wrote " + ", ".join(str(p) for p in paths), highlight=False)


@cli.group()
def operation():
    """The collective self-consumption operation: its members."""


def _interval_of(community, text: str) -> int:
    """The interval id of a UTC day's start (YYYY-MM-DD) or of an interval start (YYYY-MM-DDTHH:MM)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise GridshareError(f"{text!r} is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM (UTC)") from None
    start = int(when.replace(tzinfo=timezone.utc).timestamp())
    seconds = community.interval_seconds
    if start % seconds:
        raise GridshareError(f"{text} is not the start of a {seconds // 60}-minute interval")
    return start // seconds


@operation.command("join")
@click.argument("meter_ids", nargs=-1, required=True)
@click.option("--from", "from_date", required=True,
              help="First day (YYYY-MM-DD) or interval (YYYY-MM-DDTHH:MM) in the operation, UTC; no reading of "
                   "the meters may be verified from then on (see `meter state`).")
@click.option("--sites", type=click.Path(path_type=Path), required=True,
              help="CSV name,latitude,longitude,capacity_kw of every member (name = meterId), kept off-chain.")
@click.option("--zone", type=click.Choice(["urban", "peri-urban", "rural"]), default="urban", show_default=True,
              help="Perimeter: 2, 10 or 20 km between the two furthest members.")
@click.option("--capacity-rule", type=click.Choice(["default", "public", "non-interconnected"]), default="default",
              show_default=True, help="Production capacity limit: 5 MW, 10 MW or 0.5 MW.")
@pass_ctx
def operation_join(ctx: Context, meter_ids, from_date, sites, zone, capacity_rule):
    """Add meters (0x meterIds) to the operation from --from on (operator), after checking the
    operation's perimeter (distance and capacity) from the members' coordinates."""
    from gridshare import perimeter
    from gridshare.operation import join, members

    ids = [_meter_id_arg(m) for m in meter_ids]
    known = perimeter.load_sites(sites)
    with ctx.chain() as chain:
        community = deployment.load(chain)
        everyone = {m.meter_id for m in members(community)} | set(ids)
        missing = ["0x" + i.hex() for i in everyone if "0x" + i.hex() not in known]
        if missing:
            raise GridshareError(f"{sites} has no site for {missing[0]} ({len(missing)} members missing)")
        widest, total = perimeter.check([known["0x" + i.hex()] for i in everyone], zone=zone, capacity=capacity_rule)
        join(community, ids, _interval_of(community, from_date))
    console.print(f"{len(ids)} meters in the operation from {from_date} (perimeter {widest:.2f} km, "
                  f"{total:,.0f} kW of production)")


@operation.command("members")
@pass_ctx
def operation_members(ctx: Context):
    """The operation's meters, their owners and membership intervals."""
    from gridshare.operation import STILL_IN, key_name, members

    with ctx.chain() as chain:
        community = deployment.load(chain)
        ms, key = members(community), key_name(community)
        seconds = community.interval_seconds
    table = Table(title=f"Self-consumption operation (key: {key})", title_justify="left")
    for col in ("meter", "owner", "from (UTC)", "until (UTC)"):
        table.add_column(col)
    for m in ms:
        when = lambda i: datetime.fromtimestamp(i * seconds, timezone.utc).strftime("%Y-%m-%d %H:%M")  # noqa: E731
        table.add_row("0x" + m.meter_id.hex(), m.account, when(m.from_interval),
                      "" if m.until_interval == STILL_IN else when(m.until_interval))
    console.print(table if ms else "no members yet")


def _meter_id_arg(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise GridshareError(f"{text!r} is not a meterId (0x + 64 hex digits); `gridshare meter id` gives it")
    return raw


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--max-gas", type=click.IntRange(100_000, 2**24), default=16_000_000, show_default=True,
              help="Plan each transaction's worst-case gas under this (whole runs: one batch if the runs are longer).")
@pass_ctx
def allocate(ctx: Context, file: Path, max_gas: int):
    """Verify the members' signed runs in FILE and share their intervals in the operation.

    The members' runs are verified and shared in the same transactions. Idempotent and resumable:
    intervals already shared are skipped; it stops at the first interval a member's runs do not
    reach, and names the meter.
    """
    from gridshare.operation import allocate as run_allocation

    signed = load_signed(file)
    with ctx.chain() as chain:
        community = deployment.load(chain)
        seconds = community.interval_seconds
        with Progress(TextColumn("sharing intervals"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console) as progress:
            total = len({t for s in signed for t in s.run.interval_starts(seconds)})
            task = progress.add_task("allocate", total=total)
            report = run_allocation(community, signed, max_gas=max_gas,
                                    on_progress=lambda n: progress.advance(task, n))
    console.print(f"{report.intervals} intervals shared in {report.transactions} transactions, "
                  f"{report.already_allocated} already shared")
    if report.incomplete:
        iid, meter = report.incomplete
        raise GridshareError(f"stopped at interval {iid}: member 0x{meter.hex()} has no run reaching it in {file} "
                             f"({report.why}); add its runs and run again")


from gridshare.go_cli import go  # noqa: E402 - registers `gridshare go` on the group above

cli.add_command(go)

from gridshare.market_cli import market  # noqa: E402 - registers `gridshare market`

cli.add_command(market)
from gridshare.simulate_cli import demo, simulate  # noqa: E402 - registers `gridshare simulate` and `demo`

cli.add_command(simulate)
cli.add_command(demo)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # `kill`: stop like Ctrl-C, closing chains (anvil saves its state)


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        cli.main(args=argv, prog_name="gridshare", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        err_console.print(f"error: {exc.format_message()} (see gridshare --help)", highlight=False, markup=False)
        return exc.exit_code or 2
    except GridshareError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted; rerun the command to resume")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, with a way to see more
        if os.environ.get("GRIDSHARE_DEBUG"):
            raise
        err_console.print(f"error: unexpected {exc.__class__.__name__}: {exc} (set GRIDSHARE_DEBUG=1 for a traceback)",
                          highlight=False, markup=False, soft_wrap=True)
        return 1
    return 0

