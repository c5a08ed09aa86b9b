"""Deploy a community's contracts, write and read its manifest ``deployments/<chainId>.json``.

The manifest has the shape fixed by the protocol (the hardhat-deploy export, keyed by chain id)::

    {"chainId": 31337, "name": "anvil",
     "contracts": {"MeterRegistry": {"address": "0x..", "abi": [..], "blockNumber": 1,
                                     "transactionHash": "0x.."}, ...},
     "settings": {"intervalSeconds": 900, "compiler": "0.8.28", "evmVersion": "cancun", ...}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import rlp
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.types import BlockIdentifier, TxReceipt

from gridshare import __version__
from gridshare.chain.compiler import (
    DEPLOYABLE,
    SETTINGS,
    compile_contracts,
    compiler_version,
    enums,
    project_root,
    published_abi,
)
from gridshare.chain.network import Chain
from gridshare.chain.revert import CustomError, ErrorDecoder
from gridshare.errors import GridshareError
from gridshare.protocol.manifest import Manifest, read_manifest
from gridshare.protocol.market import MARKET_DESIGNS

#: the gas cap of a transaction sent on a devnet (checked by a simulation first, not estimated)
DEVNET_GAS = 25_000_000
#: SelfConsumption.Key, in order
KEY_MODES = ("dynamic-default", "supplied")
#: Networks where a deployment brings its own test payment token (TestEuro, 6 decimals).
DEVNETS = ("embedded", "anvil")
#: Default prices, in TestEuro base units per kWh (6 decimals: 252_000 = 0.252 EUR/kWh).
DEFAULT_PRICES = {"retail": 252_000, "feed_in": 40_000, "grid_fee": 10_000}
#: The market's smallest order by default, in Wh: dust orders cost every clearing and settlement.
DEFAULT_MIN_ORDER_WH = 10
ALLOCATOR_ROLE = keccak(text="ALLOCATOR_ROLE")
CERTIFIER_ROLE = keccak(text="CERTIFIER_ROLE")
ESCROW_ROLE = keccak(text="ESCROW_ROLE")
#: Seconds a transfer of the admin role waits between its two steps, off devnets (on a devnet: 0).
DEFAULT_ADMIN_DELAY = 2 * 86_400
CHAIN_NAMES = {1: "mainnet", 11155111: "sepolia", 73799: "volta", 246: "energyweb", 31337: "anvil"}


@dataclass(frozen=True)
class Governance:
    """The treasury's governance settings (docs/protocol.md, "Community treasury"): seconds from a
    proposal to its vote, of voting, and from queueing to execution; the share of all votes that
    must vote for or abstain; what a meter's production adds to its vote at most (Wh) and the
    votes a proposer needs (token units: Wh, one vote is 1,000,000)."""

    voting_delay: int = 86_400
    voting_period: int = 7 * 86_400
    quorum_percent: int = 20
    timelock_delay: int = 2 * 86_400
    vote_cap_wh: int = 10_000_000
    proposal_threshold: int = 1_000_000


#: On devnets: seconds rather than days, so that a proposal goes through in minutes.
DEVNET_GOVERNANCE = Governance(voting_delay=1, voting_period=300, timelock_delay=60)


@dataclass
class Community:
    """A deployed community: its contracts on one chain, and how to send to them."""

    chain: Chain
    manifest: dict[str, Any]
    registry: Contract
    token: Contract
    guarantees: Contract
    operation: Contract  # SelfConsumption
    market: Contract  # EnergyMarket
    payment: Contract  # the market's ERC-20 (TestEuro on devnets)
    batch: Contract  # BatchAuction: the market's orders signed off-chain, a batch per interval
    reward: Contract  # SolarReward: an ERC-20, one token per MWh of a solar meter's verified export
    solidarity: Contract  # Solidarity: crypto-kWh given to the operation's energy-poor members
    votes: Contract  # CommunityVotes: the members' votes, from their meters' verified export
    treasury: Contract  # CommunityTreasury: the timelock holding what the community earns
    governor: Contract  # CommunityGovernor: proposals, votes, queue and execution of payouts
    #: called with the receipt of every transaction :meth:`transact` sends and that goes through
    #: (e.g. :meth:`gridshare.chain.events.EventLog.record`)
    on_receipt: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)

    @property
    def view(self) -> Manifest:
        """The manifest, read (addresses, deployment blocks, settings)."""
        return Manifest(self.manifest)

    @property
    def interval_seconds(self) -> int:
        return self.view.interval_seconds

    @property
    def deployed_at(self) -> int:
        """The block of the first contract deployed: where event scans start."""
        return self.view.deployed_at

    @cached_property
    def payment_decimals(self) -> int:
        """The market's payment token's decimals (read once)."""
        return self.payment.functions.decimals().call()

    @cached_property
    def errors(self) -> ErrorDecoder:
        return ErrorDecoder([self.registry.abi, self.token.abi, self.guarantees.abi, self.operation.abi,
                             self.market.abi, self.batch.abi, self.reward.abi, self.solidarity.abi,
                             self.payment.abi, self.votes.abi, self.treasury.abi, self.governor.abi])

    def transact(self, call, sender: str | None = None, gas: int | None = None, *,
                 simulated: bool = False) -> TxReceipt:
        """Send a contract call (or constructor) and wait for it; a revert raises
        :class:`ContractReverted` naming the custom error. ``simulated``: the caller has just
        checked with :meth:`simulate` that it goes through, or chooses to send unchecked (on a
        devnet that saves running the transaction twice; a failure is then named by replaying
        the call)."""
        sender = sender or self.chain.sender
        params: dict[str, Any] = {"from": sender}
        if gas is None and self.chain.network in DEVNETS:
            # eth-tester and anvil estimate gas by bisection, re-running the transaction (~20 times
            # on eth-tester: 3 s for a batch of 100 readings): on a devnet, simulate once and send
            # with a cap.
            if not simulated:
                error = self.simulate(call, sender)
                if error is not None:
                    raise ContractReverted(error)
            gas = DEVNET_GAS
        if gas is not None:
            params["gas"] = gas
        try:
            tx = call.transact(params)
        except Exception as exc:  # web3 raises on estimate_gas for a reverting call
            decoded = self.errors.from_exception(exc)
            if decoded is not None:
                raise ContractReverted(decoded) from None
            raise
        # a devnet mines at once, but anvil may answer the send before the receipt exists: poll
        # at 5 ms there rather than web3's 100 ms (which was half of a simulation's market phase)
        poll = 0.005 if self.chain.network in DEVNETS else 0.1
        receipt = self.chain.w3.eth.wait_for_transaction_receipt(tx, timeout=120, poll_latency=poll)
        if receipt["status"] != 1:
            # sent without a check first: a revert changes no state, so replaying the call on the
            # state it left names the error
            error = self.simulate(call, sender)
            if error is not None:
                raise ContractReverted(error)
            if "gas" in params and receipt["gasUsed"] >= params["gas"]:
                raise GridshareError(f"transaction 0x{bytes(tx).hex()} ran out of gas at its cap of {params['gas']:,} "
                                     f"(block {receipt['blockNumber']}): send less in one transaction")
            raise GridshareError(f"transaction 0x{bytes(tx).hex()} failed in block {receipt['blockNumber']}")
        if self.on_receipt is not None:
            self.on_receipt(receipt)
        return receipt

    def simulate(self, call, sender: str | None = None) -> CustomError | None:
        """Run a call or constructor with ``eth_call``; the custom error it would revert with, or
        ``None`` if it goes through."""
        sender = sender or self.chain.sender
        # the embedded chain executes a transaction in its pending block (whose timestamp may have
        # been moved by time travel): simulate there
        block: BlockIdentifier = "pending" if self.chain.network == "embedded" else "latest"
        try:
            if hasattr(call, "call"):
                call.call({"from": sender}, block_identifier=block)
            else:  # a constructor
                self.chain.w3.eth.call({"from": sender, "data": call.data_in_transaction}, block)
        except Exception as exc:  # noqa: BLE001
            decoded = self.errors.from_exception(exc)
            if decoded is None:
                raise
            return decoded
        return None


class ContractReverted(GridshareError):
    """A transaction reverted with one of gridshare's custom errors."""

    def __init__(self, error: CustomError):
        super().__init__(f"the contract refused: {error}")
        self.error = error


