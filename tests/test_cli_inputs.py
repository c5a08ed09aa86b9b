"""Bad input at the command line (issue 18): each refused in one line naming the value and what to
do, with a non-zero exit, before anything is sent or written.

Most refusals happen while the arguments are parsed, so they run on the default embedded chain
(which the refusal never reaches); those that need a deployed community run on a real anvil devnet.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from conftest import OWNER, one_line_error

from gridshare import __version__
from gridshare.cli.app import main
from gridshare.chain.network import start_anvil

HUGE = str(2**300)  # 91 digits
HUGE_SHOWN = "203703...376 (91 digits)"
UNSIGNED_HEADER = "meterId,intervalStart,importWh,exportWh,importRegisterWh,exportRegisterWh\n"


def _error(gs, *args: str) -> tuple[int, str]:
    code, _, err = gs(*args)
    return code, one_line_error(code, err)


def test_shell_completion_completes_commands(monkeypatch, capsys):
    """The README's completion line works: click completes gridshare's commands."""
    monkeypatch.setenv("_GRIDSHARE_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "gridshare dev")
    monkeypatch.setenv("COMP_CWORD", "1")
    with pytest.raises(SystemExit):
        main([])
    assert capsys.readouterr().out.split() == ["plain,devnet"]


def test_version(gs):
    code, out, err = gs("--version")
    assert code == 0 and out.strip() == f"gridshare {__version__}" and not err
    assert __version__ == importlib.metadata.version("gridshare")  # the package's, as pyproject.toml says


@pytest.mark.parametrize("days, expected", [
    ("nan", "'nan' is not a positive number of days (e.g. 1 or 0.5)"),
    ("inf", "'inf' is not a positive number of days"),
    ("-1", "'-1' is not a positive number of days"),
    ("soon", "'soon' is not a positive number of days"),
    ("1e12", "'1e12' days is more than 36,500 days (100 years): the devnet's clock cannot move back"),
])
def test_devnet_advance_refuses_days_that_are_not_a_sane_number(gs, days, expected):
    code, line = _error(gs, "--network", "anvil", "devnet", "advance", "--days", days)
    assert code == 2 and f"Invalid value for '--days': {expected}" in line


@pytest.mark.parametrize("args, expected", [
    (["go", "transfer", "1", HUGE, OWNER],
     f"'AMOUNT_WH': {HUGE_SHOWN} is out of range: an energy in Wh is 1 to 18,446,744,073,709,551,615"),
    (["go", "transfer", HUGE, "1", OWNER], f"'CERTIFICATE_ID': {HUGE_SHOWN} is out of range: a certificate id is 1 "
                                          "to 2^256 - 1"),
    (["go", "approve", "1", HUGE], f"{HUGE_SHOWN} is out of range: a certificate id is 1 to 2^256 - 1"),
    (["go", "approve", "0"], "'0' is out of range: a certificate id is 1 to 2^256 - 1"),
    (["go", "reject", "three", "--reason", "x"], "'three' is not a certificate id (a whole number, 1 or more)"),
    (["go", "revoke", HUGE, "--reason", "x"], f"{HUGE_SHOWN} is out of range"),
    (["go", "claim", "1", HUGE, "--beneficiary", "ACME", "--from", "2026-01-01", "--to", "2026-01-02"],
     f"'AMOUNT_WH': {HUGE_SHOWN} is out of range"),
    (["market", "place", "bid", "1", "0.1", HUGE], f"'WH': {HUGE_SHOWN} is out of range: an energy in Wh is 1 to"),
    (["market", "place", "bid", "1", "0.1", "1.5"], "'WH': '1.5' is not an energy in Wh (a whole number, 1 or more)"),
    (["market", "cancel", HUGE], f"'ORDER_ID': {HUGE_SHOWN} is out of range: an order id is 1 to "
                                 "18,446,744,073,709,551,615"),
])
def test_integers_beyond_their_solidity_type_are_refused_before_any_chain(gs, args, expected):
    code, line = _error(gs, *args)
    assert code == 2 and expected in line and "unexpected" not in line


def test_meter_points_are_checked_before_hashing(gs):
    code, line = _error(gs, "meter", "id", "--point", "not a PRM")
    assert code == 2 and ("'not a PRM' is not a meter point number: 6 to 34 digits or capital letters, no spaces "
                          "(a PRM/PDL is 14 digits, e.g. 30001234567890)") in line
    code, out, _ = gs("meter", "id", "--point", "30001234567890")
    assert code == 0 and out.startswith("0x") and len(out.strip()) == 66
    code, line = _error(gs, "go", "request", "3000 1234", "--from", "2026-01-01", "--to", "2026-01-02")
    assert code == 1 and "'3000 1234' is not a meter point number" in line and "or give its 0x meterId" in line
    code, line = _error(gs, "go", "request", "0x1234", "--from", "2026-01-01", "--to", "2026-01-02")
    assert "'0x1234' is not a meterId (0x + 64 hex digits)" in line


def test_a_commissioning_date_in_the_future_is_refused(gs):
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    code, line = _error(gs, "--network", "anvil", "meter", "register", "--point", "30001234567890", "--signer", OWNER,
                        "--owner", OWNER, "--kind", "producer", "--capacity", "6000", "--commissioned", str(tomorrow))
    assert code == 2 and f"'--commissioned': {tomorrow} is in the future (today is " in line
    assert "give the date it happened" in line


def test_an_empty_beneficiary_is_refused(gs):
    for name in ("", "   "):
        code, line = _error(gs, "go", "claim", "1", "5", "--beneficiary", name, "--from", "2026-01-01",
                            "--to", "2026-01-02")
        assert line.startswith("error: the beneficiary is empty: name who the energy is claimed for")


def _keystore(gs, tmp_path):
    keystore = tmp_path / "meter.json"
    assert gs("meter", "new-key", str(keystore))[0] == 0
    return keystore


def _manifest(tmp_path, **changes) -> str:
    """A manifest file of chain 31337 as `deploy` writes it (its addresses made up), with changes."""
    data = {"chainId": 31337, "name": "anvil", "settings": {"intervalSeconds": 900},
            "contracts": {"MeterRegistry": {"address": "0x" + "12" * 20, "abi": [], "blockNumber": 1}}}
    data.update(changes)
    path = tmp_path / "deployments" / "31337.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


def test_reading_files_that_are_not_what_they_should_be(gs, tmp_path):
    keystore, manifest = _keystore(gs, tmp_path), _manifest(tmp_path)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(UNSIGNED_HEADER.encode() + "0x\xe9t\xe9,0,0,0,0,0\n".encode("latin-1"))
    code, line = _error(gs, "meter", "sign", str(keystore), str(latin1), str(tmp_path / "o.csv"), "--manifest", manifest)
    assert line == f"error: {latin1} line 2: not UTF-8 text; save a readings file as CSV UTF-8"
    code, line = _error(gs, "readings", "submit", str(latin1))  # unsigned readings given to submit
    assert line.startswith(f"error: {latin1}: the header must name the columns meterId,previousEnd,")
    # one huge line (a 1 GiB one took 2.2 GB of memory): refused at its first MiB, in one line
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"x" * (3 << 20))
    for args in (["meter", "sign", str(keystore), str(huge), str(tmp_path / "o.csv"), "--manifest", manifest],
                 ["readings", "submit", str(huge)]):
        code, line = _error(gs, *args)
        assert line == f"error: {huge} line 1: longer than 1 MiB: not a {'readings' if args[0] == 'meter' else 'signed-runs'} file"
    numbers = tmp_path / "numbers.json"
    numbers.write_text("[1,2,3]")
    code, line = _error(gs, "readings", "submit", str(numbers))
    assert line.startswith(f"error: {numbers} item 0: expected an object with the keys meterId, previousEnd")
    assert not (tmp_path / "o.csv").exists()


def test_a_bom_header_is_read_like_any_other(gs, tmp_path):
    keystore, manifest = _keystore(gs, tmp_path), _manifest(tmp_path)
    excel = tmp_path / "excel.csv"  # Excel's "CSV UTF-8" starts with a byte order mark
    excel.write_bytes(b"\xef\xbb\xbf" + (UNSIGNED_HEADER + "0x" + "ab" * 32 + ",900,0,5,0,5\n").encode())
    code, out, err = gs("meter", "sign", str(keystore), str(excel), str(tmp_path / "signed.csv"), "--manifest", manifest)
    assert code == 0 and "signed 1 readings in 1 runs" in out, err


def test_a_file_that_is_not_a_keystore(gs, tmp_path, monkeypatch):
    manifest = _manifest(tmp_path)
    unsigned = tmp_path / "u.csv"
    unsigned.write_text(UNSIGNED_HEADER)
    fake = tmp_path / "fake.json"
    fake.write_text('{"address": "00"}')
    code, line = _error(gs, "meter", "sign", str(fake), str(unsigned), str(tmp_path / "o.csv"), "--manifest", manifest)
    assert line == (f"error: {fake} is not a V3 keystore (no 'version'): name the file `gridshare meter new-key` "
                    "wrote")
    code, line = _error(gs, "meter", "sign", manifest, str(unsigned), str(tmp_path / "o.csv"), "--manifest", manifest)
    assert "is not a V3 keystore" in line  # the manifest given as the keystore
    monkeypatch.setenv("GRIDSHARE_KEYSTORE_PASSWORD", "x")
    code, line = _error(gs, "--rpc-url", "http://127.0.0.1:9", "--keystore", str(fake), "deploy")
    assert f"{fake} is not a V3 keystore (no 'version')" in line


def test_outputs_that_cannot_be_written_are_refused_before_any_work(gs, tmp_path):
    keystore, manifest = _keystore(gs, tmp_path), _manifest(tmp_path)
    unsigned = tmp_path / "u.csv"
    unsigned.write_text(UNSIGNED_HEADER + "0x" + "ab" * 32 + ",900,0,5,0,5\n")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    code, line = _error(gs, "meter", "sign", str(keystore), str(unsigned), str(a_file / "signed.csv"),
                        "--manifest", manifest)
    assert code == 2 and f"cannot write '{a_file / 'signed.csv'}': {a_file} is a file; choose another path" in line
    code, line = _error(gs, "meter", "sign", str(keystore), str(unsigned), str(tmp_path), "--manifest", manifest)
    assert f"'{tmp_path}' is a folder: name a file" in line
    code, line = _error(gs, "meter", "new-key", str(a_file / "k.json"))
    assert "is a file; choose another path" in line
    for command in (["simulate"], ["go", "statement", "ACME"], ["report", "--month", "2026-06"]):
        code, line = _error(gs, *command, "--out", str(a_file))
        assert code == 2 and f"'{a_file}' is a file, not a folder: name a folder (it is created if missing)" in line
    assert a_file.read_text() == "keep me"


def test_manifests_that_are_damaged_or_of_another_chain(gs, tmp_path):
    keystore = _keystore(gs, tmp_path)
    unsigned = tmp_path / "u.csv"
    unsigned.write_text(UNSIGNED_HEADER + "0x" + "ab" * 32 + ",900,0,5,0,5\n")

    def sign(manifest: str) -> str:
        return _error(gs, "meter", "sign", str(keystore), str(unsigned), str(tmp_path / "o.csv"),
                      "--manifest", manifest)[1]

    path = _manifest(tmp_path)
    (tmp_path / "deployments" / "31337.json").write_text('{"chainId": 31337')
    assert sign(path).startswith(f"error: {path} is not a deployment manifest (Expecting ")
    _manifest(tmp_path, contracts=None)
    assert sign(path).startswith(f"error: {path} is not a deployment manifest (no ")
    _manifest(tmp_path, contracts={"MeterRegistry": {"address": "0x" + "12" * 20}})
    assert sign(path) == (f"error: {path} is not a deployment manifest (no 'address and abi of MeterRegistry'): "
                          "deploy again or restore it")
    _manifest(tmp_path, chainId=1)
    assert sign(path) == (f"error: {path} says chainId 1 but is the manifest of chain 31337: restore it, or deploy "
                          "again on chain 31337")
    assert not (tmp_path / "o.csv").exists()


class _DiesAfterOneAnswer(http.server.BaseHTTPRequestHandler):
    """A JSON-RPC endpoint that tells its chain id once, then is gone: a node killed mid-command."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": hex(31337)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_a_node_that_dies_mid_command_is_one_line(gs, tmp_path, monkeypatch):
    _manifest(tmp_path)
    monkeypatch.delenv("GRIDSHARE_PRIVATE_KEY", raising=False)
    server = http.server.HTTPServer(("127.0.0.1", 0), _DiesAfterOneAnswer)

    def answer_once_and_die():
        server.handle_request()
        server.server_close()

    thread = threading.Thread(target=answer_once_and_die)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, line = _error(gs, "--rpc-url", url, "balances")  # read-only: no key needed
        thread.join(10)
        assert code == 1 and line.startswith("error: lost the connection to the chain (")
        assert line.endswith("check that the node runs and rerun the command (what was verified stays; "
                             "submissions resume)")
    finally:
        server.server_close()


