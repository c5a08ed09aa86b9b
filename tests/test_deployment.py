"""deploy's choice of payment token, and a community rebuilt from its manifest."""

from __future__ import annotations

import json

import jsonschema
import pytest

from gridshare import __version__
from gridshare.chain.compiler import compile_contracts, enums, project_root, published_abi
from gridshare.chain.deployment import deploy, from_manifest
from gridshare.chain.network import connect
from gridshare.errors import GridshareError
from gridshare.protocol.guarantees import Status, Support
from gridshare.protocol.market import AuctionStage, Backing, Side
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.operation import KeyFault

ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's well-known dev key


@pytest.fixture(scope="module")
def chain():
    with connect("embedded") as c:
        yield c


def test_a_devnet_deploys_a_test_euro_and_the_manifest_names_it(chain):
    community = deploy(chain, write=False)
    assert "TestEuro" in community.manifest["contracts"]
    again = from_manifest(chain, community.manifest)
    for name in ("registry", "token", "guarantees", "operation", "market", "payment", "batch", "reward"):
        assert getattr(again, name).address == getattr(community, name).address
    assert again.payment.functions.symbol().call() == "tEUR"


def test_without_a_test_euro_the_market_needs_a_payment_token(chain):
    with pytest.raises(GridshareError, match="the market needs a real payment token: pass --payment-token"):
        deploy(chain, write=False, test_euro=False)


def test_a_payment_token_and_a_test_euro_are_refused_together(chain):
    with pytest.raises(GridshareError, match="pass a payment token or deploy a test euro, not both"):
        deploy(chain, write=False, test_euro=True, payment_token="0x" + "11" * 20)


@pytest.mark.anvil
def test_off_devnets_the_issuing_body_is_not_the_operator_and_admin_transfers_wait(monkeypatch):
    """On a chain reached by URL (here a real anvil node), deploy refuses the deployer as issuing
    body unless asked for explicitly, and the admin role moves only after a delay of 2 days."""
    from eth_utils import keccak

    from gridshare.chain.deployment import DEFAULT_ADMIN_DELAY
    from gridshare.chain.network import start_anvil

    node = start_anvil()
    monkeypatch.setenv("GRIDSHARE_PRIVATE_KEY", ANVIL_KEY_0)
    try:
        chain = connect(rpc_url=node.w3.provider.endpoint_uri)
        with pytest.raises(GridshareError, match="name the issuing body of guarantees of origin with --issuing-body"):
            deploy(chain, write=False, test_euro=True)
        with pytest.raises(GridshareError, match="is the operator, who requests certificates"):
            deploy(chain, write=False, test_euro=True, issuing_body=chain.sender.lower())
        issuer = "0x" + "12" * 20
        c = deploy(chain, write=False, test_euro=True, issuing_body=issuer)
        role = keccak(text="ISSUER_ROLE")
        assert c.guarantees.functions.hasRole(role, issuer).call()
        assert not c.guarantees.functions.hasRole(role, chain.sender).call()
        for contract in (c.registry, c.guarantees, c.operation):
            assert contract.functions.defaultAdminDelay().call() == DEFAULT_ADMIN_DELAY == 2 * 86_400
            assert contract.functions.defaultAdmin().call() == chain.sender
        assert c.manifest["settings"]["adminDelay"] == DEFAULT_ADMIN_DELAY
        same = deploy(chain, write=False, test_euro=True, issuer_is_operator=True, admin_delay=3600)
        assert same.guarantees.functions.hasRole(role, chain.sender).call()
        assert same.registry.functions.defaultAdminDelay().call() == 3600
        chain.close()
    finally:
        node.close()


def test_the_manifest_publishes_the_version_the_enums_and_the_abis_with_every_error(chain):
    """An integrator needs nothing but the manifest: what each enum's values mean (an ABI says only
    uint8), which gridshare wrote it, and ABIs that decode every revert of a call."""
    m = deploy(chain, write=False).manifest
    assert m["gridshare"] == __version__
    assert m["enums"] == enums() and m["enums"]["Backing"] == {"Payment": 0, "Energy": 1, "Collateral": 2}
    artifacts = compile_contracts()
    for name, entry in m["contracts"].items():
        assert entry["abi"] == published_abi(artifacts, name)


def test_the_python_enums_are_the_contracts():
    """Every client agrees with the contracts on the enums' values, and docs/protocol.md lists them."""
    def normal(name: str) -> str:
        return name.replace("_", "").lower()

    solidity = enums()
    for python in (MeterKind, Side, Backing, AuctionStage, Support, Status, KeyFault):
        assert {normal(e.name): e.value for e in python} == {normal(k): v for k, v in solidity[python.__name__].items()}
    protocol = (project_root() / "docs" / "protocol.md").read_text()
    for name, members in solidity.items():
        assert f"`{name}` {{" + ", ".join(f"{k} {v}" for k, v in members.items()) + "}" in " ".join(protocol.split())


def test_every_written_manifest_follows_the_published_schema(chain, tmp_path):
    """deployments/manifest.schema.json (JSON Schema 2020-12) is what integrators validate against:
    the manifests gridshare writes follow it, and a damaged one does not."""
    schema = json.loads((project_root() / "deployments" / "manifest.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for options in ({}, {"allocation_key": "supplied", "market_design": "auction"}):
        deploy(chain, write=True, folder=tmp_path, **options)
        written = json.loads((tmp_path / f"{chain.chain_id}.json").read_text())
        assert list(validator.iter_errors(written)) == []
    del written["enums"]["Side"]
    written["contracts"]["EnergyToken"]["address"] = "0x1234"
    assert len(list(validator.iter_errors(written))) == 2