def manifest_path(chain_id: int, folder: Path | None = None) -> Path:
    """``deployments/<chainId>.json`` (the folder: ``folder``, ``$GRIDSHARE_DEPLOYMENTS_DIR`` or deployments/)."""
    env = os.environ.get("GRIDSHARE_DEPLOYMENTS_DIR")
    folder = folder or (Path(env) if env else project_root() / "deployments")
    return folder / f"{chain_id}.json"


def _deploy_one(chain: Chain, artifact, *args) -> tuple[Contract, dict]:
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args).transact({"from": chain.sender})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx, timeout=120)
    if receipt["status"] != 1:
        raise GridshareError(f"deploying {artifact.name} failed in {tx.hex()}")
    address = receipt["contractAddress"]
    assert address is not None  # a successful contract creation has one
    contract = chain.w3.eth.contract(address=address, abi=artifact.abi)
    entry = {
        "address": address,
        "abi": artifact.abi,
        "blockNumber": receipt["blockNumber"],
        "transactionHash": "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x"),
    }
    return contract, entry


def _send(chain: Chain, call) -> None:
    tx = call.transact({"from": chain.sender})
    if chain.w3.eth.wait_for_transaction_receipt(tx, timeout=120)["status"] != 1:
        raise GridshareError(f"deployment step {call.fn_name} failed in {tx.hex()}")


