"""`gridshare go`: guarantees of origin through the command line, on a real anvil devnet."""

from __future__ import annotations

import csv
import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from conftest import OWNER, one_line_error

DAY = 86_400
HOLDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil's third dev account


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, timezone.utc).strftime("%Y-%m-%d")


@pytest.mark.anvil
def test_request_approve_transfer_claim_and_statement(gs, tmp_path):
    assert gs("--network", "anvil", "deploy")[0] == 0
    keystore = tmp_path / "plant.json"
    assert gs("meter", "new-key", str(keystore))[0] == 0
    signer = "0x" + json.loads(keystore.read_text())["address"]
    code, _, err = gs("--network", "anvil", "meter", "register", "--point", "30009990000001", "--signer", signer,
                      "--owner", OWNER, "--kind", "producer", "--capacity", "9000")
    assert code == 0, err
    meter = gs("meter", "id", "--point", "30009990000001")[1].strip()
    out = gs("--network", "anvil", "meter", "state", meter)[1]
    first = int(out.split("previousEnd ")[1].split(";")[0])  # the meter's readings start there

    d0 = int(time.time()) // DAY + 1  # the first whole day after registration...
    first_day = date(1970, 1, 1) + timedelta(days=d0)
    if first_day.day > 26:  # ...or the next month's first: a certificate's period is within a month
        d0 = (date(first_day.year + (first_day.month == 12), first_day.month % 12 + 1, 1) - date(1970, 1, 1)).days
    advance = d0 + 4 - int(time.time()) / DAY
    assert gs("--network", "anvil", "devnet", "advance", "--days", f"{advance:.4f}")[0] == 0
    unsigned = tmp_path / "unsigned.csv"
    with unsigned.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["meterId", "intervalStart", "importWh", "exportWh", "importRegisterWh", "exportRegisterWh"])
        for i in range(3 * 96 + 1):  # three days, and the first interval of the fourth
            w.writerow([meter, d0 * DAY + 900 * i, 0, 200, 0, 200 * (i + 1)])
    signed = tmp_path / "signed.csv"
    manifest = str(tmp_path / "deployments" / "31337.json")
    # the first run declares the outage from the meter's first interval to d0
    assert gs("meter", "sign", str(keystore), str(unsigned), str(signed), "--manifest", manifest,
              "--previous-end", str(first))[0] == 0
    code, out, err = gs("--network", "anvil", "readings", "submit", str(signed))
    assert code == 0, err

    # the owner requests three days: 3 x 96 x 200 Wh; the issuing body (the deployer) approves
    code, out, err = gs("--network", "anvil", "--account", "1", "go", "request", meter, "--from", _date(d0),
                        "--to", _date(d0 + 3), "--region", "FRK26", "--support", "investment")
    assert code == 0 and "request 1: 57.600 kWh" in out, out + err
    code, _, err = gs("--network", "anvil", "go", "request", meter, "--from", _date(d0 + 2), "--to", _date(d0 + 3))
    assert "GuaranteeOfOriginAlreadyCertified" in one_line_error(code, err)
    assert gs("--network", "anvil", "go", "approve", "1")[0] == 0

    assert gs("--network", "anvil", "--account", "1", "go", "transfer", "1", "20000", HOLDER)[0] == 0
    code, out, err = gs("--network", "anvil", "--account", "2", "go", "claim", "1", "15000", "--beneficiary",
                        "flat-2A", "--from", _date(d0), "--to", _date(d0 + 3))
    assert code == 0, err

    code, out, _ = gs("--network", "anvil", "go", "list")
    assert code == 0 and "issued" in out and "57.600" in out and "5.000" in out  # the holder keeps 5 kWh

    code, out, err = gs("--network", "anvil", "go", "matched", HOLDER, "--out", str(tmp_path / "reports"))
    assert code == 0 and "0 time-matched claims" in out, err  # it holds certificates, consumed no crypto-kWh
    assert (tmp_path / "reports" / f"statement-matched-{HOLDER}.csv").exists()

    code, out, _ = gs("--network", "anvil", "go", "statement", "flat-2A", "--out", str(tmp_path / "reports"))
    assert code == 0 and "1 claims, 15.000 kWh" in out
    [row] = list(csv.DictReader((tmp_path / "reports" / "statement-flat-2A.csv").open()))
    assert row["amount_kwh"] == "15.000" and row["device"] == meter and row["support"] == "investment"
    assert row["region"] == "FRK26" and row["production_period"] == f"{_date(d0)} .. {_date(d0 + 2)}"
    assert row["transaction"].startswith("0x") and len(row["transaction"]) == 66
    page = (tmp_path / "reports" / "statement-flat-2A.html").read_text()
    assert "15.000 kWh" in page and row["transaction"] in page

    # a month that is not verified to its end: every producer is skipped, with the reason, and
    # nothing certified is an error (exit 1) that says what certificates cover
    month = datetime.fromtimestamp(d0 * DAY, timezone.utc).strftime("%Y-%m")
    code, out, err = gs("--network", "anvil", "go", "issue-month", month)
    assert code == 1 and "0 certificates issued" in out and "1 producers skipped" in out
    assert "skipped 0x" in err and ("MeterRegistryNoCheckpoint" in err or "GuaranteeOfOrigin" in err)
    assert err.strip().splitlines()[-1].startswith(f"error: nothing certified in {month}: certificates cover whole UTC days")


def test_bad_dates_and_months_are_one_line(gs):
    code, _, err = gs("go", "request", "0x" + "11" * 32, "--from", "June 1", "--to", "2026-07-01")
    assert "'--from': 'June 1' is not a date YYYY-MM-DD" in one_line_error(code, err)
    code, _, err = gs("go", "issue-month", "June")
    assert "'June' is not a month YYYY-MM" in one_line_error(code, err)
    code, _, err = gs("go", "reject", "1", "--reason", "x" * 40)
    assert "--reason is 40 bytes; at most 32" in one_line_error(code, err)
    code, _, err = gs("go", "claim", "1", "5", "--beneficiary", "b" * 33, "--from", "2026-06-01", "--to", "2026-07-01")
    assert "beneficiary" in one_line_error(code, err)
