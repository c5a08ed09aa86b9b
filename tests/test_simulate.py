"""`gridshare simulate`: the short scenario end to end on the embedded chain, checked against the
pure engines (allocation per interval, matching per interval), and a bad scenario refused."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from gridshare.chain.network import connect
from gridshare.cli.app import main
from gridshare.domain.allocation import StaticKey, per_mille, split_pro_rata
from gridshare.domain.matching import Order, Side, clear_uniform
from gridshare.simulate.community import build_profiles
from gridshare.simulate.scenario import load_scenario
from gridshare.simulate.simulation import STATE_FILE, simulate

SHORT = Path(__file__).resolve().parents[1] / "gridshare" / "scenarios" / "short.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The short scenario with a static key (surplus and needs left at once: the market trades)."""
    folder = tmp_path_factory.mktemp("simulate")
    scenario_file = folder / "static.toml"
    scenario_file.write_text(SHORT.read_text().replace('key = "dynamic-default"', 'key = "static"'))
    scenario = load_scenario(scenario_file)
    chain = connect("embedded")
    try:
        result = simulate(scenario, chain, folder / "out", market_intervals=8)
        # what each buyer consumed of its import in each traded interval (locally received + bought)
        state = json.loads((result.out_dir / STATE_FILE).read_text())
        token = state["manifest"]["contracts"]["EnergyToken"]
        token = chain.w3.eth.contract(address=token["address"], abi=token["abi"])
        accounts = {r["participant"]: r["account"] for r in result.participants}
        redeemed = {(t["buyer"], t["interval_id"]): token.functions.redeemed(accounts[t["buyer"]],
                                                                           t["interval_id"]).call()
                    for t in result.trades}
    finally:
        chain.close()
    return scenario, result, redeemed


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_interval_quantities_equal_the_allocation_engine(run):
    scenario, result, _ = run
    profiles = build_profiles(scenario)
    households = [p.name for p in profiles.households]
    key = StaticKey(per_mille(dict.fromkeys(households, 1)))
    rows = {(r["participant"], r["interval_start"]): r for r in _rows(result.files["intervals"])}
    assert len(rows) == len(profiles.starts) * len(profiles.participants)
    order = [r["interval_start"] for r in _rows(result.files["intervals"])][:: len(profiles.participants)]
    for i, start in enumerate(order):
        production = {p.name: p.export_wh[i] for p in profiles.participants}
        consumption = {p.name: p.import_wh[i] for p in profiles.households}
        shares = key.allocate(production, consumption).shares
        given = dict(zip(production, split_pro_rata(sum(shares.values()), list(production.values()))))
        for p in profiles.participants:
            r = rows[(p.name, start)]
            assert int(r["PROD"]) == p.export_wh[i]
            assert int(r["CONS"]) == p.import_wh[i]
            assert int(r["AUTOCONS"]) == shares.get(p.name, 0)
            assert int(r["AUTOPROD"]) == given[p.name]
            assert int(r["SURPLUS"]) == p.export_wh[i] - given[p.name]
            assert int(r["COMPLEMENT"]) == p.import_wh[i] - shares.get(p.name, 0)
    assert result.mismatches == []
    assert result.checks["interval quantities"] == len(rows)


def test_trades_equal_the_matching_engine(run):
    scenario, result, _ = run
    orders = _rows(result.files["orders"])
    trades = _rows(result.files["trades"])
    assert trades, "the static key leaves surplus and needs: something trades"
    fee = scenario.prices.grid_fee
    by_interval = defaultdict(list)
    for o in orders:
        by_interval[o["interval_id"]].append(Order(int(o["order_id"]), o["owner"], Side(o["side"]),
                                                   round(float(o["price_eur_per_kwh"]) * 1e6), int(o["quantity_wh"])))
    assert scenario.market.design == "auction"
    for interval, placed in by_interval.items():
        clearing = clear_uniform([o for o in placed if o.side is Side.BID], [o for o in placed if o.side is Side.ASK], fee)
        expected = sorted((f.bid_id, f.ask_id, f.buyer, f.seller, f.quantity_wh, f.price) for f in clearing.fills)
        actual = sorted((int(t["bid_id"]), int(t["ask_id"]), t["buyer"], t["seller"], int(t["quantity_wh"]),
                         round(float(t["price_eur_per_kwh"]) * 1e6)) for t in trades if t["interval_id"] == interval)
        assert actual == expected
    # the participants' summary adds the trades up
    people = {r["participant"]: r for r in _rows(result.files["participants"])}
    for name, r in people.items():
        bought = sum(int(t["quantity_wh"]) for t in trades if t["buyer"] == name)
        assert round(float(r["bought_market_kwh"]) * 1000) == bought