def _erc20_abi(contracts: dict) -> list[dict]:
    """The payment token's ABI: TestEuro's when the deployment brought one, else its ERC-20 part
    (the published ``abi/TestEuro.json`` has it all)."""
    if "TestEuro" in contracts:
        return contracts["TestEuro"]["abi"]
    return json.loads((Path(__file__).resolve().parents[1] / "abi" / "TestEuro.json").read_text())


def deploy(
    chain: Chain,
    *,
    interval_seconds: int = 900,
    expiry_months: int = 12,
    issuing_body: str | None = None,
    allocation_key: str = "dynamic-default",
    token_uri: str = "",
    market_design: str = "continuous",
    payment_token: str | None = None,
    retail_price: int = DEFAULT_PRICES["retail"],
    feed_in_price: int = DEFAULT_PRICES["feed_in"],
    grid_fee: int = DEFAULT_PRICES["grid_fee"],
    gate_closure_delay: int | None = None,
    settlement_window: int = 86_400,
    min_order_wh: int = DEFAULT_MIN_ORDER_WH,
    folder: Path | None = None,
    write: bool = True,
    test_euro: bool | None = None,
    admin_delay: int | None = None,
    issuer_is_operator: bool = False,
    governance: Governance | None = None,
) -> Community:
    """Deploy MeterRegistry, EnergyToken, GuaranteeOfOrigin, a SelfConsumption operation, an
    EnergyMarket, its BatchAuction, SolarReward (the reward token of verified solar production) and
    Solidarity (gifts to energy-poor members), link them, write the manifest.

    The sender becomes the registry's admin and operator, the certificates' admin and the
    operation's operator (PMO); ``issuing_body`` may issue, reject and revoke guarantees of origin,
    which expire ``expiry_months`` after the start of their production period. On a devnet the
    issuing body defaults to the sender; elsewhere it must be given and differ from the sender
    (the operator requests certificates: it should not approve them), unless
    ``issuer_is_operator``. The admin role moves in two steps, ``admin_delay`` seconds apart
    (default: 0 on a devnet, :data:`DEFAULT_ADMIN_DELAY` elsewhere).
    ``allocation_key``: ``dynamic-default`` (computed on-chain) or ``supplied`` (shares computed
    off-chain by :mod:`gridshare.domain.allocation`, bounds enforced on-chain).

    The market (``market_design`` ``continuous`` or ``auction``) trades in ``payment_token`` (on a
    devnet, by default, a freshly deployed TestEuro); prices are base units per kWh, multiples of
    1,000; an interval's orders close ``gate_closure_delay`` seconds after its end (default: one
    interval), and sellers alone settle their forward sales during ``settlement_window`` seconds
    after that; an order is at least ``min_order_wh`` Wh. The market is registered as a participant so
    that it can hold sellers' tokens in escrow. ``test_euro=True`` deploys a TestEuro as the
    payment token on any chain (a simulation on a development node reached by URL).

    The community's treasury (``CommunityTreasury``, a timelock) receives the market's grid fee;
    the members govern it (``CommunityGovernor``, ``CommunityVotes``) with ``governance``
    (default: :data:`DEVNET_GOVERNANCE` on a devnet, ``Governance()`` elsewhere).
    """
    if test_euro is None:
        test_euro = payment_token is None and chain.network in DEVNETS
    if test_euro and payment_token is not None:
        raise GridshareError("pass a payment token or deploy a test euro, not both")
    if market_design not in MARKET_DESIGNS:
        raise GridshareError(f"market design must be one of {', '.join(MARKET_DESIGNS)}, not {market_design!r}")
    if payment_token is None and not test_euro:
        raise GridshareError(
            "on a public chain the market needs a real payment token: pass --payment-token ADDRESS "
            "(an ERC-20 such as a euro stablecoin)"
        )
    for name, price in (("retail", retail_price), ("feed-in", feed_in_price), ("grid fee", grid_fee)):
        if price < 0 or price % 1000:
            raise GridshareError(f"{name} price must be a non-negative multiple of 1000 base units per kWh, not {price}")
    if not feed_in_price < retail_price or grid_fee >= retail_price - feed_in_price:
        raise GridshareError(
            f"prices must satisfy feed-in < retail and grid fee < retail - feed-in, not feed-in {feed_in_price}, "
            f"retail {retail_price}, grid fee {grid_fee}"
        )
    if not 1 <= min_order_wh < 2**40:
        raise GridshareError(f"the minimum order must be 1 to 2^40 - 1 Wh, not {min_order_wh}")
    if allocation_key not in KEY_MODES:
        raise GridshareError(f"allocation key must be one of {', '.join(KEY_MODES)}, not {allocation_key!r}")
    if interval_seconds not in (900, 1800):
        raise GridshareError(f"interval must be 900 or 1800 seconds, not {interval_seconds}")
    if not 1 <= expiry_months <= 255:
        raise GridshareError(f"expiry must be 1 to 255 months, not {expiry_months}")
    devnet = chain.network in DEVNETS
    if issuing_body is None:
        if not (devnet or issuer_is_operator):
            raise GridshareError("name the issuing body of guarantees of origin with --issuing-body ADDRESS (it must "
                                 "not be the operator, who requests them), or pass --issuer-is-operator")
        issuing_body = chain.sender
    elif issuing_body.lower() == chain.sender.lower() and not (devnet or issuer_is_operator):
        raise GridshareError(f"--issuing-body {issuing_body} is the operator, who requests certificates: name another "
                             "account, or pass --issuer-is-operator to accept it")
    if admin_delay is None:
        admin_delay = 0 if devnet else DEFAULT_ADMIN_DELAY
    if not 0 <= admin_delay < 2**48:
        raise GridshareError(f"admin delay must be 0 to 2^48 - 1 seconds, not {admin_delay}")
    governance = governance or (DEVNET_GOVERNANCE if devnet else Governance())
    _check_governance(governance)
    artifacts = compile_contracts()
    registry, registry_entry = _deploy_one(chain, artifacts["MeterRegistry"], interval_seconds, chain.sender,
                                           admin_delay)
    token, token_entry = _deploy_one(chain, artifacts["EnergyToken"], registry.address, token_uri)
    guarantees, guarantees_entry = _deploy_one(chain, artifacts["GuaranteeOfOrigin"], registry.address, chain.sender,
                                               issuing_body, expiry_months, "", admin_delay)
    operation, operation_entry = _deploy_one(chain, artifacts["SelfConsumption"], registry.address, token.address,
                                             KEY_MODES.index(allocation_key), chain.sender, admin_delay)
    entries = {"MeterRegistry": registry_entry, "EnergyToken": token_entry,
               "GuaranteeOfOrigin": guarantees_entry, "SelfConsumption": operation_entry}
    if test_euro:
        payment, entries["TestEuro"] = _deploy_one(chain, artifacts["TestEuro"])
    else:
        assert payment_token is not None  # checked above: no test euro without a payment token
        payment = chain.w3.eth.contract(address=chain.w3.to_checksum_address(payment_token),
                                        abi=artifacts["TestEuro"].abi)  # the ERC-20 part is all we use
    _send(chain, registry.functions.setEnergyToken(token.address))  # the market reads it
    gate_closure_delay = interval_seconds if gate_closure_delay is None else gate_closure_delay
    # the grid fee goes to the treasury, deployed after the market, BatchAuction, SolarReward, Solidarity and
    # CommunityVotes (their addresses stay what they were before the treasury)
    treasury_at = _created(chain, 5)
    market, entries["EnergyMarket"] = _deploy_one(
        chain, artifacts["EnergyMarket"], registry.address, payment.address, MARKET_DESIGNS.index(market_design),
        feed_in_price, retail_price, grid_fee, treasury_at, gate_closure_delay, settlement_window, min_order_wh)
    batch, entries["BatchAuction"] = _deploy_one(chain, artifacts["BatchAuction"], market.address)
    reward, entries["SolarReward"] = _deploy_one(chain, artifacts["SolarReward"], registry.address)
    solidarity, entries["Solidarity"] = _deploy_one(chain, artifacts["Solidarity"], registry.address, token.address,
                                                    operation.address, chain.sender, admin_delay)
    votes, treasury, governor = _deploy_governance(chain, artifacts, registry.address, governance, entries)
    if treasury.address != treasury_at:
        raise GridshareError(f"the treasury was deployed at {treasury.address}, not at {treasury_at} where the market "
                             "sends its fee (did the deploy key send another transaction meanwhile?): deploy again")
    for name, entry in entries.items():  # the ABIs as published: with the errors calls pass on
        entry["abi"] = published_abi(artifacts, name)
    manifest = {
        "chainId": chain.chain_id,
        "name": CHAIN_NAMES.get(chain.chain_id, chain.network),
        "gridshare": __version__,
        "contracts": entries,
        "enums": enums(),
        "settings": {
            "intervalSeconds": interval_seconds,
            "expiryMonths": expiry_months,
            "allocationKey": allocation_key,
            "issuingBody": issuing_body,
            "adminDelay": admin_delay,
            "operator": chain.sender,
            "compiler": compiler_version(),
            "evmVersion": SETTINGS["evmVersion"],
            "optimizerRuns": SETTINGS["optimizer"]["runs"],
            "market": {
                "design": market_design,
                "paymentToken": payment.address,
                "priceUnit": "payment-token base units per kWh",
                "retail": retail_price,
                "feedIn": feed_in_price,
                "gridFee": grid_fee,
                "gateClosureDelay": gate_closure_delay,
                "settlementWindow": settlement_window,
                "minOrderWh": min_order_wh,
            },
            "governance": {
                "votingDelay": governance.voting_delay,
                "votingPeriod": governance.voting_period,
                "quorumPercent": governance.quorum_percent,
                "timelockDelay": governance.timelock_delay,
                "voteCapWh": governance.vote_cap_wh,
                "proposalThreshold": governance.proposal_threshold,
            },
        },
    }
    community = Community(chain, manifest, registry, token, guarantees, operation, market, payment, batch, reward,
                          solidarity, votes, treasury, governor)
    community.transact(registry.functions.grantRole(ALLOCATOR_ROLE, operation.address))
    community.transact(registry.functions.grantRole(CERTIFIER_ROLE, guarantees.address))
    community.transact(registry.functions.grantRole(ESCROW_ROLE, market.address))
    community.transact(registry.functions.grantRole(ESCROW_ROLE, batch.address))  # EnergyToken.tradeToClaims
    community.transact(registry.functions.grantRole(ESCROW_ROLE, solidarity.address))  # gifts: tradeToClaims too
    community.transact(registry.functions.registerParticipant(market.address))
    if write:
        write_manifest(manifest, folder)
    return community


