"""No one can block a market interval with dust: 10,000 minimum-size orders in one call-auction
book on a real anvil node (30M-gas blocks) still clear, and the thousands of forward deliveries
they leave still settle, page by page, each transaction far below a block (issue #14)."""

from __future__ import annotations

import pytest

from gridshare.chain import market as client
from gridshare.chain.compiler import compile_contracts
from gridshare.chain.deployment import DEFAULT_MIN_ORDER_WH, deploy
from gridshare.chain.network import connect

pytestmark = pytest.mark.anvil

DUST = 5_000  # the attacker's bids, and as many asks: 10,000 orders of the minimum size
PER_TX = 150  # orders the attacker's contract places per transaction
BLOCK = 30_000_000


def test_ten_thousand_dust_orders_still_clear_and_settle_page_by_page():
    chain = connect("anvil")
    try:
        _attack_and_close(chain)
    finally:
        chain.close()


def _attack_and_close(chain):
    c = deploy(chain, write=False, market_design="auction")
    m, pay, w3 = c.market, c.payment, chain.w3
    accounts = chain.accounts()
    alice, bob, funder = accounts[1], accounts[2], accounts[3]
    q = DEFAULT_MIN_ORDER_WH  # 10 Wh: every attacker order is as small as allowed
    artifact = compile_contracts()["DustTrader"]
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    attacker = w3.eth.contract(address=c.transact(factory.constructor(m.address))["contractAddress"], abi=artifact.abi)
    for who in (alice, bob, attacker.address):
        c.transact(c.registry.functions.registerParticipant(who))
    for who in (alice, bob, funder):
        c.transact(pay.functions.faucet(10**10), who)
        c.transact(pay.functions.approve(m.address, 2**256 - 1), who)
    c.transact(pay.functions.transfer(attacker.address, 10**9), funder)
    c.transact(attacker.functions.fund(pay.address, 10**9), funder)

    iid = w3.eth.get_block("latest")["timestamp"] // 900 + 2  # a forward interval, its gate open
    # alice sells 25,000 Wh forward; the attacker's 5,000 dust bids at a high price take it in
    # 2,500 deliveries, and its 5,000 dust asks (forward too) fill the rest; bob's one bid takes
    # what is left, so the whole book trades
    c.transact(m.functions.placeAsk(iid, 60_000, 25_000, 2, 0), alice)
    placed = 0
    while placed < DUST:
        n = min(PER_TX, DUST - placed)
        c.transact(attacker.functions.bids(iid, 150_000, q, n), funder)
        c.transact(attacker.functions.asks(iid, 61_000, q, n), funder)
        placed += n
    c.transact(m.functions.placeBid(iid, 100_000, 25_000, 0), bob)
    orders = m.events.OrderPlaced().get_logs(from_block=0, argument_filters={"intervalId": iid})
    assert sum(1 for e in orders if e.args.owner == attacker.address) == 2 * DUST

    first = w3.eth.block_number + 1
    chain.travel((iid + 2) * 900)  # gate closure: alice (the seller) closes her interval
    closed = client.close_interval(c, iid, alice, [alice])
    assert closed.cleared and closed.settled == [alice] and closed.expired == []
    # the k-double auction's price: [last ask 61 + fee 10, last bid 100], nothing left out
    assert m.functions.auction(iid).call() == [True, (71 + 100) // 2 * 1000]
    assert m.functions.forwardSale(iid, alice).call() == [25_000, True, 0, 2_500]
    assert len(m.functions.deliveries(iid, alice).call()) == 2_500

    chain.travel((iid + 2) * 900 + 86_400)  # the deadline: anyone settles the attacker's sales
    closed = client.close_interval(c, iid, bob, [attacker.address])
    assert closed.settled == [attacker.address]
    assert m.functions.forwardSale(iid, attacker.address).call()[:2] == [DUST * q, True]

    gas = [w3.eth.get_transaction_receipt(tx)["gasUsed"]
           for n in range(first, w3.eth.block_number + 1) for tx in w3.eth.get_block(n)["transactions"]]
    assert len(gas) > 10 and max(gas) < BLOCK * 3 // 4  # many pages, each well inside a block
    print(f"closing the dust book: {len(gas)} transactions, {sum(gas):,} gas, the largest {max(gas):,}")
    # nobody delivered (no production): every forward buyer is paid the retail price instead
    assert m.functions.claimable(bob).call() == 25_000 * (100 - 85) + 25_000 * 252
    owed = sum(m.functions.claimable(x).call() for x in (alice, bob, attacker.address, c.treasury.address))  # (the fee)
    assert pay.functions.balanceOf(m.address).call() == owed  # nothing locked, nothing missing