def test_files_and_html(run):
    scenario, result, _ = run
    for name in ("intervals", "participants", "trades", "orders", "gas", "certificates", "timings", "html",
                 "community_png", "households_png", "prices_png"):
        assert result.files[name].exists() and result.files[name].stat().st_size > 0, name
    page = result.files["html"].read_text()
    for p in build_profiles(scenario).participants:
        assert p.name in page
    assert "data:image/png;base64," in page
    gas = {r["operation"]: r for r in _rows(result.files["gas"])}
    assert int(gas["verify and share (submitAndAllocate)"]["transactions"]) > 0
    # guarantees of origin: the plant certified for its days, claimed for the households
    assert any(c["producer"] == "shared-plant" and c["status"] == "issued" for c in result.certificates)
    # their periods (whole UTC days) in the scenario's dates, as every other file, not the chain's
    # (its clock may run weeks ahead)
    lo = (scenario.period.start - timedelta(days=1)).isoformat()
    hi = (scenario.period.start + timedelta(days=scenario.period.days + 1)).isoformat()
    assert all(lo <= c["from"] < c["to"] <= hi for c in result.certificates), [(c["from"], c["to"])
                                                                              for c in result.certificates]
    people = {r["participant"]: r for r in result.participants}
    assert sum(r["certificates_claimed_for_it_kwh"] for r in people.values()) > 0


@pytest.mark.parametrize("count, expected", [
    ("-3", ["households.count", "-3"]),  # refused by the scenario file's validation
    ("300", ["households.count: 300 households and the plant are 301 meters", "at most 119"]),  # by simulate
])
def test_a_bad_scenario_is_one_line_naming_the_field(tmp_path, capsys, count, expected):
    bad = tmp_path / "bad.toml"
    bad.write_text(SHORT.read_text().replace("count = 4", f"count = {count}"))
    assert main(["simulate", str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert all(part in err for part in expected), err
    assert not (tmp_path / "out").exists()


def test_participants_add_up_their_intervals_and_trades(run):
    scenario, result, _ = run
    intervals = _rows(result.files["intervals"])
    trades = _rows(result.files["trades"])
    for r in _rows(result.files["participants"]):
        mine = [i for i in intervals if i["participant"] == r["participant"]]
        for column, quantity in (("exported_kwh", "PROD"), ("given_locally_kwh", "AUTOPROD"),
                                 ("imported_kwh", "CONS"), ("received_locally_kwh", "AUTOCONS")):
            assert round(float(r[column]) * 1000) == sum(int(i[quantity]) for i in mine), column
        bought = sum(int(t["quantity_wh"]) for t in trades if t["buyer"] == r["participant"])
        sold = sum(int(t["quantity_wh"]) for t in trades if t["seller"] == r["participant"])
        assert round(float(r["from_supplier_kwh"]) * 1000) == sum(int(i["COMPLEMENT"]) for i in mine) - bought
        assert round(float(r["to_grid_kwh"]) * 1000) == sum(int(i["SURPLUS"]) for i in mine) - sold
        paid = sum(float(t["paid_eur"]) for t in trades if t["buyer"] == r["participant"])
        assert float(r["paid_market_eur"]) == pytest.approx(paid, abs=1e-6)


def test_buyers_redeem_what_they_bought(run):
    scenario, result, redeemed = run
    rows = {(r["participant"], r["unix"]): r for r in result.rows}
    bought = defaultdict(int)
    for t in result.trades:
        bought[(t["buyer"], t["interval_id"])] += t["quantity_wh"]
    seconds = scenario.period.interval_seconds
    for (buyer, iid), wh in bought.items():
        received = rows[(buyer, iid * seconds - result.offset_seconds)]["AUTOCONS"]
        assert redeemed[(buyer, iid)] == received + wh


def test_the_command_prints_the_summary(tmp_path, capsys):
    """(A packaged scenario is named without its path: `gridshare simulate short`.)"""
    assert SHORT.stem == "short"
    assert main(["simulate", "short", "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    for line in ("self-consumption rate", "checks against the engines", "By group", "shared plant",
                 "report.html"):
        assert line in out
    assert (tmp_path / "out" / "report.html").exists() and not (tmp_path / "out" / "community.png").exists()


def test_the_plants_solar_reward_is_claimed_one_token_per_verified_mwh(tmp_path):
    """A 400 kWp plant for a day: its SolarReward is claimed for its owner, floor(export / 1 MWh)
    tokens (the plant's closing reading at the next UTC midnight counts its whole day)."""
    scenario = load_scenario(SHORT)
    text = SHORT.read_text().replace("[plant]\nkwp = 6", "[plant]\nkwp = 400")
    assert text != SHORT.read_text()
    (tmp_path / "big.toml").write_text(text)
    chain = connect("embedded")
    try:
        result = simulate(load_scenario(tmp_path / "big.toml"), chain, tmp_path / "out", market_intervals=0, plots=False)
    finally:
        chain.close()
    plant = next(r for r in result.participants if r["role"] == "producer")
    assert plant["solar_reward_tokens"] == int(round(plant["exported_kwh"] * 1000)) // 1_000_000 >= 1
    assert all(r["solar_reward_tokens"] == 0 for r in result.participants if r["role"] != "producer")
    assert scenario.plant.kwp == 6  # the packaged file is untouched
