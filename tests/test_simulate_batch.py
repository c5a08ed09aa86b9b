"""`gridshare simulate` with `[market] design = "batch"`: the agents sign their orders off-chain with
their own keys and each interval's batch is settled in one transaction (`BatchAuction`), checked
against the batch engine; a run that crashes mid-way resumes without settling a batch twice."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gridshare.chain.deployment import from_manifest
from gridshare.chain.network import connect, start_anvil
from gridshare.simulate.scenario import load_scenario
from gridshare.simulate.simulation import STATE_FILE, simulate
from test_simulate_resume import Crash, CrashingProgress  # a run dying mid-way

SHORT = Path(__file__).resolve().parents[1] / "gridshare" / "scenarios" / "short.toml"
SETTLE = "market: settle batches (one transaction an interval)"


def _scenario(folder: Path, role: str = "after-sharing"):
    """The short scenario with batches and a static key (surplus and needs left at once: trades)."""
    path = folder / f"batch-{role}.toml"
    path.write_text(SHORT.read_text().replace('key = "dynamic-default"', 'key = "static"')
                    .replace('design = "auction"', f'design = "batch"\nrole = "{role}"'))
    return load_scenario(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The run, and what the chain holds after it: the batch auction's money (its payment-token
    balance, what each participant may claim) and each buyer's claims on the intervals it bought in."""
    folder = tmp_path_factory.mktemp("batch")
    chain = connect("embedded")
    try:
        result = simulate(_scenario(folder), chain, folder / "out", plots=False)
        c = from_manifest(chain, json.loads((result.out_dir / STATE_FILE).read_text())["manifest"])
        batch, token = c.batch, c.token
        accounts = {r["participant"]: r["account"] for r in result.participants}
        chain_state = {
            "held": c.payment.functions.balanceOf(batch.address).call(),
            "claimable": {n: batch.functions.claimable(a).call() for n, a in accounts.items()},
            "fees": batch.functions.claimable(c.market.functions.operator().call()).call(),
            "claimed": {(t["buyer"], t["interval_id"]): token.functions.intervalAccount(
                accounts[t["buyer"]], t["interval_id"]).call()[4] for t in result.trades},
        }
    finally:
        chain.close()
    return result, chain_state


def test_each_interval_is_one_batch_equal_to_the_engine(run):
    result, _ = run
    assert result.mismatches == [] and result.checks["market intervals"] >= 10
    assert result.trades, "the static key leaves surplus and needs: the batches trade"
    gas = {g["operation"]: g for g in result.gas}
    # one transaction per interval that traded; no order is a transaction
    assert gas[SETTLE]["transactions"] == len({t["interval_id"] for t in result.trades})
    assert "market: orders" not in gas and "market: close intervals" not in gas
    # every trade names the signed orders it filled (their EIP-712 digests), of its buyer and seller
    orders = {o["order_id"]: o for o in result.orders}
    for t in result.trades:
        bid, ask = orders[t["bid_id"]], orders[t["ask_id"]]
        assert (bid["owner"], bid["side"], ask["owner"], ask["side"]) == (t["buyer"], "bid", t["seller"], "ask")
        assert bid["interval_id"] == ask["interval_id"] == t["interval_id"]
        assert t["quantity_wh"] <= min(bid["quantity_wh"], ask["quantity_wh"])
    # one uniform price per batch, between the feed-in price and retail
    prices = {}
    for t in result.trades:
        prices.setdefault(t["interval_id"], set()).add(t["price_eur_per_kwh"])
    assert all(len(p) == 1 and 0.04 <= next(iter(p)) <= 0.252 for p in prices.values())


def test_buyers_hold_claims_on_what_they_bought_and_the_auction_owes_what_it_holds(run):
    result, chain = run
    bought: dict[tuple[str, int], int] = {}
    for t in result.trades:
        bought[(t["buyer"], t["interval_id"])] = bought.get((t["buyer"], t["interval_id"]), 0) + t["quantity_wh"]
    # a batch records each buyer's time-matched claim on its import at once (nothing to redeem later)
    assert chain["claimed"] == bought
    # the producers withdrew their proceeds; the households' deposits less their purchases stay
    assert chain["claimable"]["shared-plant"] == 0
    # the grid fees are the market operator's (the treasury's) to claim; nothing else is held
    assert chain["fees"] == round(sum(t["grid_fee_eur"] for t in result.trades) * 10**6) > 0
    assert chain["held"] == sum(chain["claimable"].values()) + chain["fees"]
    paid = {p["participant"]: p["paid_market_eur"] for p in result.participants}
    assert paid["household-02"] + paid["household-03"] > 0


def test_instead_of_sharing_every_tradable_interval_is_a_batch(tmp_path):
    """A street trading peer to peer in batches: nothing shared, every interval where a surplus and a
    need meet traded (whatever --market-intervals says), each in one transaction."""
    chain = connect("embedded")
    try:
        result = simulate(_scenario(tmp_path, "instead-of-sharing"), chain, tmp_path / "out", market_intervals=1,
                          plots=False)
    finally:
        chain.close()
    assert result.mismatches == []
    assert sum(p["received_locally_kwh"] for p in result.participants) == 0
    assert len({o["interval_id"] for o in result.orders}) > 20  # far more than 1 interval a day
    gas = {g["operation"]: g for g in result.gas}
    assert gas[SETTLE]["transactions"] == len({t["interval_id"] for t in result.trades}) > 20


def _files(result) -> dict[str, list[dict]]:
    """The reports, less what derives from the run's random community salt (accounts, meter ids, and
    the orders' digests, which sign for those accounts)."""
    salted = ("account", "meter_id", "order_id", "bid_id", "ask_id")
    out = {}
    for name in ("intervals", "participants", "orders", "trades"):
        with result.files[name].open() as f:
            rows = [{k: v for k, v in r.items() if k not in salted} for r in csv.DictReader(f)]
        out[name] = sorted(rows, key=lambda r: sorted(r.items()))  # (an interval's orders are in digest order)
    return out


@pytest.mark.anvil
def test_a_run_crashed_between_batches_resumes_without_settling_one_twice(tmp_path):
    scenario = _scenario(tmp_path)
    chain = start_anvil()
    try:
        whole = _files(simulate(scenario, chain, tmp_path / "whole", plots=False))
    finally:
        chain.close()
    chain = start_anvil()
    try:
        with pytest.raises(Crash):
            simulate(scenario, chain, tmp_path / "crashed", CrashingProgress("market orders signed, batches settled",
                                                                             40), plots=False)
        result = simulate(scenario, chain, tmp_path / "crashed", plots=False)
    finally:
        chain.close()
    assert result.resumed["deployment"] == 1 and result.resumed["batches already settled"] >= 1
    assert result.mismatches == []
    assert _files(result) == whole
