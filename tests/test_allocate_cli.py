"""`gridshare operation` and `gridshare allocate` on a real anvil devnet: shared, resumable."""

from __future__ import annotations

import csv
import json
import time

import pytest

from conftest import OWNER, one_line_error

CONSUMER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _meter(gs, tmp_path, name, owner, kind, point):
    keystore = tmp_path / f"{name}.json"
    assert gs("meter", "new-key", str(keystore))[0] == 0
    signer = "0x" + json.loads(keystore.read_text())["address"]
    code, _, err = gs("--network", "anvil", "meter", "register", "--point", point, "--signer", signer, "--owner", owner,
                      "--kind", kind, "--capacity", "9000")
    assert code == 0, err
    meter = gs("meter", "id", "--point", point)[1].strip()
    out = gs("--network", "anvil", "meter", "state", meter)[1]
    return keystore, meter, int(out.split("previousEnd ")[1].split(";")[0])  # where its readings start


def _start(gs, *firsts):
    """An interval start after every meter's first, as `--from` takes it; the devnet's clock a day
    later (the intervals have ended)."""
    first = max(firsts)
    assert gs("--network", "anvil", "devnet", "advance", "--days", "1")[0] == 0
    return first, time.strftime("%Y-%m-%dT%H:%M", time.gmtime(first))


def _signed(gs, tmp_path, keystore, meter, first, imports, exports, previous_end):
    unsigned = tmp_path / f"{meter[:10]}.csv"
    with unsigned.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["meterId", "intervalStart", "importWh", "exportWh", "importRegisterWh", "exportRegisterWh"])
        for i, (imp, exp) in enumerate(zip(imports, exports, strict=True)):
            w.writerow([meter, first + 900 * i, imp, exp, sum(imports[: i + 1]), sum(exports[: i + 1])])
    out = tmp_path / f"{meter[:10]}.json"
    manifest = str(tmp_path / "deployments" / "31337.json")
    assert gs("meter", "sign", str(keystore), str(unsigned), str(out), "--manifest", manifest,
              "--previous-end", str(previous_end), "--run-intervals", "1")[0] == 0  # a run per interval
    return json.loads(out.read_text())


def _sites(tmp_path, plant, flat, far=False):
    path = tmp_path / "sites.csv"
    path.write_text(f"name,latitude,longitude,capacity_kw\n{plant},45.7578,4.8320,9\n"
                    f"{flat},{45.80 if far else 45.7590},4.8330,0\n")
    return str(path)


