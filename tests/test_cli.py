"""The command line: a full flow on a real anvil devnet kept between commands, and one-line errors."""

from __future__ import annotations

import csv
import json
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from web3 import Web3

from gridshare.simulate.scenario import DEFAULT_SCENARIO

from conftest import OWNER, one_line_error


@pytest.mark.anvil
def test_deploy_register_sign_submit_resume_and_balances(gs, tmp_path):
    code, out, _ = gs("--network", "anvil", "deploy")
    assert code == 0 and "MeterRegistry" in out
    manifest = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert set(manifest) == {"chainId", "name", "gridshare", "contracts", "enums", "settings"}
    assert manifest["chainId"] == 31337 and manifest["settings"]["intervalSeconds"] == 900
    assert set(manifest["contracts"]["MeterRegistry"]) == {"address", "abi", "blockNumber", "transactionHash"}

    keystore = tmp_path / "meter.json"
    assert gs("meter", "new-key", str(keystore))[0] == 0
    signer = "0x" + json.loads(keystore.read_text())["address"]
    code, out, err = gs("--network", "anvil", "meter", "register", "--point", "30001234567890", "--signer", signer,
                        "--owner", OWNER, "--kind", "producer", "--capacity", "6000", "--commissioned", "2024-05-01")
    assert code == 0, err  # every command starts anvil anew: the devnet reloads from its state file
    code, out, _ = gs("meter", "id", "--point", "30001234567890")
    meter_id = out.strip()
    code, out, err = gs("--network", "anvil", "meter", "state", meter_id)
    assert code == 0 and "previousEnd " in out, err
    first = int(out.split("previousEnd ")[1].split(";")[0])  # the meter's first interval: after its registration
    assert first % 900 == 0 and first >= time.time() - 900
    assert gs("--network", "anvil", "devnet", "advance", "--days", "1")[0] == 0  # the intervals have ended

    unsigned = tmp_path / "unsigned.csv"
    with unsigned.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["meterId", "intervalStart", "importWh", "exportWh", "importRegisterWh", "exportRegisterWh"])
        register = 0
        for i in range(6):
            register += 100 + i
            w.writerow([meter_id, first + 900 * i, 0, 100 + i, 0, register])
    signed = tmp_path / "signed.json"
    code, out, err = gs("meter", "sign", str(keystore), str(unsigned), str(signed), "--run-intervals", "1",
                        "--manifest", str(tmp_path / "deployments" / "31337.json"))
    assert code == 0, err
    assert "signed 6 readings in 6 runs" in out  # a run per interval

    # simulate a crash after 4 runs: submit a file with only those, then the whole file
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(json.loads(signed.read_text())[:4]))
    code, out, err = gs("--network", "anvil", "readings", "submit", str(partial))
    assert code == 0 and "4 runs (4 intervals) verified in 1 batches" in out, out + err
    code, out, err = gs("--network", "anvil", "readings", "submit", str(signed))
    assert code == 0 and "2 runs (2 intervals) verified in 1 batches, 4 already on-chain, 0 not verified" in out, out + err

    code, out, _ = gs("--network", "anvil", "balances", "--account", OWNER)
    assert code == 0 and "totals per participant" in out
    code, out, _ = gs("--network", "anvil", "--json", "balances", "--account", OWNER)
    intervals, totals = (json.loads(line) for line in out.splitlines())
    assert [r["held"] for r in intervals["rows"]] == [100, 101, 102, 103, 104, 105]
    assert totals["rows"] == [{"participant": OWNER, "intervals": 6, "held": 615, "verified import": 0, "redeemed": 0}]
    third = intervals["rows"][2]["interval (UTC)"].replace(" ", "T")
    code, out, _ = gs("--network", "anvil", "--json", "balances", "--account", OWNER, "--from", third)
    assert [r["held"] for r in json.loads(out.splitlines()[0])["rows"]] == [102, 103, 104, 105]

    # a tampered run continuing the meter's readings is refused: one error line, exit 1, the file written
    rows = json.loads(signed.read_text())
    rows[-1]["previousEnd"] += 900
    rows[-1]["firstIntervalStart"] += 900
    rows[-1]["exportRegisterWh"] += 105
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(rows))
    code, out, err = gs("--network", "anvil", "readings", "submit", str(tampered))
    assert code == 1
    assert "not verified: " in err and "MeterRegistryInvalidSigner" in err
    assert err.strip().splitlines()[-1].startswith("error: 1 runs not verified")
    assert (tmp_path / "tampered.rejected.csv").exists()


