"""`gridshare market`: a forward sale on a real anvil devnet, from placement to payout, and errors."""

from __future__ import annotations

import json
import time

import pytest

from conftest import one_line_error

SELLER, BUYER = "1", "2"  # anvil dev accounts, by index
ADDRESSES = {"1": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "2": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}


@pytest.mark.anvil
def test_a_forward_sale_from_the_command_line(gs):
    assert gs("--network", "anvil", "deploy", "--market", "continuous")[0] == 0
    for who in (SELLER, BUYER):
        assert gs("--network", "anvil", "participant", "add", ADDRESSES[who])[0] == 0
        code, out, err = gs("--network", "anvil", "--account", who, "market", "faucet", "100")
        assert code == 0 and "100 tEUR (test asset, no value)" in out, err
    iid = int(time.time()) // 900 + 2  # not started yet: a forward sale

    code, out, err = gs("--network", "anvil", "--account", SELLER, "market", "place", "ask", str(iid), "0.1", "1000",
                        "--forward")
    assert code == 0 and "order 1: ask 1,000 Wh" in out and "rest in the book" in out, err
    code, out, err = gs("--network", "anvil", "--account", BUYER, "market", "place", "bid", str(iid), "0.15", "600")
    assert code == 0 and "traded 600 Wh at 0.15/kWh (bid 2, ask 1)" in out, err
    code, out, _ = gs("--network", "anvil", "market", "book", str(iid))
    assert code == 0 and "400" in out and "collateral" in out
    code, out, _ = gs("--network", "anvil", "market", "trades")
    assert code == 0 and "1 trades" in out and "0.09" in out  # 600 Wh at 0.15/kWh

    # cancelling the rest, then settling after gate closure: nothing produced, the buyer is
    # compensated at the retail price out of the seller's collateral
    code, out, err = gs("--network", "anvil", "--account", SELLER, "market", "cancel", "1")
    assert code == 0 and "cancelled 400 Wh of order 1" in out, err
    assert gs("--network", "anvil", "devnet", "advance", "--days", "0.1")[0] == 0
    code, out, err = gs("--network", "anvil", "--account", SELLER, "market", "settle", str(iid))
    assert code == 0 and "settled" in out and "(600 Wh)" in out, err
    code, out, err = gs("--network", "anvil", "--account", BUYER, "market", "claim")
    assert code == 0 and "withdrew 0.1512 tEUR" in out, err  # 600 Wh x 0.252
    code, out, err = gs("--network", "anvil", "--account", BUYER, "market", "claim")
    assert "has nothing to claim" in one_line_error(code, err)


