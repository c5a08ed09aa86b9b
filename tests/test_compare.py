"""`gridshare compare`: one community under each market design, side by side (issue #14)."""

from __future__ import annotations

import csv

from conftest import one_line_error


def test_compare_runs_every_design_and_writes_the_table_and_plots(gs, tmp_path):
    out = tmp_path / "cmp"
    code, stdout, err = gs("compare", "short", "--out", str(out), "--gas-price", "2", "--token-price", "1000")
    assert code == 0, err
    with (out / "comparison.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["design"] for r in rows] == ["sharing only", "continuous market after sharing",
                                          "call auction after sharing", "continuous market instead of sharing",
                                          "batch auction after sharing", "batch auction instead of sharing"]
    sharing_only, instead, batch_instead = rows[0], rows[3], rows[5]
    assert float(sharing_only["traded_kwh"]) == 0 and int(sharing_only["trades"]) == 0
    # instead of sharing, only what the market traded is consumed locally: far below sharing
    assert float(instead["self_consumption_pct"]) < float(sharing_only["self_consumption_pct"]) / 4
    # batches trade every interval where a trade is possible, in a transaction each: more energy
    # than 4 intervals a day of on-chain orders, for far less gas per kWh traded
    assert float(batch_instead["traded_kwh"]) > float(instead["traded_kwh"]) > 0
    assert int(batch_instead["gas"]) / float(batch_instead["traded_kwh"]) < int(instead["gas"]) / float(
        instead["traded_kwh"]) / 5
    for r in rows:
        assert 0 <= float(r["self_consumption_pct"]) <= 100 and 0 <= float(r["coverage_pct"]) <= 100
        gas = int(r["gas"])
        # 4 households, 1 day: the day's gas at 2 gwei and 1,000 EUR per token, over 365 days
        assert float(r["chain_eur_per_household_year"]) == round(gas * 2e-9 * 1000 / 4 * 365, 2)
        assert any(k.startswith("bill_eur_per_member: energy-poor") for k in r)
    for name in ("comparison.md", "rates.png", "bills.png", "chain.png", "sharing-only/report.html",
                 "call-auction-after-sharing/trades.csv", "batch-auction-instead-of-sharing/orders.csv"):
        assert (out / name).exists(), name
    assert "market designs side by side" in stdout


def test_compare_refuses_a_bad_price_in_one_line(gs, tmp_path):
    code, _, err = gs("compare", "short", "--out", str(tmp_path), "--gas-price", "cheap")
    assert "--gas-price must be a number, not 'cheap'" in one_line_error(code, err)


def test_the_market_role_is_a_scenario_field_checked_in_one_line(tmp_path):
    import pytest

    from gridshare.errors import GridshareError
    from gridshare.simulate.scenario import DEFAULT_SCENARIO, load_scenario

    short = (DEFAULT_SCENARIO.parent / "short.toml").read_text()
    for market, expected in (
        ('role = "peer-to-peer"\ndesign = "auction"\nenabled = true', "market.role: expected"),
        ('role = "instead-of-sharing"\ndesign = "auction"\nenabled = false',
         'market.role: is "instead-of-sharing" but the market is not enabled'),
    ):
        path = tmp_path / "s.toml"
        path.write_text(short.replace('[market]\ndesign = "auction"\nenabled = true', "[market]\n" + market))
        with pytest.raises(GridshareError, match=expected):
            load_scenario(path)
    path.write_text(short.replace('[market]\n', '[market]\nrole = "instead-of-sharing"\n'))
    assert load_scenario(path).market.role == "instead-of-sharing"


def test_both_trades_every_tradable_interval_whatever_market_intervals_says(tmp_path):
    """role "both": sharing, then the market on every interval where a trade is possible; "after
    sharing" trades the sampled ones only (here 1 a day)."""
    from gridshare.chain.network import connect
    from gridshare.simulate.scenario import DEFAULT_SCENARIO, load_scenario
    from gridshare.simulate.simulation import simulate

    short = (DEFAULT_SCENARIO.parent / "short.toml").read_text().replace('key = "dynamic-default"', 'key = "static"')
    traded = {}
    for role in ("after-sharing", "both"):
        path = tmp_path / f"{role}.toml"
        path.write_text(short.replace("[market]\n", f'[market]\nrole = "{role}"\n'))
        chain = connect("embedded")
        try:
            result = simulate(load_scenario(path), chain, tmp_path / role, market_intervals=1, plots=False)
        finally:
            chain.close()
        traded[role] = {o["interval_id"] for o in result.orders}
    assert len(traded["after-sharing"]) == 1  # one sampled interval in the day
    assert len(traded["both"]) > 1 and traded["after-sharing"] <= traded["both"]