def test_missing_file_is_one_line(gs, tmp_path):
    line = one_line_error(*[gs("readings", "submit", str(tmp_path / "nope.csv"))[i] for i in (0, 2)])
    assert "nope.csv not found" in line


def test_bad_rows_name_the_file_and_line(gs, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("meterId,previousEnd,firstIntervalStart,importWh,exportWh,importRegisterWh,exportRegisterWh,"
                   "signature\n0x" + "11" * 32 + ",900,900,-1,0,0,0,0x" + "22" * 65 + "\n")
    code, _, err = gs("readings", "submit", str(bad))
    assert "bad.csv line 2: import_wh must be an integer in [0, 4294967295], got -1" in one_line_error(code, err)


def test_embedded_chain_has_no_lasting_deployment(gs):
    code, _, err = gs("balances")
    assert "embedded chain lives only as long as one command" in one_line_error(code, err)


def test_bad_salt_and_address_are_one_line(gs):
    code, _, err = gs("meter", "id", "--point", "30001234567890", "--salt", "0x1234")
    assert "32 bytes, got 2" in one_line_error(code, err)
    code, _, err = gs("participant", "add", "not-an-address")
    assert "is not an Ethereum address" in one_line_error(code, err)


def test_usage_errors_are_one_line(gs):
    code, _, err = gs("meter", "register", "--point", "30001234567890")
    assert code == 2 and "Missing option" in one_line_error(code, err)
    code, _, err = gs("frobnicate")
    assert "No such command" in one_line_error(code, err)


def test_rpc_without_a_key_says_what_to_do(gs, monkeypatch):
    monkeypatch.delenv("GRIDSHARE_PRIVATE_KEY", raising=False)
    code, _, err = gs("--rpc-url", "http://127.0.0.1:9", "deploy")
    assert "pass --keystore FILE or set GRIDSHARE_PRIVATE_KEY" in one_line_error(code, err)


def test_rpc_unreachable_says_so(gs, monkeypatch):
    monkeypatch.setenv("GRIDSHARE_PRIVATE_KEY", "0x" + "01" * 32)
    code, _, err = gs("--rpc-url", "http://127.0.0.1:9", "deploy")
    assert "cannot reach http://127.0.0.1:9" in one_line_error(code, err)


@pytest.mark.anvil
def test_a_running_devnet_is_the_one_every_command_and_a_dapp_use(gs, tmp_path):
    """`gridshare devnet start` serves the devnet until stopped: `--network anvil` commands attach to
    it (a dApp at its URL sees what they did), `devnet reset` refuses while it runs, and stopping it
    keeps its state for the next command."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "import sys; from gridshare.cli.app import main; "
                               "sys.exit(main(sys.argv[1:]))", "devnet", "start", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        marker = tmp_path / "state" / "anvil.url"
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.read_text().strip() == f"http://127.0.0.1:{port}"
        code, out, err = gs("--network", "anvil", "deploy")
        assert code == 0, err
        registry = json.loads((tmp_path / "deployments" / "31337.json").read_text())["contracts"]["MeterRegistry"]
        dapp = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        assert dapp.eth.get_code(registry["address"]) != b""
        code, _, err = gs("devnet", "reset")
        assert f"the devnet runs at http://127.0.0.1:{port}: stop it" in one_line_error(code, err)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0 and "devnet stopped; its state is kept" in out, err
    assert not marker.exists()
    code, out, err = gs("--network", "anvil", "--json", "status")
    assert code == 0 and registry["address"] in out, err


def _unsigned(path, rows) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["meterId", "intervalStart", "importWh", "exportWh", "importRegisterWh", "exportRegisterWh"])
        w.writerows(rows)


@pytest.mark.anvil
def test_meter_sign_takes_a_gateway_s_keystores_into_one_file(gs, tmp_path):
    """Several keystores: each meter's rows signed by the keystore of its signer on-chain (in any
    order); a meter whose key is missing, or not registered, refused in one line, nothing written."""
    assert gs("--network", "anvil", "deploy")[0] == 0
    keystores, ids = [], []
    for k, (point, kind) in enumerate((("30001234567890", "producer"), ("30001234567891", "consumer"))):
        keystore = tmp_path / f"meter-{k}.json"
        assert gs("meter", "new-key", str(keystore))[0] == 0
        signer = "0x" + json.loads(keystore.read_text())["address"]
        code, _, err = gs("--network", "anvil", "meter", "register", "--point", point, "--signer", signer,
                          "--owner", OWNER, "--kind", kind, "--capacity", "6000", "--commissioned", "2024-05-01")
        assert code == 0, err
        keystores.append(keystore)
        ids.append(gs("meter", "id", "--point", point)[1].strip())
    spare = tmp_path / "spare.json"
    assert gs("meter", "new-key", str(spare))[0] == 0
    firsts = [int(gs("--network", "anvil", "meter", "state", mid)[1].split("previousEnd ")[1].split(";")[0])
              for mid in ids]  # each meter's first interval
    assert gs("--network", "anvil", "devnet", "advance", "--days", "1")[0] == 0
    unsigned = tmp_path / "gateway.csv"
    _unsigned(unsigned, [[ids[0], firsts[0] + 900 * i, 0, 10, 0, 10 * (i + 1)] for i in range(3)]  # exports
              + [[ids[1], firsts[1] + 900 * i, 20, 0, 20 * (i + 1), 0] for i in range(3)])  # imports
    manifest = str(tmp_path / "deployments" / "31337.json")
    signed = tmp_path / "signed.json"
    code, out, err = gs("--network", "anvil", "meter", "sign", str(keystores[1]), str(spare), str(keystores[0]),
                        str(unsigned), str(signed), "--manifest", manifest)
    assert code == 0, err
    runs = sum(len({(f + 900 * i) // 86_400 for i in range(3)}) for f in firsts)  # a run per UTC day: 2, or
    assert f"signed 6 readings in {runs} runs with the keys of 2 meters" in out  # more near midnight
    code, out, err = gs("--network", "anvil", "readings", "submit", str(signed))
    assert code == 0 and f"{runs} runs (6 intervals) verified" in out, out + err

    # a meter whose keystore is not given: named with its signer, nothing written
    later = tmp_path / "later.csv"
    _unsigned(later, [[ids[0], firsts[0] + 900 * 3, 0, 5, 0, 35], [ids[1], firsts[1] + 900 * 3, 5, 0, 65, 0]])
    signer0 = Web3.to_checksum_address("0x" + json.loads(keystores[0].read_text())["address"])
    out_file = tmp_path / "later.json"
    code, _, err = gs("--network", "anvil", "meter", "sign", str(keystores[1]), str(spare), str(later), str(out_file),
                      "--manifest", manifest)
    line = one_line_error(code, err)
    assert f"meter {ids[0]} is signed by {signer0} on-chain and none of the 2 keystores holds that key" in line
    assert not out_file.exists()
    # a meter not registered
    stranger = gs("meter", "id", "--point", "30001234567899")[1].strip()
    _unsigned(later, [[stranger, firsts[0], 0, 5, 0, 5]])
    code, _, err = gs("--network", "anvil", "meter", "sign", str(keystores[1]), str(spare), str(later), str(out_file),
                      "--manifest", manifest)
    assert f"meter {stranger} is not registered on chain 31337" in one_line_error(code, err)
    assert not out_file.exists()


@pytest.mark.anvil
def test_a_simulation_left_on_the_devnet_becomes_its_community(gs, tmp_path):
    """`simulate --shared-devnet` leaves its community on the devnet: its manifest is the devnet's,
    so every command (and a dApp, `gridshare web`) reads it; the list views show its participants
    and meters."""
    code, out, err = gs("--network", "anvil", "simulate", "short", "--shared-devnet", "--no-plots",
                        "--out", str(tmp_path / "out"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert "the devnet's community is now the simulated one" in out
    code, out, err = gs("--network", "anvil", "--json", "participant", "list")
    assert code == 0, err
    table = json.loads(out)
    assert table["title"] == "6 participants"  # 4 households, the plant and the market (its escrows)
    assert sorted(r["kinds"] for r in table["rows"]) == ["consumer"] * 3 + ["producer", "prosumer",
                                                                          "the EnergyMarket (holds escrows)"]
    code, out, err = gs("--network", "anvil", "--json", "meter", "list")
    assert code == 0, err
    meters = json.loads(out)["rows"]
    assert len(meters) == 5 and all(m["intervals"] == 96 for m in meters)  # a day of 15 min
    code, out, err = gs("--network", "anvil", "--json", "status")
    assert code == 0 and manifest["contracts"]["MeterRegistry"]["address"] in out, err


@pytest.mark.anvil
def test_solidarity_commands_on_a_simulated_building(gs, tmp_path):
    """The AMEP building (one day) left on the devnet: `solidarity list` shows its flags, pledges and
    gifts; `distribute` finds nothing left to do; refusals are one line naming the problem."""
    scenario = tmp_path / "amep.toml"
    amep = DEFAULT_SCENARIO.parent / "amep.toml"
    scenario.write_text(amep.read_text().replace("days = 2", "days = 1"))
    code, _, err = gs("--network", "anvil", "simulate", str(scenario), "--shared-devnet", "--no-plots",
                      "--out", str(tmp_path / "out"))
    assert code == 0, err
    code, out, err = gs("--network", "anvil", "--json", "solidarity", "list")
    assert code == 0, err
    table = json.loads(out)
    assert table["title"] == "solidarity: 5 energy-poor members, 3 pledges"
    rows = {r["account"]: r for r in table["rows"]}
    with (tmp_path / "out" / "solidarity.csv").open() as f:
        gifts = list(csv.DictReader(f))
    assert sum(r["received Wh"] for r in rows.values()) == sum(int(g["wh"]) for g in gifts) > 0
    giver = next(a for a, r in rows.items() if r["pledge %"] == 100)
    period = ("--from", "2020-01-01", "--to", "2100-01-01")  # from the operation's start to what it shared
    code, out, err = gs("--network", "anvil", "solidarity", "distribute", giver, *period)
    # the simulation distributed its day; the plant's closing reading (for its certificate) shared a
    # few more intervals after it, night ones: nothing to give there
    assert code == 0 and re.fullmatch(r"distributed \d+ intervals: 0 Wh given in 0 gifts\n", out), err
    code, out, err = gs("--network", "anvil", "solidarity", "distribute", giver, *period)
    assert code == 0 and "nothing to distribute" in out, err
    # the members' statements of the month show the gifts, free of charge
    month = datetime.fromtimestamp(int(gifts[0]["interval_id"]) * 900, timezone.utc).strftime("%Y-%m")
    code, _, err = gs("--network", "anvil", "report", "--month", month, "--local-price", "0.15", "--out",
                      str(tmp_path / "rep"))
    assert code == 0, err
    with (tmp_path / "rep" / month / f"bills-{month}.csv").open() as f:
        bills = list(csv.DictReader(f))
    in_month = sum(int(g["wh"]) for g in gifts if datetime.fromtimestamp(int(g["interval_id"]) * 900,
                                                                         timezone.utc).strftime("%Y-%m") == month)
    assert round(sum(float(b["gifts_received_kwh"]) for b in bills) * 1000) == in_month
    assert round(sum(float(b["gifts_given_kwh"]) for b in bills) * 1000) == in_month
    code, _, err = gs("--network", "anvil", "solidarity", "flag", OWNER)  # a dev account, not a member
    assert one_line_error(code, err) == f"error: the contract refused: SolidarityNotMember(account={OWNER})"
    code, _, err = gs("--network", "anvil", "solidarity", "pledge", "150")
    assert "give a percentage from 0 to 100" in one_line_error(code, err)
