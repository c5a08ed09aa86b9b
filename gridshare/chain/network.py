"""Where gridshare runs: the embedded EVM, a local anvil devnet, or any chain over JSON-RPC.

=============  ======================================================================
``embedded``   in-process eth-tester + py-evm; the default; lives as long as the process
``anvil``      a local anvil node from node_modules, started and stopped by the tool; its
               state is kept in ``.gridshare/anvil-state.json`` so that it persists between
               commands (``gridshare devnet reset`` forgets it)
``rpc``        ``--rpc-url URL`` to any EVM chain; the sending key comes from an encrypted V3
               keystore (``--keystore``) or the ``GRIDSHARE_PRIVATE_KEY`` environment variable
=============  ======================================================================
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint
from web3.providers.eth_tester import EthereumTesterProvider

from gridshare.chain.compiler import project_root
from gridshare.errors import GridshareError
from gridshare.protocol.meters import load_keystore
from gridshare.protocol.units import ZERO_ADDRESS

NETWORKS = ("embedded", "anvil", "rpc")
ANVIL_CHAIN_ID = 31337


@dataclass
class Chain:
    """A connection to a chain and the account gridshare sends transactions from."""

    w3: Web3
    network: str
    sender: str
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # the chain id, answered once per connection (web3 asks before every send); nothing else:
        # a devnet's block of a given number changes when a snapshot is reverted
        self.w3.provider.cacheable_requests = {RPCEndpoint("eth_chainId"), RPCEndpoint("net_version")}
        self.w3.provider.cache_allowed_requests = True

    @property
    def rpc_url(self) -> str | None:
        """The node's JSON-RPC URL (None on the embedded chain, which has none)."""
        return getattr(self.w3.provider, "endpoint_uri", None)

    @cached_property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    def accounts(self) -> list[str]:
        """Unlocked accounts (embedded and anvil): handy identities for participants."""
        return list(self.w3.eth.accounts)

    def travel(self, timestamp: int) -> None:
        """Mine the next block at ``timestamp`` (a devnet clock only moves forward): eth-tester's
        time travel on embedded, ``evm_setNextBlockTimestamp`` + ``evm_mine`` on anvil."""
        if self.network == "embedded":
            self.w3.testing.timeTravel(timestamp)  # type: ignore[attr-defined]  # web3 attaches it at runtime
        else:
            self.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [timestamp])
            self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def close(self) -> None:
        """Stop the anvil node, if this chain started one (it writes its state on the way out)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(
    network: str = "embedded",
    *,
    rpc_url: str | None = None,
    keystore: Path | None = None,
    password: str | None = None,
    anvil_state: Path | None = None,
    read_only: bool = False,
) -> Chain:
    """Open a chain. ``network`` is one of :data:`NETWORKS`; ``rpc_url`` implies ``rpc``.
    ``read_only``: on ``rpc``, no key is needed when none is given (the chain is only read; its
    sender is the zero address)."""
    if rpc_url:
        network = "rpc"
    if network == "embedded":
        return _embedded()
    if network == "anvil":
        url = running_devnet(anvil_state) if anvil_state is not None else None
        if url is not None:  # `gridshare devnet start` holds this state: attach to it
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
            return Chain(w3, "anvil", w3.eth.accounts[0])
        return start_anvil(state=anvil_state)
    if network == "rpc":
        if not rpc_url:
            raise GridshareError("network 'rpc' needs --rpc-url URL")
        return _rpc(rpc_url, keystore, password, read_only)
    raise GridshareError(f"unknown network {network!r}: choose one of {', '.join(NETWORKS)}")


def _embedded() -> Chain:
    w3 = Web3(EthereumTesterProvider())
    return Chain(w3, "embedded", w3.eth.accounts[0])


def anvil_binary() -> Path:
    path = project_root() / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if path.exists():
        return path
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise GridshareError(f"anvil not found at {path}: run `make setup` (npm ci) first")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_anvil_state() -> Path:
    """Where the devnet of ``--network anvil`` keeps its state (``$GRIDSHARE_STATE_DIR`` or .gridshare/)."""
    folder = os.environ.get("GRIDSHARE_STATE_DIR")
    return (Path(folder) if folder else project_root() / ".gridshare") / "anvil-state.json"


def devnet_url_file(state: Path) -> Path:
    """Where ``gridshare devnet start`` says which URL serves the devnet of ``state``."""
    return state.with_name("anvil.url")


def running_devnet(state: Path) -> str | None:
    """The URL of the devnet a ``gridshare devnet start`` serves from ``state``, if one answers
    (a file left by one that died is removed)."""
    path = devnet_url_file(state)
    if not path.exists():
        return None
    url = path.read_text().strip()
    try:
        if Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5})).eth.chain_id == ANVIL_CHAIN_ID:
            return url
    except Exception:  # noqa: BLE001 - nothing answers there any more
        pass
    path.unlink(missing_ok=True)
    return None


def serve_devnet(state: Path, port: int, on_ready: Callable[[str], None]) -> None:
    """Run the devnet of ``state`` on ``port`` until interrupted (Ctrl-C or SIGTERM), telling
    ``--network anvil`` commands to attach to it instead of starting their own; then stop it,
    which writes its state."""
    url = running_devnet(state)
    if url is not None:
        raise GridshareError(f"the devnet already runs at {url}: use it, or stop that one first")
    chain = start_anvil(state=state, port=port)
    url = f"http://127.0.0.1:{port}"
    marker = devnet_url_file(state)
    marker.write_text(url + "\n")
    try:
        on_ready(url)
        while chain._process is not None and chain._process.poll() is None:
            time.sleep(0.2)
        raise GridshareError("anvil stopped on its own; start the devnet again")
    except KeyboardInterrupt:
        pass
    finally:
        marker.unlink(missing_ok=True)
        chain.close()


def _stop_with_parent() -> None:
    """In the anvil child, before it runs: ask Linux for SIGTERM when the parent dies, even by
    SIGKILL, so that anvil writes its state (``--state``) instead of living on as an orphan."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def start_anvil(*, state: Path | None = None, port: int | None = None, extra_args: Sequence[str] = (),
                history_states: int | None = 64) -> Chain:
    """Start anvil from node_modules on a free port and wait until it answers.

    ``state``: a file anvil loads at start and writes back at exit, so that a devnet outlives the
    command (``None``: a fresh chain that is forgotten at exit). ``extra_args``: more anvil options
    (e.g. ``--steps-tracing`` for ``debug_traceTransaction``'s opcode steps). ``history_states``:
    anvil keeps the state of the last so many blocks (``--prune-history``), so that ``eth_call``
    or tracing at an older block fails; blocks, receipts and logs are all kept. ``None`` keeps
    every block's state, which makes each new block slower as the chain grows (measured: 4 ms a
    transaction at first, 9 ms after 2,000 blocks, against a flat 4 ms with 64).
    """
    port = port or _free_port()
    cmd = [str(anvil_binary()), "--port", str(port), "--host", "127.0.0.1", "--silent",
           "--chain-id", str(ANVIL_CHAIN_ID), "--hardfork", "cancun", "--gas-limit", "30000000"]
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--state", str(state)]
    if history_states is not None:
        cmd += ["--prune-history", str(history_states)]
    cmd += list(extra_args)
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_stop_with_parent)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 60}))
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            lines = process.stderr.read().decode(errors="replace").splitlines() if process.stderr else []
            # anvil's first line says what is wrong; its last is a usage hint ("try '--help'")
            first = next((line.strip().removeprefix("error: ") for line in lines if line.strip()), "no message")
            hint = ""
            if state is not None and str(state) in first:
                hint = (f": the devnet's state file {state} is damaged; move it away (or `gridshare devnet reset`) "
                        "to start a fresh devnet")
            raise GridshareError(f"anvil exited at start: {first}{hint}")
        try:
            if w3.is_connected():
                break
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise GridshareError("anvil did not answer within 20 s")
        time.sleep(0.05)
    if state is not None:
        # anvil reloads blocks but not a clock moved forward (`devnet advance`): carry it on from
        # the last block so that time never goes backwards
        latest = w3.eth.get_block("latest")["timestamp"]
        if latest >= time.time():
            w3.provider.make_request(RPCEndpoint("evm_setTime"), [latest + 1])
    return Chain(w3, "anvil", w3.eth.accounts[0], process)


