"""The market's encodings, as the EnergyMarket contract and its ABI have them."""

from __future__ import annotations

from enum import IntEnum

#: ``EnergyMarket``'s designs, in the order of its constructor's ``design`` argument
MARKET_DESIGNS = ("continuous", "auction")


class Side(IntEnum):
    """As ``IEnergyMarket.Side``."""

    BID = 0
    ASK = 1


class Backing(IntEnum):
    """As ``IEnergyMarket.Backing``: what an order locks."""

    PAYMENT = 0  # a bid's payment
    ENERGY = 1  # the seller's tokens of the interval, already verified
    COLLATERAL = 2  # a forward ask: the retail price of its quantity


class AuctionStage(IntEnum):
    """As ``IEnergyMarket.AuctionStage``: where a call auction's paged clearing is."""

    OPEN = 0  # taking orders, then waiting to be cleared
    PRICING = 1  # the walk for the price is paused
    FILLING = 2  # price found, fills paged
    CLEARED = 3
