"""brownie: an interval's batch of orders signed off-chain (EIP-712 `Order`, gridshare's Python
signer with brownie's dev keys) settled in one transaction by the BatchAuction."""

import brownie
from eth_account import Account

from gridshare.protocol.market import Side
from gridshare.protocol.orders import Order, batch_lists, unpack_fills

CONSUMER = 1  # IMeterRegistry.MeterKind.Consumer
ESCROW_ROLE = brownie.web3.keccak(text="ESCROW_ROLE")
# anvil's well-known dev keys of accounts[1] and accounts[2] (public: its default mnemonic)
DEV_KEYS = {1: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            2: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"}


def test_a_batch_signed_with_brownie_keys_settles(registry, token, meter, meter_key, owner, operator, accounts, sign,
                                                 first_interval, TestEuro, EnergyMarket, BatchAuction):
    euro = TestEuro.deploy({"from": operator})
    market = EnergyMarket.deploy(registry, euro, 1, 40_000, 252_000, 10_000, operator, 900, 86_400, 10,
                                 {"from": operator})
    batch = BatchAuction.deploy(market, {"from": operator})
    registry.grantRole(ESCROW_ROLE, batch, {"from": operator})
    buyer = accounts[2]
    buyer_key = Account.create()
    buyer_meter = b"meter-2".ljust(32, b"\0")
    registry.registerParticipant(buyer, {"from": operator})
    registry.registerMeter(buyer_meter, buyer_key.address, buyer, CONSUMER, 10_000, b"grid", 0, {"from": operator})
    start = registry.meterState(buyer_meter)["nextIntervalStart"]
    brownie.chain.sleep(start + 900 - brownie.chain.time() + 1)  # the interval ended: its readings come
    brownie.chain.mine()
    registry.submitReadings([sign(meter_key, meter, first_interval, start, [0], [900], 0, 900),
                             sign(buyer_key, buyer_meter, start, start, [700], [0], 700, 0)], {"from": accounts[5]})
    euro.faucet(10**6, {"from": buyer})
    euro.approve(batch, 10**6, {"from": buyer})
    batch.deposit(10**6, {"from": buyer})
    iid = start // 900
    brownie.chain.sleep(market.gateClosure(iid) - brownie.chain.time() + 1)
    brownie.chain.mine()
    orders = [Order(owner.address, iid, Side.ASK, 80_000, 900, 1).sign(DEV_KEYS[1], brownie.chain.id, batch.address),
              Order(buyer.address, iid, Side.BID, 120_000, 1000, 2).sign(DEV_KEYS[2], brownie.chain.id, batch.address)]
    bids, asks = batch_lists(orders)
    tx = batch.settleBatch(iid, b"".join(b.packed() for b in bids), b"".join(a.packed() for a in asks),
                           {"from": accounts[6]})
    event = tx.events["BatchSettled"]
    # the bid buys its import (700 Wh); the ask's unsold 200 Wh bound the range: [0.09, 0.09]
    assert (event["price"], event["quantityWh"]) == (90_000, 700)
    [fill] = unpack_fills(bytes(event["fills"]))
    assert (fill.buyer, fill.seller, fill.quantity_wh) == (buyer.address, owner.address, 700)
    assert token.intervalAccount(buyer, iid)[4] == 700  # claimed against its import
    assert token.balanceOf(owner, iid) == 200 and batch.claimable(owner) == 700 * 80