@pytest.mark.anvil
def test_a_damaged_devnet_state_file_is_named(gs, tmp_path):
    state = tmp_path / "state" / "anvil-state.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"block": broken')
    code, line = _error(gs, "--network", "anvil", "balances")
    assert line.startswith(f"error: anvil exited at start: invalid value '{state}' for '--state <PATH>'")
    assert line.endswith(f"the devnet's state file {state} is damaged; move it away (or `gridshare devnet reset`) "
                         "to start a fresh devnet")
    assert "--help" not in line


@pytest.mark.anvil
def test_on_a_deployed_devnet(gs, tmp_path, monkeypatch):
    assert gs("--network", "anvil", "deploy")[0] == 0
    manifest = tmp_path / "deployments" / "31337.json"
    original = manifest.read_text()

    # a second deployment would leave the community unreachable: refused, unless --force (a copy kept)
    code, line = _error(gs, "--network", "anvil", "deploy")
    assert line.startswith("error: chain 31337 has a community already (") and "pass --force" in line
    assert manifest.read_text() == original and sorted(p.name for p in manifest.parent.iterdir()) == ["31337.json"]
    code, line = _error(gs, "--network", "anvil", "deploy", "--force", "--prices", "0.04,0.252,0")  # refused later
    assert "feed-in < retail" in line
    assert manifest.read_text() == original and sorted(p.name for p in manifest.parent.iterdir()) == ["31337.json"]
    code, out, err = gs("--network", "anvil", "deploy", "--force")
    assert code == 0 and "the previous manifest is kept as " in out, err
    [backup] = [p for p in manifest.parent.iterdir() if p.name != "31337.json"]
    assert backup.name.startswith("31337.json.") and backup.suffix == ".bak" and backup.read_text() == original
    assert manifest.read_text() != original

    # a meter's signer: one of --signer and --signer-keystore; example readings of a meter not registered
    args = ("--network", "anvil", "meter", "register", "--point", "30001234567890", "--owner", OWNER, "--kind",
            "producer", "--capacity", "6000")
    code, line = _error(gs, *args)
    assert line == "error: name the meter's signer: --signer ADDRESS or --signer-keystore FILE (one of them)"
    code, line = _error(gs, *args, "--signer", OWNER, "--signer-keystore", str(manifest))
    assert line == "error: name the meter's signer: --signer ADDRESS or --signer-keystore FILE (one of them)"
    code, line = _error(gs, *args, "--signer-keystore", str(manifest))
    assert "is not a V3 keystore" in line
    code, line = _error(gs, "--network", "anvil", "meter", "example-readings", "0x" + "11" * 32, str(tmp_path / "r.csv"))
    assert "MeterRegistryUnknownMeter" in line and not (tmp_path / "r.csv").exists()

    # ids of what does not exist, intervals no date can show
    code, line = _error(gs, "--network", "anvil", "go", "transfer", "99", "5", OWNER)
    assert line == ("error: certificate 99 does not exist: the community has 0 certificates and requests (see "
                    "`gridshare go list`)")
    code, line = _error(gs, "--network", "anvil", "market", "book", "99999999999999")
    assert line == ("error: interval '99999999999999' is out of range: an interval id is at most 281,558,111 (or "
                    "give a start time like 2026-06-21T12:00)")

    # the devnet's clock did not move on the refused advance
    code, line = _error(gs, "--network", "anvil", "devnet", "advance", "--days", "1e12")
    code, out, _ = gs("--network", "anvil", "devnet", "advance", "--days", "0.001")
    assert code == 0 and f"devnet time is now {datetime.now(timezone.utc).year}-" in out

    # read-only commands need no key on --rpc-url; sending ones still do
    monkeypatch.delenv("GRIDSHARE_PRIVATE_KEY", raising=False)
    with start_anvil(state=tmp_path / "state" / "anvil-state.json") as node:
        url = node.w3.provider.endpoint_uri
        code, out, err = gs("--rpc-url", url, "balances")
        assert code == 0 and "no verified energy yet" in out, err
        code, out, err = gs("--rpc-url", url, "go", "list")
        assert code == 0 and "no certificates yet" in out, err
        code, line = _error(gs, "--rpc-url", url, "participant", "add", OWNER)
        assert "no key to send transactions with: pass --keystore FILE or set GRIDSHARE_PRIVATE_KEY" in line

    # a manifest whose chainId is not the chain's: refused, nothing answered for another chain
    data = json.loads(manifest.read_text())
    data["chainId"] = 1
    manifest.write_text(json.dumps(data))
    code, line = _error(gs, "--network", "anvil", "balances")
    assert line == (f"error: {manifest} says chainId 1 but is the manifest of chain 31337: restore it, or deploy "
                    "again on chain 31337")


def test_contract_errors_add_dates_and_role_names_people_read():
    from eth_utils import keccak

    from gridshare.chain.revert import CustomError

    error = CustomError("MeterRegistryIntervalNotEnded", {"intervalStart": 1_780_000_200, "intervalEnd": 1_780_001_100,
                                                          "now": 1_780_000_000})
    assert str(error) == ("MeterRegistryIntervalNotEnded(intervalStart=1780000200, intervalEnd=1780001100, "
                          "now=1780000000) [intervalStart 2026-05-28 20:30 UTC; intervalEnd 2026-05-28 20:45 UTC; "
                          "now 2026-05-28 20:26 UTC]")
    role = CustomError("AccessControlUnauthorizedAccount", {"account": OWNER, "neededRole": keccak(text="ISSUER_ROLE")})
    assert str(role).endswith(" [neededRole ISSUER_ROLE]")
    # an interval id or a count is left alone
    assert "[" not in str(CustomError("EnergyMarketInvalidInterval", {"intervalId": 1_980_000, "fromInterval": 5}))
