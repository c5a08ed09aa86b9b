"""`gridshare market ...`: the peer-to-peer market from the command line.

Prices are given in payment tokens per kWh (``0.15`` = 0.15 tEUR/kWh) on a tick of 0.001 for a
6-decimal token; quantities in Wh; an interval as its id or as its start time (ISO 8601, UTC
unless an offset is given, e.g. ``2026-06-21T12:00``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from rich.table import Table

from gridshare.chain import batch as batches
from gridshare.chain import market as m
from gridshare.chain import network
from gridshare.chain.deployment import Community
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import ADDRESS, ORDER_ID, WH, interval_of
from gridshare.domain.batch import orders_that_matter
from gridshare.errors import GridshareError
from gridshare.protocol.market import Side
from gridshare.protocol.orders import load_orders, new_order, save_orders
from gridshare.protocol.units import from_base_units, to_base_units


def _interval(c: Community, text: str) -> int:
    """An interval given as its id or as its start time."""
    return interval_of(text, c.interval_seconds)


def _units(c: Community, text: str) -> int:
    """A price per kWh or an amount in tokens, as base units."""
    return to_base_units(text, c.payment_decimals, "the amount")


def _money(c: Community, units: int) -> str:
    return f"{from_base_units(units, c.payment_decimals):f}"


def _when(c: Community, interval_id: int) -> str:
    start = datetime.fromtimestamp(interval_id * c.interval_seconds, timezone.utc)
    return start.strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def market():
    """The peer-to-peer market: orders per delivery interval, escrow and settlement."""


@market.command("faucet")
@click.argument("amount", default="1000")
@pass_ctx
def market_faucet(ctx: Context, amount):
    """Mint AMOUNT test euros (devnets only: tEUR has no value)."""
    with ctx.community() as c:
        if "TestEuro" not in c.manifest["contracts"]:
            raise GridshareError("this deployment pays in a real token: there is no faucet")
        c.transact(c.payment.functions.faucet(_units(c, amount)))
        balance = c.payment.functions.balanceOf(c.chain.sender).call()
        console.print(f"{c.chain.sender} holds {_money(c, balance)} tEUR (test asset, no value)")


@market.command("deposit")
@click.argument("amount")
@click.option("--batch", "to_batch", is_flag=True, help="Into the batch auction (what signed bids spend) instead of "
              "the order book.")
@pass_ctx
def market_deposit(ctx: Context, amount, to_batch):
    """Deposit AMOUNT tokens: orders lock it first, saving a transfer each."""
    with ctx.community() as c:
        units = _units(c, amount)
        if to_batch:
            claimable = batches.deposit(c, c.chain.sender, units)
        else:
            if c.payment.functions.allowance(c.chain.sender, c.market.address).call() < units:
                c.transact(c.payment.functions.approve(c.market.address, m.MAX_UINT))
            c.transact(c.market.functions.deposit(units))
            claimable = c.market.functions.claimable(c.chain.sender).call()
        where = "the batch auction" if to_batch else "the market"
        console.print(f"deposited {amount} in {where}; claimable {_money(c, claimable)}")


@market.command("sign-order")
@click.argument("side", type=click.Choice(["bid", "ask"]))
@click.argument("interval")
@click.argument("price")
@click.argument("wh", type=WH)
@click.argument("output", type=click.Path(path_type=Path))
@pass_ctx
def market_sign_order(ctx: Context, side, interval, price, wh, output: Path):
    """Sign an order of the sender for INTERVAL's batch, sending nothing: added to OUTPUT (a JSON
    list of signed orders), which `market batch` settles once the interval's gate closed. A bid
    spends the sender's deposit in the batch auction (`market deposit --batch`) and buys at most
    its verified import of the interval; an ask sells at most its crypto-kWh of the interval.
    The sender signs: a devnet's account through the node, else --keystore or GRIDSHARE_PRIVATE_KEY."""
    with ctx.community(read_only=True) as c:
        iid = _interval(c, interval)
        units = _units(c, price)
        feed_in, retail, _ = c.market.functions.prices().call()
        minimum = c.market.functions.minOrderWh().call()
        if units % 1000 or not feed_in <= units <= retail:
            raise GridshareError(f"price {price}/kWh: on the tick of 0.001 and between {_money(c, feed_in)} and "
                                 f"{_money(c, retail)} (the market's band)")
        if wh < minimum:
            raise GridshareError(f"{wh} Wh is below the market's minimum order of {minimum} Wh")
        earlier = load_orders(output, c.chain.chain_id, c.batch.address) if output.exists() else []
        order = new_order(c.chain.sender, iid, Side[side.upper()], units, wh)
        if ctx.network_name == "rpc" or ctx.rpc_url:
            signed = order.sign(network.load_sender(ctx.keystore, None), c.chain.chain_id, c.batch.address)
        else:
            signed = batches.sign_with_node(c, order)
        save_orders(output, [*earlier, signed])
        console.print(f"signed {side} {wh:,} Wh at {price}/kWh for {_when(c, iid)} by {c.chain.sender} -> {output} "
                      f"({len(earlier) + 1} orders)")