@pytest.mark.anvil
def test_market_errors_are_one_line(gs):
    assert gs("--network", "anvil", "deploy")[0] == 0
    assert gs("--network", "anvil", "participant", "add", ADDRESSES["1"])[0] == 0
    iid = str(int(time.time()) // 900 + 2)

    def place(*args):
        return gs("--network", "anvil", "--account", "1", "market", "place", *args)

    code, _, err = place("bid", iid, "0.1505", "10")
    assert "EnergyMarketPriceOffTick(price=150500, tick=1000)" in one_line_error(code, err)
    code, _, err = place("bid", iid, "1.5", "10")
    assert "EnergyMarketPriceOutsideBand(price=1500000, feedIn=40000, retail=252000)" in one_line_error(code, err)
    code, _, err = place("bid", "tomorrow", "0.1", "10")
    assert "neither an interval id nor a start time" in one_line_error(code, err)
    code, _, err = place("bid", iid, "0.1234567", "10")
    assert "more decimals than the payment token (6)" in one_line_error(code, err)
    code, _, err = place("bid", iid, "0.1", "10")
    assert "needs 1000 more tEUR base units" in one_line_error(code, err) and "market faucet" in err
    code, _, err = gs("--network", "anvil", "market", "place", "bid", iid, "0.1", "10")  # account 0
    assert "EnergyMarketNotParticipant" in one_line_error(code, err)
    code, _, err = gs("--network", "anvil", "deploy", "--force", "--prices", "0.04,0.252,0")
    assert "feed-in < retail" in one_line_error(code, err)


@pytest.mark.anvil
def test_a_batch_of_signed_orders_from_the_command_line(gs, tmp_path):
    """Orders signed by the devnet's node for accounts 1 (a producer) and 2 (a consumer), settled
    by account 3 in one transaction; refusals in one line."""
    from gridshare.chain.deployment import load
    from gridshare.chain.network import connect, default_anvil_state
    from gridshare.protocol.meters import MeterKind, meter_id, new_meter_key
    from gridshare.protocol.readings import MeterReadings

    assert gs("--network", "anvil", "deploy")[0] == 0
    chain = connect("anvil", anvil_state=default_anvil_state())  # verified readings, set up in Python
    try:
        c = load(chain)
        starts = {}
        for who, kind, flows in (("1", MeterKind.PRODUCER, (0, 800)), ("2", MeterKind.CONSUMER, (500, 0))):
            c.transact(c.registry.functions.registerParticipant(ADDRESSES[who]))
            key, mid = new_meter_key(), meter_id(bytes(32), f"cli-batch-{who}")
            c.transact(c.registry.functions.registerMeter(mid, key.address, ADDRESSES[who], int(kind), 10_000,
                                                          b"solar-pv".ljust(32, b"\0"), 0))
            starts[who] = (mid, key, flows)
        first = max(c.registry.functions.meterState(mid).call()[0] for mid, _, _ in starts.values())
        chain.travel(first + 900)
        for mid, key, (imported, exported) in starts.values():
            previous = c.registry.functions.meterState(mid).call()[0]
            run = MeterReadings(mid, previous, first, [imported], [exported], imported, exported)
            c.transact(c.registry.functions.submitReadings([run.sign(key, chain.chain_id,
                                                                     c.registry.address).as_call_arg()]))
    finally:
        chain.close()
    iid, orders = str(first // 900), str(tmp_path / "orders.json")
    assert gs("--network", "anvil", "--account", "2", "market", "faucet", "10")[0] == 0
    code, out, err = gs("--network", "anvil", "--account", "2", "market", "deposit", "1", "--batch")
    assert code == 0 and "deposited 1 in the batch auction; claimable 1" in out, err
    code, out, err = gs("--network", "anvil", "--account", "1", "market", "sign-order", "ask", iid, "0.10", "800", orders)
    assert code == 0 and "(1 orders)" in out, err
    code, out, err = gs("--network", "anvil", "--account", "2", "market", "sign-order", "bid", iid, "0.15", "600", orders)
    assert code == 0 and "(2 orders)" in out, err
    code, _, err = gs("--network", "anvil", "--account", "2", "market", "sign-order", "bid", iid, "0.1505", "600", orders)
    assert "on the tick of 0.001" in one_line_error(code, err)
    # a bid of an account without import: nothing backs it, so it cannot trade nor move the price
    code, out, err = gs("--network", "anvil", "--account", "3", "market", "sign-order", "bid", iid, "0.12", "100", orders)
    assert code == 0 and "(3 orders)" in out, err
    code, _, err = gs("--network", "anvil", "--account", "3", "market", "batch", iid, orders)
    assert f"BatchAuctionTradingOpen(intervalId={iid}" in one_line_error(code, err)
    assert gs("--network", "anvil", "devnet", "advance", "--days", "0.05")[0] == 0  # past gate closure
    code, out, err = gs("--network", "anvil", "--account", "3", "market", "batch", iid, orders)
    # the bid buys its import (500 Wh), not its 600; the ask's unsold 300 Wh bound the range:
    # [0.10 + fee 0.01, min(0.15, 0.10 + 0.01)] -> 0.11
    assert code == 0 and "3 orders (2 sent: the others cannot change the price or fills), 500 Wh traded at 0.11/kWh" \
        in " ".join(out.split()) and ADDRESSES["2"] in out, err
    code, _, err = gs("--network", "anvil", "--account", "3", "market", "batch", iid, orders)
    assert f"BatchAuctionSettled(intervalId={iid})" in one_line_error(code, err)
    rows = json.loads((tmp_path / "orders.json").read_text())
    rows[1]["price"] = 250_000  # tampered
    (tmp_path / "orders.json").write_text(json.dumps(rows))
    code, _, err = gs("--network", "anvil", "market", "batch", iid, orders)
    assert "order 2: not signed by its owner" in one_line_error(code, err)