def _check_governance(g: Governance) -> None:
    if not 0 <= g.voting_delay < 2**48:
        raise GridshareError(f"the voting delay must be 0 to 2^48 - 1 seconds, not {g.voting_delay}")
    if not 1 <= g.voting_period < 2**32:
        raise GridshareError(f"the voting period must be 1 to 2^32 - 1 seconds, not {g.voting_period}")
    if not 1 <= g.quorum_percent <= 100:
        raise GridshareError(f"the quorum must be 1 to 100 percent of the votes, not {g.quorum_percent}")
    if not 0 <= g.timelock_delay < 2**48:
        raise GridshareError(f"the timelock delay must be 0 to 2^48 - 1 seconds, not {g.timelock_delay}")
    if not 0 <= g.vote_cap_wh < 2**64:
        raise GridshareError(f"the vote cap must be 0 to 2^64 - 1 Wh, not {g.vote_cap_wh}")
    if not 0 <= g.proposal_threshold < 2**208:
        raise GridshareError(f"the proposal threshold must be 0 to 2^208 - 1 vote units, not {g.proposal_threshold}")


def _created(chain: Chain, later: int) -> str:
    """The address of the contract the sender creates ``later`` transactions from now (CREATE: from
    its nonce), so that a contract can name one deployed after it."""
    nonce = chain.w3.eth.get_transaction_count(to_checksum_address(chain.sender), "pending") + later
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(chain.sender[2:]), nonce]))[12:])