def load_sender(keystore: Path | None, password: str | None) -> LocalAccount:
    """The key for a remote chain: an encrypted V3 keystore, or ``GRIDSHARE_PRIVATE_KEY``."""
    if keystore is not None:
        if not keystore.exists():
            raise GridshareError(f"keystore {keystore} not found")
        password = password if password is not None else os.environ.get("GRIDSHARE_KEYSTORE_PASSWORD")
        if password is None:
            raise GridshareError("the keystore needs a password: set GRIDSHARE_KEYSTORE_PASSWORD")
        return load_keystore(keystore, password)
    key = os.environ.get("GRIDSHARE_PRIVATE_KEY")
    if not key:
        raise GridshareError("no key to send transactions with: pass --keystore FILE or set GRIDSHARE_PRIVATE_KEY")
    try:
        return Account.from_key(key)
    except ValueError:
        raise GridshareError("GRIDSHARE_PRIVATE_KEY is not a valid private key") from None


def _rpc(url: str, keystore: Path | None, password: str | None, read_only: bool = False) -> Chain:
    keyless = read_only and keystore is None and not os.environ.get("GRIDSHARE_PRIVATE_KEY")
    account = None if keyless else load_sender(keystore, password)
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    try:
        _ = w3.eth.chain_id  # one request: is anything there?
    except Exception as exc:  # noqa: BLE001 - any transport error
        raise GridshareError(f"cannot reach {url}: {exc.__class__.__name__}") from None
    if account is None:  # read-only: the zero address can sign nothing
        return Chain(w3, "rpc", ZERO_ADDRESS)
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    return Chain(w3, "rpc", account.address)
