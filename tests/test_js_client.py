"""The dApp integration proof: js/read-reading.mjs (ethers v6, only abi/*.json + the manifest) reads
what the Python toolkit wrote to a real anvil node; js/sign-run.mjs signs a run that the registry
verifies, with the digest the registry and Python compute; the typed client's examples
(js/examples/*.ts, compiled by tsc) relay a signed run and read it back with viem."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from gridshare.chain.deployment import deploy
from gridshare.chain.network import start_anvil
from gridshare.protocol.meters import MeterKind, meter_id, new_meter_key
from gridshare.protocol.readings import DOMAIN_NAME, DOMAIN_VERSION, MeterReadings, SignedReadings, unpack_energy

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "js" / "read-reading.mjs"
INTERVAL = 900
IMPORTS = [10, 0, 5]
EXPORTS = [400, 800, 600]
TECHNOLOGY = b"solar-pv".ljust(32, b"\0")
CAPACITY_W = 5000


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A fresh anvil, a deployed community, a registered producer meter with 3 verified readings."""
    folder = tmp_path_factory.mktemp("deployments")
    chain = start_anvil()
    try:
        community = deploy(chain, folder=folder)
        owner = chain.accounts()[1]
        community.transact(community.registry.functions.registerParticipant(owner))
        key = new_meter_key()
        mid = meter_id(bytes(32), "12345678901234")
        community.transact(
            community.registry.functions.registerMeter(
                mid, key.address, owner, int(MeterKind.PRODUCER), CAPACITY_W, TECHNOLOGY, 0
            )
        )
        first = community.registry.functions.meterState(mid).call()[0]  # after its registration
        starts = [first + INTERVAL * i for i in range(3)]
        chain.travel(starts[-1] + INTERVAL)
        run = MeterReadings(mid, first, first, IMPORTS, EXPORTS, sum(IMPORTS), sum(EXPORTS))
        signed = run.sign(key, chain.chain_id, community.registry.address)
        community.transact(community.registry.functions.submitReadings([signed.as_call_arg()]))
        yield {
            "chain": chain,
            "community": community,
            "manifest": folder / f"{chain.chain_id}.json",
            "owner": owner,
            "signer": key.address,
            "meter_id": "0x" + mid.hex(),
            "starts": starts,
            "key": key,
        }
    finally:
        chain.close()