def _deploy_governance(chain: Chain, artifacts, registry: str, g: Governance,
                       entries: dict) -> tuple[Contract, Contract, Contract]:
    """CommunityVotes, then the treasury naming as its only proposer the governor deployed right
    after it (no admin role to hand over), then the governor; their entries added to ``entries``."""
    votes, entries["CommunityVotes"] = _deploy_one(chain, artifacts["CommunityVotes"], registry, g.vote_cap_wh)
    governor_at = _created(chain, 1)
    treasury, entries["CommunityTreasury"] = _deploy_one(chain, artifacts["CommunityTreasury"], g.timelock_delay,
                                                         governor_at)
    governor, entries["CommunityGovernor"] = _deploy_one(
        chain, artifacts["CommunityGovernor"], votes.address, treasury.address, g.voting_delay, g.voting_period,
        g.proposal_threshold, g.quorum_percent)
    if governor.address != governor_at:
        raise GridshareError(f"the governor was deployed at {governor.address}, not at {governor_at} where the "
                             "treasury expects it (did the deploy key send another transaction meanwhile?): deploy "
                             "again")
    return votes, treasury, governor


def write_manifest(manifest: dict[str, Any], folder: Path | None = None) -> Path:
    """Write ``manifest`` where the commands and dApps find its chain's community
    (``deployments/<chainId>.json``, or in ``folder``)."""
    path = manifest_path(manifest["chainId"], folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def load(chain: Chain, folder: Path | None = None) -> Community:
    """The community deployed on this chain, from its manifest."""
    path = manifest_path(chain.chain_id, folder)
    if chain.network == "embedded":
        raise GridshareError(
            "the embedded chain lives only as long as one command: use --network anvil (kept between "
            "commands) or --rpc-url, or run `gridshare demo`"
        )
    if not path.exists():
        raise GridshareError(f"no deployment for chain {chain.chain_id} ({path} missing): run `gridshare deploy` first")
    manifest = read_manifest(path).data
    contracts = manifest["contracts"]
    w3 = chain.w3
    missing = [name for name in DEPLOYABLE if name not in contracts and name != "TestEuro"]
    if missing:
        raise GridshareError(f"{path} lacks {', '.join(missing)} (an older deployment?): run `gridshare deploy` again")
    community = from_manifest(chain, manifest)
    if not w3.eth.get_code(community.registry.address):
        raise GridshareError(
            f"{path} names a MeterRegistry at {community.registry.address} but chain {chain.chain_id} has no code "
            "there (a reset devnet?): run `gridshare deploy` again"
        )
    return community


def from_manifest(chain: Chain, manifest: dict[str, Any]) -> Community:
    """The community a manifest describes, on ``chain`` (nothing is checked on-chain)."""
    contracts = manifest["contracts"]
    registry, token, guarantees, operation, market, batch, reward, solidarity, votes, treasury, governor = (
        chain.w3.eth.contract(address=contracts[name]["address"], abi=contracts[name]["abi"])
        for name in DEPLOYABLE if name != "TestEuro"
    )
    payment = chain.w3.eth.contract(address=manifest["settings"]["market"]["paymentToken"],
                                    abi=_erc20_abi(contracts))
    return Community(chain, manifest, registry, token, guarantees, operation, market, payment, batch, reward,
                     solidarity, votes, treasury, governor)