@market.command("batch")
@click.argument("interval")
@click.argument("orders", type=click.Path(path_type=Path))
@pass_ctx
def market_batch(ctx: Context, interval, orders: Path):
    """Settle INTERVAL's batch: the signed ORDERS of that interval (a file of `market sign-order`),
    after its gate closed, in one transaction anyone may send. Only the orders that matter are
    sent (those that trade, as backed now, and the first left out on each side): the price and
    fills are those of every order, for less gas."""
    with ctx.community() as c:
        iid = _interval(c, interval)
        signed = [s for s in load_orders(orders, c.chain.chain_id, c.batch.address) if s.order.interval_id == iid]
        if not signed:
            raise GridshareError(f"{orders} holds no order for interval {iid} ({_when(c, iid)})")
        backed = batches.backing(c, iid, signed)
        fee = c.market.functions.prices().call()[2]
        # nothing would trade: send them all, for the contract to say why (trading open, settled, empty)
        sent = orders_that_matter(signed, fee, lambda s: backed[s.digest]) or signed
        done = batches.settle_batch(c, iid, sent, c.chain.sender)
        left_out = f" ({len(sent)} sent: the others cannot change the price or fills)" if len(sent) < len(signed) else ""
        table = Table(title=f"batch of {_when(c, iid)}: {len(signed)} orders{left_out}, {done.quantity_wh:,} Wh traded "
                            f"at {_money(c, done.price)}/kWh ({done.gas_used:,} gas)", title_justify="left")
        for col in ("buyer", "seller", "Wh"):
            table.add_column(col, justify="right" if col == "Wh" else "left")
        for f in done.fills:
            table.add_row(f.buyer, f.seller, f"{f.quantity_wh:,}")
        show(table)


@market.command("place")
@click.argument("side", type=click.Choice(["bid", "ask"]))
@click.argument("interval")
@click.argument("price")
@click.argument("wh", type=WH)
@click.option("--forward", is_flag=True, help="An ask before delivery, backed by collateral (the retail price of "
              "WH) instead of the seller's verified tokens.")
@pass_ctx
def market_place(ctx: Context, side, interval, price, wh, forward):
    """Place a bid or an ask for WH of INTERVAL at PRICE per kWh."""
    with ctx.community() as c:
        iid = _interval(c, interval)
        backing = m.Backing.COLLATERAL if forward else m.Backing.ENERGY
        placed = m.place(c, c.chain.sender, m.Side[side.upper()], iid, _units(c, price), wh, backing)
        console.print(f"order {placed.order_id}: {side} {wh:,} Wh of {_when(c, iid)} at {price}/kWh "
                      f"({placed.gas_used:,} gas)")
        for t in placed.trades:
            console.print(f"  traded {t.quantity_wh:,} Wh at {_money(c, t.price)}/kWh (bid {t.bid_id}, ask {t.ask_id})")
        left = wh - sum(t.quantity_wh for t in placed.trades)
        if left:
            console.print(f"  {left:,} Wh rest in the book until gate closure")


@market.command("cancel")
@click.argument("order_id", type=ORDER_ID)
@pass_ctx
def market_cancel(ctx: Context, order_id):
    """Cancel what is left of ORDER_ID (before gate closure): money becomes claimable, an energy
    ask's crypto-kWh come straight back (still your own production if they were)."""
    with ctx.community() as c:
        console.print(f"cancelled {m.cancel(c, c.chain.sender, order_id):,} Wh of order {order_id}")


