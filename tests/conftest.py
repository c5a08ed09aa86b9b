"""Shared fixtures: one embedded chain and community per test module, reverted after every test."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from gridshare.chain.deployment import Community, ContractReverted, deploy
from gridshare.chain.network import Chain, connect
from gridshare.cli.app import main
from gridshare.protocol.meters import MeterKind, meter_id, new_meter_key
from gridshare.protocol.readings import MeterReadings, SignedReadings

SALT = bytes.fromhex("5a" * 32)
SOLAR = b"solar-pv".ljust(32, b"\0")


@dataclass
class MeterFixture:
    id: bytes
    key: LocalAccount
    owner: str
    kind: MeterKind
    capacity_w: int
    first: int  # its first interval's start: where its verified readings begin (nextIntervalStart)


class Env:
    """A deployed community on an embedded chain, with helpers to register meters and submit."""

    def __init__(self, chain: Chain, community: Community):
        self.chain = chain
        self.c = community
        self.registry = community.registry
        self.token = community.token
        accounts = chain.accounts()
        self.operator = accounts[0]
        self.alice, self.bob, self.carol, self.outsider = accounts[1:5]
        self.relayer = accounts[5]

    @property
    def w3(self):
        return self.chain.w3

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def next_start(self) -> int:
        """The next interval start: at or after the first interval of every meter registered so far
        (:meth:`submit` moves the clock past the intervals it submits)."""
        return (self.now() // 900 + 1) * 900

    def participant(self, account: str) -> None:
        if not self.registry.functions.isParticipant(account).call():
            self.c.transact(self.registry.functions.registerParticipant(account))

    def meter(self, owner: str, kind: MeterKind = MeterKind.PRODUCER, capacity_w: int = 10_000,
              point: str | None = None, commissioned: int = 1_700_000_000) -> MeterFixture:
        self.participant(owner)
        key = new_meter_key()
        mid = meter_id(SALT, point or key.address)
        self.c.transact(self.registry.functions.registerMeter(mid, key.address, owner, int(kind), capacity_w, SOLAR, commissioned))
        first = self.registry.functions.meterState(mid).call()[0]
        return MeterFixture(mid, key, owner, kind, capacity_w, first)

    def sign(self, m: MeterFixture, run: MeterReadings) -> SignedReadings:
        return run.sign(m.key, self.chain.chain_id, self.registry.address)

    def run(self, m: MeterFixture, start: int, imports: list[int], exports: list[int], *, previous_end: int | None = None,
            import_register_wh: int = 0, export_register_wh: int = 0) -> MeterReadings:
        """An unsigned run of ``m`` from ``start``: its outage from ``previous_end``, by default from
        where the meter's verified readings end on-chain if that is before ``start``. The registers
        advance from the given values, those before the run's first interval."""
        if previous_end is None:
            on_chain = self.registry.functions.meterState(m.id).call()[0]
            previous_end = on_chain if on_chain <= start else start
        return MeterReadings(m.id, previous_end, start, imports, exports,
                             import_register_wh + sum(imports), export_register_wh + sum(exports))

    def readings(self, m: MeterFixture, start: int, imports: list[int], exports: list[int], **kwargs) -> list[SignedReadings]:
        """``m``'s run from ``start``, signed once its intervals have ended (the clock moves past
        them), as a batch of one."""
        run = self.run(m, start, imports, exports, **kwargs)
        self.at(run.end(900))
        return [self.sign(m, run)]

    def outage(self, m: MeterFixture, until: int) -> None:
        """Declare the meter's outage from where its verified readings end to ``until`` (signed
        outage-only runs of at most 30 days), keeping its registers."""
        state = self.registry.functions.meterState(m.id).call()
        start, registers = state[0], (state[1], state[2])
        signed = []
        while start < until:
            end = min(until, start + 30 * 86_400)
            signed.append(self.sign(m, MeterReadings(m.id, start, end, [], [], *registers)))
            start = end
        if signed:
            self.submit(signed)

    def at(self, timestamp: int) -> None:
        """Move the chain's clock to ``timestamp`` if it is behind."""
        if self.now() < timestamp:
            self.chain.travel(timestamp)

    def submit(self, signed: list[SignedReadings], sender: str | None = None, *, travel: bool = True) -> dict:
        """Submit runs to the registry; first moves the clock to the end of the last interval
        unless ``travel`` is False."""
        if travel:
            self.at(max(s.run.end(900) for s in signed))
        return self.c.transact(self.registry.functions.submitReadings([s.as_call_arg() for s in signed]), sender or self.relayer)


@pytest.fixture(scope="module")
def env():
    chain = connect("embedded")
    community = deploy(chain, write=False, min_order_wh=1)  # contract tests trade single Wh; the minimum is tested apart
    yield Env(chain, community)
    chain.close()


@pytest.fixture(autouse=True)
def _isolation(request):
    """Revert the module's chain after each test (brownie's fn_isolation)."""
    if "env" not in request.fixturenames:
        yield
        return
    e = request.getfixturevalue("env")
    snapshot = e.w3.testing.snapshot()
    yield
    e.w3.testing.revert(snapshot)


@contextlib.contextmanager
def reverts(name: str, **expected):
    """Assert the block reverts with custom error ``name`` and exactly these arguments, all named."""
    with pytest.raises(ContractReverted) as info:
        yield info
    error = info.value.error
    assert error.name == name, f"expected {name}, got {error}"
    assert error.args == expected, f"expected {name}{expected}, got {error}"


def second_allocator(env: Env, role: bool = True):
    """A `TestAllocator` (contracts/test): an operation other than SelfConsumption, buggy or rogue,
    granted the registry's ALLOCATOR_ROLE unless not."""
    from gridshare.chain.compiler import compile_contracts
    from gridshare.chain.deployment import ALLOCATOR_ROLE

    artifact = compile_contracts()["TestAllocator"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(env.registry.address, env.token.address))
    allocator = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    if role:
        env.c.transact(env.registry.functions.grantRole(ALLOCATOR_ROLE, allocator.address))
    return allocator


def raise_view(env: Env, call) -> None:
    """Run a view with eth_call; its custom error, if any, raised as ContractReverted (for `reverts`)."""
    error = env.c.simulate(call)
    if error is not None:
        raise ContractReverted(error)


# --- the command line -----------------------------------------------------------------------------

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's second dev account
CLI_SALT = "0x" + "ab" * 32  # the community salt the CLI tests use


@pytest.fixture
def gs(tmp_path, monkeypatch, capsys):
    """Run `gridshare ARGS...` in process: (exit code, stdout, stderr), with state in tmp_path."""
    monkeypatch.setenv("GRIDSHARE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GRIDSHARE_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("GRIDSHARE_COMMUNITY_SALT", CLI_SALT)
    monkeypatch.setenv("GRIDSHARE_METER_PASSWORD", "correct horse")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line_error(code: int, err: str) -> str:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]
