"""What every command shares: the consoles, the chain the global options pick, and progress bars."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridshare.chain import deployment, network
from gridshare.chain.deployment import Community
from gridshare.cli.params import ADDRESS
from gridshare.errors import GridshareError

# tables need room: when the output is not a terminal, do not squeeze them into 80 columns
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)


class Context:
    """The global options: which chain, which sender."""

    def __init__(self, network_name: str, rpc_url: str | None, keystore: Path | None, account: str | None):
        self.network_name = network_name
        self.rpc_url = rpc_url
        self.keystore = keystore
        self.account = account

    def chain(self, read_only: bool = False) -> network.Chain:
        """The chain the global options pick; ``read_only``: a command that sends nothing, which needs
        no key on --rpc-url."""
        state = network.default_anvil_state() if self.network_name == "anvil" and not self.rpc_url else None
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