@pytest.mark.anvil
def test_join_allocate_and_rerun(gs, tmp_path):
    assert gs("--network", "anvil", "deploy")[0] == 0
    plant_key, plant, plant_first = _meter(gs, tmp_path, "plant", OWNER, "producer", "30000000000001")
    flat_key, flat, flat_first = _meter(gs, tmp_path, "flat", CONSUMER, "consumer", "30000000000002")
    first, when = _start(gs, plant_first, flat_first)
    sites = _sites(tmp_path, plant, flat)
    code, _, err = gs("--network", "anvil", "operation", "join", plant, flat, "--from", when, "--sites", sites)
    assert code == 0, err
    rows = _signed(gs, tmp_path, plant_key, plant, first, [0, 0, 0, 0], [400, 300, 100, 0], plant_first) + \
        _signed(gs, tmp_path, flat_key, flat, first, [250, 250, 250, 250], [0, 0, 0, 0], flat_first)
    everything = tmp_path / "all.json"
    everything.write_text(json.dumps(rows))
    flat_rows = [r for r in rows if r["meterId"] == flat]

    # a member's runs relayed straight to the registry: refused in one line before anything is
    # sent (verified there, they would never be shared); nothing written
    flat_only = tmp_path / "flat.json"
    flat_only.write_text(json.dumps(flat_rows))
    code, out, err = gs("--network", "anvil", "readings", "submit", str(flat_only))
    line = one_line_error(code, err)
    assert line == (f"error: meter {flat[:14]}.. is a member of the operation since {when.replace('T', ' ')} UTC: its "
                    f"readings there are verified and shared by `gridshare allocate {flat_only}` (submitted here they "
                    "would never be shared); nothing was submitted")
    assert not (tmp_path / "flat.rejected.csv").exists()

    # the flat's last run missing: the smallest gas budget shares a transaction per interval (each
    # run is one) up to it, then stops naming the member and the interval
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps([r for r in rows if r["meterId"] == plant
                                   or r["firstIntervalStart"] < first + 3 * 900]))
    code, out, err = gs("--network", "anvil", "allocate", str(partial), "--max-gas", "100000")
    assert code == 1 and "3 intervals shared in 3 transactions, 0 already shared" in out, out + err
    assert err.strip().splitlines()[-1] == (  # after the progress bar
        f"error: stopped at interval {first // 900 + 3}: member {flat} has no run reaching it in {partial} "
        f"(the meter's verified readings end at {first + 2700}; no run continuing them reaches interval "
        f"{first // 900 + 3} (starting {first + 2700})); add its runs and run again")
    code, out, err = gs("--network", "anvil", "allocate", str(everything))
    assert code == 0 and "1 intervals shared in 1 transactions, 3 already shared" in out, out + err
    code, out, err = gs("--network", "anvil", "allocate", str(everything))
    assert code == 0 and "0 intervals shared in 0 transactions, 4 already shared" in out, out + err
    # the flat's runs, now verified through the operation, are on-chain for the relayer too
    code, out, err = gs("--network", "anvil", "readings", "submit", str(flat_only))
    assert code == 0, out + err
    assert "0 runs (0 intervals) verified in 0 batches, 4 already on-chain, 0 not verified" in out

    code, out, _ = gs("--network", "anvil", "--json", "balances", "--account", CONSUMER)
    redeemed = [r["redeemed"] for r in json.loads(out.splitlines()[0])["rows"]]
    assert redeemed == [250, 250, 100, 0][: len(redeemed)] and len(redeemed) >= 3
    code, out, _ = gs("--network", "anvil", "operation", "members")
    assert plant in out and flat in out and "dynamic-default" in out


def test_bad_meter_ids_are_one_line(gs, tmp_path):
    sites = _sites(tmp_path, "0x" + "11" * 32, "0x" + "22" * 32)
    code, _, err = gs("operation", "join", "0x1234", "--from", "2026-06-01", "--sites", sites)
    assert "is not a meterId" in one_line_error(code, err)


def test_a_gas_budget_below_one_run_is_a_usage_error(gs, tmp_path):
    for command in (["allocate"], ["readings", "submit"]):
        code, _, err = gs(*command, str(tmp_path / "runs.json"), "--max-gas", "99999")
        assert code == 2 and "'--max-gas': 99999 is not in the range 100000<=x<=16777216" in one_line_error(code, err)


@pytest.mark.anvil
def test_join_refuses_a_member_outside_the_perimeter(gs, tmp_path):
    assert gs("--network", "anvil", "deploy")[0] == 0
    _, plant, _ = _meter(gs, tmp_path, "plant", OWNER, "producer", "30000000000001")
    _, flat, _ = _meter(gs, tmp_path, "flat", CONSUMER, "consumer", "30000000000002")
    code, _, err = gs("--network", "anvil", "operation", "join", plant, flat, "--from", "2026-06-01", "--sites",
                      _sites(tmp_path, plant, flat, far=True))
    assert "km apart; a urban operation allows 2 km" in one_line_error(code, err)