@market.command("book")
@click.argument("interval")
@pass_ctx
def market_book(ctx: Context, interval):
    """The open orders of INTERVAL, best first."""
    with ctx.community(read_only=True) as c:
        iid = _interval(c, interval)
        table = Table(title=f"order book of {_when(c, iid)} (interval {iid})", title_justify="left")
        for col in ("side", "order", "owner", "price/kWh", "Wh", "backing"):
            table.add_column(col, justify="right" if col in ("order", "price/kWh", "Wh") else "left")
        for side in m.Side:
            for o in m.book(c, iid, side):
                table.add_row(side.name.lower(), str(o.id), o.owner, _money(c, o.price), f"{o.remaining_wh:,}",
                              o.backing.name.lower())
        show(table)
        closes = c.market.functions.gateClosure(iid).call()
        console.print(f"gate closes {datetime.fromtimestamp(closes, timezone.utc):%Y-%m-%d %H:%M} UTC")


@market.command("trades")
@click.option("--interval", help="Only this interval (id or start time).")
@pass_ctx
def market_trades(ctx: Context, interval):
    """Every trade, oldest first."""
    with ctx.community(read_only=True) as c:
        iid = None if interval is None else _interval(c, interval)
        rows = m.trades(c, iid)
        table = Table(title=f"{len(rows)} trades", title_justify="left")
        for col in ("interval", "bid", "ask", "Wh", "price/kWh", "paid"):
            table.add_column(col, justify="left" if col == "interval" else "right")
        for t in rows:
            table.add_row(_when(c, t.interval_id), str(t.bid_id), str(t.ask_id), f"{t.quantity_wh:,}",
                          _money(c, t.price), _money(c, t.quantity_wh * t.price // 1000))
        show(table)


@market.command("settle")
@click.argument("interval")
@click.option("--seller", "sellers", type=ADDRESS, multiple=True, help="Settle this seller's forward sales (after the settlement "
              "deadline anyone may) [default: the sender].")
@pass_ctx
def market_settle(ctx: Context, interval, sellers):
    """After gate closure: clear the call auction, settle forward sales, expire what is left."""
    with ctx.community() as c:
        iid = _interval(c, interval)
        done = m.close_interval(c, iid, c.chain.sender, list(sellers) or None)
        if done.cleared:
            cleared, price = c.market.functions.auction(iid).call()
            console.print(f"auction cleared at {_money(c, price)}/kWh" if price else "auction cleared: no trade")
        for s in done.settled:
            sold = c.market.functions.forwardSale(iid, s).call()[0]
            console.print(f"settled {s}'s forward sales ({sold:,} Wh)")
        if done.expired:
            console.print(f"expired orders {', '.join(map(str, done.expired))} (money claimable, crypto-kWh returned)")
        if not (done.cleared or done.settled or done.expired):
            console.print(f"nothing left to settle in {_when(c, iid)}")


@market.command("claim")
@click.option("--interval", "intervals", multiple=True, help="Claim tokens of these intervals [default: every "
              "interval the sender placed orders in].")
@pass_ctx
def market_claim(ctx: Context, intervals):
    """Pay out the sender's claimable money and tokens."""
    with ctx.community() as c:
        ids = [_interval(c, i) for i in intervals] or None
        money, energy = m.claim(c, c.chain.sender, ids)
        if not money and not energy:
            raise GridshareError(f"{c.chain.sender} has nothing to claim from the market")
        console.print(f"withdrew {_money(c, money)} {c.payment.functions.symbol().call()}")
        for iid, wh in energy.items():
            console.print(f"claimed {wh:,} Wh of {_when(c, iid)}")
            excess = m.unredeemable(c, c.chain.sender, iid)
            if excess:
                deadline = c.market.functions.settlementDeadline(iid).call()
                console.print(f"  {excess:,} Wh of it exceed what your verified import of that interval can consume: "
                              f"sell them in its batch (market sign-order ask {iid} ...) before "
                              f"{datetime.fromtimestamp(deadline, timezone.utc):%Y-%m-%d %H:%M} UTC; after that "
                              "they count as surplus (injected, at the feed-in price)")
