"""The published ABIs are exactly what the pinned compiler produces from the sources today."""

import json

from gridshare.chain.compiler import DEPLOYABLE, compile_contracts, project_root, published_abi


def test_published_abis_equal_a_fresh_compile():
    artifacts = compile_contracts(use_cache=False)
    for name in DEPLOYABLE:
        published = json.loads((project_root() / "abi" / f"{name}.json").read_text())
        assert published == published_abi(artifacts, name), f"abi/{name}.json is stale: run `make abi`"
        assert published[: len(artifacts[name].abi)] == artifacts[name].abi  # the compiler's, then errors


def test_every_published_abi_decodes_every_error_of_the_deployment():
    """A call passes on the errors of the contracts it calls (the registry's through the operation,
    the token's through the market): each ABI carries them all, so a client needs one ABI."""
    artifacts = compile_contracts()

    def errors(abi):
        return {(e["name"], tuple(i["type"] for i in e["inputs"])) for e in abi if e["type"] == "error"}

    everything = set().union(*(errors(artifacts[name].abi) for name in DEPLOYABLE))
    for name in DEPLOYABLE:
        published = json.loads((project_root() / "abi" / f"{name}.json").read_text())
        assert errors(published) == everything, name
    market = json.loads((project_root() / "abi" / "EnergyMarket.json").read_text())
    assert ("EnergyTokenUnauthorizedEscrow", ("address",)) in errors(market)


def test_the_package_carries_the_abis():
    from importlib.resources import files

    for name in DEPLOYABLE:
        assert json.loads(files("gridshare").joinpath("abi", f"{name}.json").read_text())


def test_every_custom_error_is_prefixed_by_its_contract():
    artifacts = compile_contracts()
    ours = {e["name"] for a in artifacts.values() for e in a.abi if e["type"] == "error"}
    prefixes = ("MeterRegistry", "EnergyToken", "GuaranteeOfOrigin", "SelfConsumption", "EnergyMarket", "BatchAuction",
                "SolarReward", "Solidarity", "TestEuro", "CommunityVotes", "CommunityGovernor", "ERC1155", "ERC20",
                "SafeERC20", "ReentrancyGuard", "AccessControl", "ECDSA", "SafeCast", "Governor", "Timelock", "Votes",
                "ERC5805", "ERC6372", "Checkpoint")
    openzeppelin_short_strings = {"InvalidShortString", "StringTooLong"}  # used by EIP712
    openzeppelin_unprefixed = {"FailedCall", "InvalidAccountNonce"}  # Address (the timelock's calls), Nonces (votes)
    assert {n for n in ours if not n.startswith(prefixes)} == openzeppelin_short_strings | openzeppelin_unprefixed
