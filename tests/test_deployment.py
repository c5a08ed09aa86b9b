"""deploy's choice of payment token, and a community rebuilt from its manifest."""

from __future__ import annotations

import pytest

from gridshare.chain.deployment import deploy, from_manifest
from gridshare.errors import GridshareError
from gridshare.chain.network import connect


@pytest.fixture(scope="module")
def chain():
    with connect("embedded") as c:
        yield c


def test_a_devnet_deploys_a_test_euro_and_the_manifest_names_it(chain):
    community = deploy(chain, write=False)
    assert "TestEuro" in community.manifest["contracts"]
    again = from_manifest(chain, community.manifest)
    for name in ("registry", "token", "guarantees", "operation", "market", "payment"):
        assert getattr(again, name).address == getattr(community, name).address
    assert again.payment.functions.symbol().call() == "tEUR"


def test_without_a_test_euro_the_market_needs_a_payment_token(chain):
    with pytest.raises(GridshareError, match="the market needs a real payment token: pass --payment-token"):
        deploy(chain, write=False, test_euro=False)


def test_a_payment_token_and_a_test_euro_are_refused_together(chain):
    with pytest.raises(GridshareError, match="pass a payment token or deploy a test euro, not both"):
        deploy(chain, write=False, test_euro=True, payment_token="0x" + "11" * 20)
