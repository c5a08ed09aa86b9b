"""The `gridshare` command line: the group, its global options, and `main`.

Every error is one line on stderr and a non-zero exit. Global options pick the chain:
``--network embedded`` (default, in-process, gone at exit), ``--network anvil`` (a local devnet kept
between commands in .gridshare/anvil-state.json) or ``--rpc-url URL`` (any EVM chain; key from
``--keystore`` or ``GRIDSHARE_PRIVATE_KEY``). One module per command group registers below.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import click
import requests
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from gridshare import __version__
from gridshare.cli import (
    compare,
    deploy,
    devnet,
    go,
    ledger,
    market,
    meter,
    operation,
    participant,
    readings,
    simulate,
    solidarity,
    status,
    treasury,
    web,
)
from gridshare.chain.deployment import ContractReverted
from gridshare.chain.revert import ErrorDecoder
from gridshare.cli.context import Context, err_console, json_output
from gridshare.errors import GridshareError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="gridshare", message="%(prog)s %(version)s")
@click.option("--network", "network_name", type=click.Choice(["embedded", "anvil"]), default="embedded",
              show_default=True, help="embedded: in-process EVM; anvil: local devnet kept between commands.")
@click.option("--rpc-url", help="Any EVM chain's JSON-RPC URL (overrides --network).")
@click.option("--keystore", type=click.Path(path_type=Path), help="V3 keystore of the sending key for --rpc-url "
              "(password from GRIDSHARE_KEYSTORE_PASSWORD); else GRIDSHARE_PRIVATE_KEY.")
@click.option("--account", help="Send as this development account (address or index) on embedded/anvil "
              "[default: account 0, the operator].")
@click.option("--json", "as_json", is_flag=True, help="Tables as JSON on stdout, one object per table "
              "({\"title\", \"rows\": [{column: cell}]}); messages go to stderr.")
@click.pass_context
def cli(ctx, network_name, rpc_url, keystore, account, as_json):
    """gridshare: local energy communities on Ethereum."""
    json_output(as_json)
    ctx.obj = Context(network_name, rpc_url, keystore, account)


for command in (deploy.compile_cmd, deploy.deploy, devnet.devnet, participant.participant, meter.meter,
                readings.readings, ledger.balances, ledger.report_cmd, operation.operation, operation.allocate,
                go.go, market.market, treasury.treasury, simulate.simulate, simulate.demo, compare.compare,
                solidarity.solidarity, status.status, web.web):
    cli.add_command(command)


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
    except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:  # a view call refused
        decoded = _published_errors().from_exception(exc)
        if decoded is None:
            if os.environ.get("GRIDSHARE_DEBUG"):
                raise
            err_console.print(f"error: a contract call reverted ({_first_words(exc)}) (set GRIDSHARE_DEBUG=1 for a "
                              "traceback)", highlight=False, markup=False, soft_wrap=True)
        else:
            err_console.print(f"error: {ContractReverted(decoded)}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except requests.exceptions.RequestException as exc:  # the node died, hung, or the network went away mid-command
        err_console.print(f"error: lost the connection to the chain ({_first_words(exc)}): check that the node "
                          "runs and rerun the command (what was verified stays; submissions resume)",
                          highlight=False, markup=False, soft_wrap=True)
        return 1
    except OSError as exc:  # a file that cannot be read or written: the system says why
        where = f" {exc.filename}" if exc.filename else ""
        err_console.print(f"error: cannot use{where}: {exc.strerror or exc} (check the path and its permissions)",
                          highlight=False, markup=False, soft_wrap=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, with a way to see more
        if os.environ.get("GRIDSHARE_DEBUG"):
            raise
        err_console.print(f"error: unexpected {exc.__class__.__name__}: {exc} (set GRIDSHARE_DEBUG=1 for a traceback)",
                          highlight=False, markup=False, soft_wrap=True)
        return 1
    return 0


def _published_errors() -> ErrorDecoder:
    """The custom errors of every published ABI (a view's revert names one of them)."""
    folder = Path(__file__).resolve().parents[1] / "abi"
    return ErrorDecoder(json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))


def _first_words(exc: Exception, limit: int = 80) -> str:
    """The start of an exception's first line (a connection error is a nest of reprs)."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text if len(text) <= limit else text[:limit] + "..."