@pytest.mark.anvil
def test_report_after_allocation(gs, tmp_path):
    assert gs("--network", "anvil", "deploy")[0] == 0
    plant_key, plant, plant_first = _meter(gs, tmp_path, "plant", OWNER, "producer", "30000000000001")
    flat_key, flat, flat_first = _meter(gs, tmp_path, "flat", CONSUMER, "consumer", "30000000000002")
    first, when = _start(gs, plant_first, flat_first)
    day = when[:10]
    assert gs("--network", "anvil", "operation", "join", plant, flat, "--from", when, "--sites",
              _sites(tmp_path, plant, flat))[0] == 0
    rows = _signed(gs, tmp_path, plant_key, plant, first, [0, 0], [400, 100], plant_first) + \
        _signed(gs, tmp_path, flat_key, flat, first, [250, 250], [0, 0], flat_first)
    readings = tmp_path / "r.json"
    readings.write_text(json.dumps(rows))
    assert gs("--network", "anvil", "allocate", str(readings))[0] == 0
    code, out, err = gs("--network", "anvil", "report", "--month", day[:7], "--day", day, "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert (tmp_path / "rep" / day / "participants.csv").exists() and (tmp_path / "rep" / day / "days.png").exists()
    by_account = {r["account"]: r for r in csv.DictReader((tmp_path / "rep" / day / "participants.csv").open())}
    assert by_account[CONSUMER]["covered_locally_kwh"] == "0.350"  # 250 + 100 Wh shared
    assert by_account[OWNER]["delivered_locally_kwh"] == "0.350"
    code, out, err = gs("--network", "anvil", "report", "--month", day[:7], "--day", day, "--out",
                        str(tmp_path / "rep"), "--local-price", "0.15")
    assert code == 0 and "At the local price of 0.15/kWh" in out, err
    bills = {r["account"]: r for r in csv.DictReader((tmp_path / "rep" / day / f"bills-{day}.csv").open())}
    assert (bills[CONSUMER]["received_locally_kwh"], bills[CONSUMER]["owes"], bills[CONSUMER]["balance"]) == (
        "0.350", "0.05", "-0.05")  # 0.35 kWh x 0.15 = 0.0525
    assert (bills[OWNER]["given_locally_kwh"], bills[OWNER]["earns"]) == ("0.350", "0.05")
    assert len(list((tmp_path / "rep" / day).glob(f"bill-{day}-*.html"))) == 2
    # the key for the grid operator: 250 of 400 Wh (62.5 %), then 100 of 100 Wh (100.0 %), exactly
    code, out, err = gs("--network", "anvil", "operation", "key-file", "--month", day[:7], "--out",
                        str(tmp_path / "key.csv"), "--point", "30000000000002", "--tz", "UTC")
    assert code == 0 and "2 give back the chain's shares exactly" in out, out + err
    lines = (tmp_path / "key.csv").read_text().splitlines()
    assert lines[0] == f"horodate;{plant};30000000000002"
    assert [line.split(";")[1:] for line in lines[1:]] == [["0.0", "62.5"], ["0.0", "100.0"]]
    # --json: tables as JSON on stdout, the messages on stderr
    code, out, err = gs("--network", "anvil", "--json", "report", "--month", day[:7], "--day", day, "--out",
                        str(tmp_path / "rep"), "--local-price", "0.15")
    assert code == 0 and "wrote" in err, err
    tables = [json.loads(line) for line in out.splitlines()]
    assert [t["title"] for t in tables][1] == "At the local price of 0.15/kWh"
    assert sorted(r["balance"] for r in tables[1]["rows"]) == [-0.05, 0.05]  # numbers, not text
    code, out, _ = gs("--network", "anvil", "--json", "operation", "members")
    [members] = [json.loads(line) for line in out.splitlines()]
    assert len(members["rows"]) == 2
    code, out, err = gs("--network", "anvil", "--json", "status")
    [status] = [json.loads(line) for line in out.splitlines()]
    facts = {r["what"]: r["value"] for r in status["rows"]}
    assert code == 0 and facts["operation"] == "2 members, key dynamic-default", err
    assert facts["network"] == "anvil (chain 31337)" and facts["waiting for approval"] == "none"
    code, _, err = gs("report", "--month", "2026-06", "--day", "2026-07-01")
    assert "is not in --month" in one_line_error(code, err)
    for bad in ("nan", "-1", "abc"):
        code, _, err = gs("report", "--month", "2026-06", "--local-price", bad)
        assert code == 2 and "is not a price per kWh" in one_line_error(code, err)
