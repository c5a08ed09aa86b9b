"""`gridshare simulate` crashing mid-way on a real anvil, then run again: it resumes from the chain
and ends with what an uninterrupted run gives, without losing or double-counting anything."""

from __future__ import annotations

import csv
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gridshare.chain import operation
from gridshare.chain.network import connect, start_anvil
from gridshare.errors import GridshareError
from gridshare.simulate import simulation
from gridshare.simulate.scenario import load_scenario
from gridshare.simulate.simulation import simulate

pytestmark = pytest.mark.anvil

SHORT = Path(__file__).resolve().parents[1] / "gridshare" / "scenarios" / "short.toml"
FILES = ("intervals", "participants", "orders", "trades", "certificates")


class Crash(Exception):
    """Stands for the process dying: everything in memory is lost, the chain and the out folder stay."""


class CrashingProgress:
    """A progress display that kills the run once ``task`` has advanced ``after`` steps."""

    def __init__(self, task: str, after: int):
        self.task, self.after, self.names, self.done = task, after, {}, 0

    def add_task(self, description: str, total=None) -> str:
        self.names[description] = description
        return description

    def advance(self, task: str, steps: int = 1) -> None:
        if task == self.task:
            self.done += steps
            if self.done >= self.after:
                raise Crash(f"crashed in {task!r} after {self.done} steps")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The short scenario with a static key (surplus and needs at once: orders and trades), two days."""
    path = tmp_path_factory.mktemp("scenario") / "static.toml"
    path.write_text(SHORT.read_text().replace('key = "dynamic-default"', 'key = "static"')
                    .replace("days = 1", "days = 2"))
    return load_scenario(path)


def _files(result) -> dict[str, list[dict]]:
    out = {}
    for name in FILES:
        with result.files[name].open() as f:
            rows = list(csv.DictReader(f))
        # accounts and meter ids derive from the run's random community salt: compare by name
        out[name] = [{k: v for k, v in r.items() if k not in ("account", "meter_id")} for r in rows]
    return out


@pytest.fixture(scope="module")
def uninterrupted(scenario, tmp_path_factory):
    chain = start_anvil()
    try:
        return _files(simulate(scenario, chain, tmp_path_factory.mktemp("whole"), market_intervals=3, plots=False))
    finally:
        chain.close()


@pytest.mark.parametrize("task, after, one_run_a_batch", [
    ("verifying and sharing", 100, False),  # after the second day's sharing, before its checks
    # mid-way through the second day: one transaction per run end (every day is cut at a UTC
    # midnight: 8 intervals, then 88), so it dies after the 8 of the second day; the rerun signs
    # only what follows the members' verified readings
    ("verifying and sharing", 100, True),
    ("market orders", 7, False),            # in the middle of an interval's orders
    ("claims and redemptions", 3, False),   # after some participants claimed and redeemed
    ("claiming certificates", 2, False),    # after some households got their certificates claimed
])
def test_a_crashed_run_resumes_to_the_same_result(scenario, uninterrupted, tmp_path, monkeypatch, task, after,
                                                   one_run_a_batch):
    if one_run_a_batch:
        monkeypatch.setattr(simulation, "allocate", functools.partial(operation.allocate, max_gas=1))
    chain = start_anvil()
    try:
        with pytest.raises(Crash):
            simulate(scenario, chain, tmp_path, CrashingProgress(task, after), market_intervals=3, plots=False)
        result = simulate(scenario, chain, tmp_path, market_intervals=3, plots=False)
    finally:
        chain.close()
    assert result.resumed["deployment"] == 1
    if one_run_a_batch:
        assert result.resumed["intervals already shared"] == 8 and result.resumed["days already shared"] == 1
    assert result.mismatches == []
    assert _files(result) == uninterrupted


ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's well-known dev key


def test_on_a_node_reached_by_url_participants_sign_their_own_transactions(scenario, uninterrupted, tmp_path,
                                                                           monkeypatch):
    """--rpc-url to a development node: no impersonation, every participant's key signs locally,
    the deployer's key (from the environment) funds them; same result as on --network anvil."""
    node = start_anvil()
    monkeypatch.setenv("GRIDSHARE_PRIVATE_KEY", ANVIL_KEY_0)
    try:
        chain = connect(rpc_url=node.w3.provider.endpoint_uri)
        assert chain.network == "rpc"
        result = simulate(scenario, chain, tmp_path, market_intervals=3, plots=False)
    finally:
        node.close()
    assert result.mismatches == []
    assert _files(result) == uninterrupted


def test_a_node_whose_clock_cannot_move_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    """A public chain's clock cannot be moved: refused before anything is deployed."""
    node = start_anvil()
    monkeypatch.setenv("GRIDSHARE_PRIVATE_KEY", ANVIL_KEY_0)
    try:
        chain = connect(rpc_url=node.w3.provider.endpoint_uri)
        chain.w3.provider.make_request = lambda method, params: (
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "the method does not exist"}}
            if method == "evm_setNextBlockTimestamp" else type(chain.w3.provider).make_request(
                chain.w3.provider, method, params))
        with pytest.raises(GridshareError, match="refused to .*the method does not exist.*--network anvil"):
            simulate(load_scenario(SHORT), chain, tmp_path)
        assert not (tmp_path / "simulation-state.json").exists()
    finally:
        node.close()


def test_the_command_killed_mid_way_resumes_on_the_devnet(tmp_path):
    """`gridshare --network anvil simulate` killed with SIGKILL (no clean-up at all): anvil, told
    to stop with its parent, saves the devnet; the same command again finishes the job and
    reports what it found done."""
    scenario = tmp_path / "twenty.toml"
    scenario.write_text(SHORT.read_text().replace("count = 4", "count = 20").replace("days = 1", "days = 2"))
    env = {**os.environ, "GRIDSHARE_STATE_DIR": str(tmp_path / "devnet")}
    cmd = [sys.executable, "-m", "gridshare", "--network", "anvil", "simulate", str(scenario), "--out",
           str(tmp_path / "out"), "--no-plots"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "out" / "simulation-state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3)  # into the sharing
    assert first.poll() is None, "the run ended before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(1)  # anvil writes its state on its way out
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    out = " ".join(again.stdout.split())
    assert "resumed: deployment 1" in out  # (what else was done depends on where the kill landed)
    assert "0 differ" in out
    with (tmp_path / "out" / "orders.csv").open() as f:
        placed = [(r["interval_id"], r["owner"], r["side"]) for r in csv.DictReader(f)]
    assert placed and len(placed) == len(set(placed)), "an agent's order placed twice"
    # the simulation's devnet is its own, kept with its reports: the user's devnet was not touched
    assert (tmp_path / "out" / "anvil-state.json").exists() and not (tmp_path / "devnet").exists()
