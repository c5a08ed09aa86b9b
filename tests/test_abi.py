"""The published ABIs are exactly what the pinned compiler produces from the sources today."""

import json

from gridshare.chain.compiler import DEPLOYABLE, compile_contracts, project_root


def test_published_abis_equal_a_fresh_compile():
    artifacts = compile_contracts(use_cache=False)
    for name in DEPLOYABLE:
        published = json.loads((project_root() / "abi" / f"{name}.json").read_text())
        assert published == artifacts[name].abi, f"abi/{name}.json is stale: run `make abi`"


def test_the_package_carries_the_abis():
    from importlib.resources import files

    for name in DEPLOYABLE:
        assert json.loads(files("gridshare").joinpath("abi", f"{name}.json").read_text())


def test_every_custom_error_is_prefixed_by_its_contract():
    artifacts = compile_contracts()
    ours = {e["name"] for a in artifacts.values() for e in a.abi if e["type"] == "error"}
    prefixes = ("MeterRegistry", "EnergyToken", "GuaranteeOfOrigin", "SelfConsumption", "EnergyMarket", "TestEuro",
                "ERC1155", "ERC20", "SafeERC20", "ReentrancyGuard", "AccessControl", "ECDSA", "SafeCast")
    openzeppelin_short_strings = {"InvalidShortString", "StringTooLong"}  # used by EIP712
    assert {n for n in ours if not n.startswith(prefixes)} == openzeppelin_short_strings
