"""What every command shares: the consoles, the chain the global options pick, and progress bars."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from gridshare.chain import deployment, network
from gridshare.chain.deployment import Community
from gridshare.cli.params import ADDRESS
from gridshare.errors import GridshareError

# tables need room: when the output is not a terminal, do not squeeze them into 80 columns
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)
#: --json: tables go to stdout as JSON, everything said to people to stderr (see :func:`show`)
_as_json = False


def json_output(on: bool) -> None:
    """With ``on``, :func:`show` writes tables as JSON on stdout and everything else goes to stderr
    (set by each command line, so an in-process caller gets what it asked for each time)."""
    global _as_json
    _as_json = on
    console.file = sys.stderr if on else None  # type: ignore[assignment]  # None: sys.stdout when printing


_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?")


def _value(cell: object) -> object:
    """A cell as JSON: numbers as numbers (``1,234`` -> 1234), markup stripped, empty as null."""
    text = Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        plain = text.replace(",", "")
        return float(plain) if "." in plain else int(plain)
    return text


def show(table: Table, empty: str | None = None) -> None:
    """Print a table for people, or ``empty`` if it has no row; with ``--json``, one line of JSON on
    stdout: ``{"title": ..., "rows": [{column header: cell}, ...]}``."""
    if _as_json:
        headers = [str(c.header) or f"column {k + 1}" for k, c in enumerate(table.columns)]
        cells = [list(c.cells) for c in table.columns]
        rows = [{h: _value(col[r]) for h, col in zip(headers, cells)} for r in range(table.row_count)]
        title = Text.from_markup(table.title).plain if isinstance(table.title, str) else table.title
        sys.stdout.write(json.dumps({"title": title, "rows": rows}) + "\n")
    elif table.row_count == 0 and empty is not None:
        console.print(empty)
    else:
        console.print(table)


class Context:
    """The global options: which chain, which sender."""

    def __init__(self, network_name: str, rpc_url: str | None, keystore: Path | None, account: str | None):
        self.network_name = network_name
        self.rpc_url = rpc_url
        self.keystore = keystore
        self.account = account

    def chain(self, read_only: bool = False, anvil_state: Path | None = None) -> network.Chain:
        """The chain the global options pick; ``read_only``: a command that sends nothing, which needs
        no key on --rpc-url; ``anvil_state``: on --network anvil, a devnet of its own rather than
        the user's (``.gridshare/``)."""
        state = (anvil_state or network.default_anvil_state()) if self.network_name == "anvil" and not self.rpc_url \
            else None
        chain = network.connect(self.network_name, rpc_url=self.rpc_url, keystore=self.keystore, anvil_state=state,
                                read_only=read_only)
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
                try:
                    chain.sender = ADDRESS.convert(self.account, None, None)
                except click.BadParameter as exc:
                    chain.close()
                    raise GridshareError(f"--account {exc.message}") from None
        return chain

    @contextmanager
    def community(self, read_only: bool = False) -> Iterator[Community]:
        """The community deployed on the chain (from its manifest); the chain closes at the end.
        ``read_only``: the command sends nothing (no key needed on --rpc-url)."""
        with self.chain(read_only) as chain:
            yield deployment.load(chain)


pass_ctx = click.make_pass_decorator(Context)


def progress(label: str, console_: Console = err_console) -> Progress:
    """A progress bar for long work: ``with progress("relaying runs") as p: task = p.add_task(...)``."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console_)