def _run(world, meter: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_node(), str(SCRIPT), "--rpc", world["chain"].w3.provider.endpoint_uri,
         "--manifest", str(world["manifest"]), "--meter", meter, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def test_reads_the_effect_of_verified_readings(world):
    proc = _run(world, world["meter_id"], "--abi-dir", "abi")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    community = world["community"]

    assert out["chainId"] == "31337"
    assert out["registry"] == community.registry.address
    assert out["energyToken"] == community.token.address
    assert out["intervalSeconds"] == str(INTERVAL)

    domain = out["domain"]
    assert (domain["name"], domain["version"]) == (DOMAIN_NAME, DOMAIN_VERSION) == ("gridshare", "2")
    assert domain["chainId"] == "31337"
    assert domain["verifyingContract"] == community.registry.address

    meter = out["meter"]
    assert out["meterId"] == world["meter_id"]
    assert meter["owner"] == world["owner"]
    assert meter["signer"] == world["signer"]
    assert (meter["kind"], meter["kindName"]) == (str(int(MeterKind.PRODUCER)), "PRODUCER")
    assert meter["active"] is True
    assert meter["capacityW"] == str(CAPACITY_W)
    assert meter["technology"] == "0x" + TECHNOLOGY.hex()
    assert meter["technologyLabel"] == "solar-pv"

    starts = world["starts"]
    assert out["state"] == {
        "nextIntervalStart": str(starts[-1] + INTERVAL),
        "importRegisterWh": str(sum(IMPORTS)),
        "exportRegisterWh": str(sum(EXPORTS)),
        "verifiedExportWh": str(sum(EXPORTS)),
        "registersKnown": True,
    }

    readings = out["readings"]
    assert len(readings) == 3
    for reading, start, imp, exp in zip(readings, starts, IMPORTS, EXPORTS):
        assert reading["intervalStart"] == str(start)
        assert reading["intervalId"] == str(start // INTERVAL)
        assert (reading["importWh"], reading["exportWh"]) == (str(imp), str(exp))
        assert reading["owner"] == world["owner"]
        assert reading["balanceOf"] == str(exp)
        assert reading["verifiedImport"] == str(imp)
    # the client's numbers are the chain's numbers
    token = community.token.functions
    assert [int(r["balanceOf"]) for r in readings] == [
        token.balanceOf(world["owner"], s // INTERVAL).call() for s in starts
    ]


def test_unknown_meter_is_one_line_naming_the_custom_error(world):
    unknown = "0x" + "ab" * 32
    proc = _run(world, unknown)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "MeterRegistryUnknownMeter" in lines[0]
    assert unknown in lines[0]


def test_missing_manifest_and_dead_rpc_are_one_line_errors(world, tmp_path):
    missing = subprocess.run(
        [_node(), str(SCRIPT), "--rpc", world["chain"].w3.provider.endpoint_uri,
         "--manifest", str(tmp_path / "nope.json"), "--meter", world["meter_id"]],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "nope.json" in missing.stderr

    dead = subprocess.run(
        [_node(), str(SCRIPT), "--rpc", "http://127.0.0.1:1",
         "--manifest", str(world["manifest"]), "--meter", world["meter_id"]],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert dead.returncode == 1
    assert len(dead.stderr.strip().splitlines()) == 1
    assert "cannot reach" in dead.stderr


def test_a_run_signed_in_javascript_verifies_on_chain(world, tmp_path):
    """js/sign-run.mjs (ethers' signTypedData) signs the meter's next run: its digest is the
    registry's and Python's, and the registry verifies it."""
    community, chain, key = world["community"], world["chain"], world["key"]
    mid = bytes.fromhex(world["meter_id"][2:])
    first = community.registry.functions.meterState(mid).call()[0]
    run = {"meterId": world["meter_id"], "previousEnd": first, "firstIntervalStart": first + INTERVAL,
           "importWh": [7, 0], "exportWh": [100, 1250], "importRegisterWh": sum(IMPORTS) + 7,
           "exportRegisterWh": sum(EXPORTS) + 1350}  # an outage of one interval, then two
    (tmp_path / "run.json").write_text(json.dumps(run))
    proc = subprocess.run([_node(), str(ROOT / "js" / "sign-run.mjs"), "--manifest", str(world["manifest"]),
                           "--run", str(tmp_path / "run.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"], "GRIDSHARE_METER_KEY": key.key.hex()})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    python = MeterReadings(mid, run["previousEnd"], run["firstIntervalStart"], run["importWh"], run["exportWh"],
                           run["importRegisterWh"], run["exportRegisterWh"])
    signed = SignedReadings(python, bytes.fromhex(out["signature"][2:]))
    assert bytes.fromhex(out["digest"][2:]) == python.digest(chain.chain_id, community.registry.address) == \
        community.registry.functions.readingsDigest(signed.as_call_arg()).call()
    assert signed.recover(chain.chain_id, community.registry.address) == key.address
    chain.travel(first + 3 * INTERVAL)
    community.transact(community.registry.functions.submitReadings([signed.as_call_arg()]))
    ids = [(first + INTERVAL) // INTERVAL + k for k in range(2)]
    assert community.token.functions.balanceOfBatch([world["owner"]] * 2, ids).call() == [100, 1250]

    # read back by the JS client: the run's two intervals after the Python-signed three, the outage
    # interval (`first`) absent, the state where the run ends
    read = _run(world, world["meter_id"])
    assert read.returncode == 0, read.stderr
    out = json.loads(read.stdout)
    assert [(r["intervalStart"], r["importWh"], r["exportWh"], r["balanceOf"], r["verifiedImport"])
            for r in out["readings"][3:]] == [
        (str(first + INTERVAL), "7", "100", "100", "7"), (str(first + 2 * INTERVAL), "0", "1250", "1250", "0")]
    assert [r["intervalStart"] for r in out["readings"][:3]] == [str(s) for s in world["starts"]]
    assert out["state"]["nextIntervalStart"] == str(first + 3 * INTERVAL)
    assert out["state"]["exportRegisterWh"] == str(run["exportRegisterWh"])


def test_the_signer_refuses_without_a_key_in_one_line(world, tmp_path):
    (tmp_path / "run.json").write_text("{}")
    proc = subprocess.run([_node(), str(ROOT / "js" / "sign-run.mjs"), "--manifest", str(world["manifest"]),
                           "--run", str(tmp_path / "run.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"]})
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: set GRIDSHARE_METER_KEY to the meter's private key (0x + 64 hex digits)"]


def test_an_order_signed_in_javascript_is_the_contracts_and_pythons(world, tmp_path):
    """js/sign-order.mjs (ethers) signs a market order: its digest is BatchAuction.orderDigest's and
    Python's, its row loads in gridshare's files of signed orders, its signature recovers to the owner."""
    from eth_account import Account

    from gridshare.protocol.orders import load_orders

    community, chain = world["community"], world["chain"]
    owner = Account.create()
    order = {"intervalId": 123456, "side": "ask", "price": 100_000, "quantityWh": 800, "salt": 42}
    (tmp_path / "order.json").write_text(json.dumps(order))
    proc = subprocess.run([_node(), str(ROOT / "js" / "sign-order.mjs"), "--manifest", str(world["manifest"]),
                           "--order", str(tmp_path / "order.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"], "GRIDSHARE_ACCOUNT_KEY": owner.key.hex()})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    digest = out.pop("digest")
    (tmp_path / "orders.json").write_text(json.dumps([out]))
    [signed] = load_orders(tmp_path / "orders.json", chain.chain_id, community.batch.address)  # checks the signature
    assert signed.owner == owner.address and signed.signer() == owner.address
    assert bytes.fromhex(digest[2:]) == signed.digest == \
        community.batch.functions.orderDigest(123456, signed.order.as_struct()).call()
    # the JS client packs it for settleBatch as the Python client does (109 bytes)
    script = "import {packOrders} from './js/orders.mjs'; process.stdout.write(packOrders([JSON.parse(process.argv[1])]));"
    proc = subprocess.run([_node(), "--input-type=module", "-e", script, json.dumps(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "0x" + signed.packed().hex() and len(signed.packed()) == 109


def test_batch_fills_decode_in_javascript_as_in_python():
    from gridshare.protocol.orders import unpack_fills

    data = bytes.fromhex("11" * 20 + "22" * 20) + (1234).to_bytes(5, "big")
    script = ("import {unpackFills} from './js/orders.mjs'; const f = unpackFills(process.argv[1]);"
              "console.log(JSON.stringify(f.map(x => [x.buyer, x.seller, x.quantityWh.toString()])));")
    proc = subprocess.run([_node(), "--input-type=module", "-e", script, "0x" + data.hex()], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [f] = unpack_fills(data)
    assert json.loads(proc.stdout) == [[f.buyer, f.seller, str(f.quantity_wh)]]


@pytest.fixture(scope="module")
def examples():
    """js/examples/*.ts compiled by tsc into a folder of build/: inside the repository, so that node
    finds node_modules and imports the package @gridshare/client by name, as a dApp does."""
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.skip("typescript is not installed: run `make setup`")
    (ROOT / "build").mkdir(exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="js-examples-", dir=ROOT / "build"))
    try:
        proc = subprocess.run([str(tsc), "-p", "js", "--noEmit", "false", "--outDir", str(out)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield out / "examples"
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _example(examples: Path, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([_node(), str(examples / f"{name}.js"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": os.environ["PATH"], **(env or {})})


def test_the_typed_client_signs_a_run_the_registry_verifies_and_reads_it_back(world, examples, tmp_path):
    """js/examples/gateway.ts (ethers, signRun and asCallArg of @gridshare/client) signs a new meter's
    first run and relays it; the digest is the registry's and Python's; js/examples/attach.ts (viem,
    the typed ABIs) reads back the meter, its state and the run's balances."""
    from eth_account import Account

    community, chain = world["community"], world["chain"]
    registry, token = community.registry.functions, community.token.functions
    key, relayer, owner = new_meter_key(), Account.create(), chain.accounts()[2]
    mid = meter_id(bytes(32), "98765432109876")
    community.transact(registry.registerParticipant(owner))
    community.transact(registry.registerMeter(mid, key.address, owner, int(MeterKind.PROSUMER), CAPACITY_W,
                                              TECHNOLOGY, 0))
    chain.w3.provider.make_request("anvil_setBalance", [relayer.address, hex(10**18)])
    first = registry.meterState(mid).call()[0]
    run = {"meterId": "0x" + mid.hex(), "importWh": [3, 40], "exportWh": [500, 700], "importRegisterWh": 43,
           "exportRegisterWh": 1200}
    (tmp_path / "run.json").write_text(json.dumps(run))
    gateway = ["--rpc", chain.w3.provider.endpoint_uri, "--manifest", str(world["manifest"]),
               "--run", str(tmp_path / "run.json")]
    keys = {"GRIDSHARE_METER_KEY": key.key.hex(), "GRIDSHARE_RELAYER_KEY": relayer.key.hex()}
    chain.travel(first + 2 * INTERVAL)  # the run's two intervals are over

    proc = _example(examples, "gateway", *gateway, env=keys)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    python = MeterReadings(mid, first, first, run["importWh"], run["exportWh"], 43, 1200)
    signed = SignedReadings(python, bytes.fromhex(out["signature"][2:]))
    assert bytes.fromhex(out["digest"][2:]) == python.digest(chain.chain_id, community.registry.address) == \
        registry.readingsDigest(signed.as_call_arg()).call()
    assert signed.recover(chain.chain_id, community.registry.address) == key.address
    receipt = chain.w3.eth.get_transaction_receipt(out["transactionHash"])
    assert (receipt["status"], receipt["from"], receipt["to"]) == (1, relayer.address, community.registry.address)
    ids = [first // INTERVAL, first // INTERVAL + 1]
    assert token.balanceOfBatch([owner] * 2, ids).call() == run["exportWh"]
    assert [token.verifiedImport(owner, i).call() for i in ids] == run["importWh"]

    read = _example(examples, "attach", "--rpc", chain.w3.provider.endpoint_uri, "--manifest", str(world["manifest"]),
                    "--meter", run["meterId"])
    assert read.returncode == 0, read.stderr
    seen = json.loads(read.stdout)
    state = registry.meterState(mid).call()
    assert seen["state"] == {"nextIntervalStart": str(state[0]), "importRegisterWh": str(state[1]),
                             "exportRegisterWh": str(state[2]), "verifiedExportWh": str(state[3]),
                             "registersKnown": state[4]}
    assert state[0] == first + 2 * INTERVAL
    assert (seen["meterId"], seen["owner"], seen["kind"], seen["active"], seen["runs"]) == (
        run["meterId"], owner, "Prosumer", True, 1)
    assert seen["latest"] == [
        {"intervalStart": str(i * INTERVAL), "intervalId": str(i), "importWh": str(imp), "exportWh": str(exp),
         "balanceOf": str(token.balanceOf(owner, i).call()),
         "verifiedImport": str(token.verifiedImport(owner, i).call())}
        for i, imp, exp in zip(ids, run["importWh"], run["exportWh"])]

    # the next run's intervals are not over: the registry's custom error, by name, in one line
    again = _example(examples, "gateway", *gateway, env=keys)
    assert again.returncode == 1 and again.stdout == ""
    [line] = again.stderr.strip().splitlines()
    assert line.startswith("error: the registry reverted with MeterRegistryIntervalNotEnded("), line


def test_the_typed_reader_reads_the_python_written_runs_and_names_reverts(world, examples):
    """js/examples/attach.ts on the meter the Python toolkit fed: its latest run as the chain's events
    and balances say; an unknown meter: the registry's custom error by name, in one line."""
    community, chain = world["community"], world["chain"]
    args = ["--rpc", chain.w3.provider.endpoint_uri, "--manifest", str(world["manifest"])]
    proc = _example(examples, "attach", *args, "--meter", world["meter_id"])
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    mid = bytes.fromhex(world["meter_id"][2:])
    events = community.registry.events.ReadingsVerified.get_logs(
        from_block=community.manifest["contracts"]["MeterRegistry"]["blockNumber"], argument_filters={"meterId": mid})
    latest = events[-1]["args"]
    token = community.token.functions
    expected = []
    for k, (imp, exp) in enumerate(unpack_energy(latest["energyWh"])):
        start = latest["firstIntervalStart"] + k * INTERVAL
        expected.append({"intervalStart": str(start), "intervalId": str(start // INTERVAL), "importWh": str(imp),
                         "exportWh": str(exp), "balanceOf": str(token.balanceOf(world["owner"], start // INTERVAL).call()),
                         "verifiedImport": str(token.verifiedImport(world["owner"], start // INTERVAL).call())})
    assert (seen["runs"], seen["latest"], seen["kind"]) == (len(events), expected, "Producer")
    assert expected and seen["state"]["nextIntervalStart"] == str(community.registry.functions.meterState(mid).call()[0])

    unknown = "0x" + "cd" * 32
    bad = _example(examples, "attach", *args, "--meter", unknown)
    assert bad.returncode == 1 and bad.stdout == ""
    [line] = bad.stderr.strip().splitlines()
    assert line == f"error: the contract reverted with MeterRegistryUnknownMeter({unknown})", line


def test_a_manifest_gridshare_writes_is_a_typed_manifest(world, tmp_path):
    """The manifest deploy() wrote satisfies the client's Manifest type (tsc --strict; `satisfies` also
    refuses a property the type lacks)."""
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.skip("typescript is not installed: run `make setup`")
    check = tmp_path / "manifest.mts"
    check.write_text(f"import type {{ Manifest }} from {json.dumps(str(ROOT / 'js' / 'index.mjs'))};\n"
                     f"export const manifest = {world['manifest'].read_text().strip()} satisfies Manifest;\n")
    proc = subprocess.run([str(tsc), "--noEmit", "--strict", "--module", "nodenext", "--target", "es2022",
                           "--lib", "es2022,dom", "--types", "node", str(check)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
