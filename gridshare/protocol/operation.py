"""The self-consumption operation's encodings, as the SelfConsumption contract and its ABI have them."""

from __future__ import annotations

from enum import IntEnum


class KeyFault(IntEnum):
    """As ``ISelfConsumption.KeyFault``: why an interval was shared with the default key instead of
    the operation's supplied one (``DefaultKeyApplied``)."""

    MISSING = 0  # no list for the interval (empty, or the batch's lists end before it)
    WRONG_LENGTH = 1  # not one share per member active in the interval
    ABOVE_CONSUMPTION = 2  # a share above the member's verified consumption
    ABOVE_PRODUCTION = 3  # shares adding up above the verified production
    GIVEN_ABOVE_EXPORT = 4  # a member's given Wh above its verified export
    UNBALANCED = 5  # the given Wh do not add up to the shares

    @property
    def text(self) -> str:
        return self.name.lower().replace("_", " ")
