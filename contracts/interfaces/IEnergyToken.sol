// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @title IEnergyToken: crypto-kWh, verified local energy as an ERC-1155 token
/// @notice Token id = interval id (`intervalStart / intervalSeconds`), amounts in Wh. Tokens are
/// minted to a producer meter's owner from its verified export, exactly; they move between
/// participants by allocation or trade; a consumer redeems (burns) them against its own verified
/// import for the same interval, never more; the guarantees of origin burn a producer's unspent
/// ones into certificates. What is left after settlement is surplus.
/// @dev Conservation, per interval id: sum of balances + sum of redeemed + certified = sum of
/// verified export: one Wh, one claim (docs/protocol.md).
/// Amounts per account and interval are at most 2^32 - 1 Wh ({EnergyTokenAmountOverflow}).
interface IEnergyToken is IERC1155 {
    /// @notice Only the `MeterRegistry` credits verified energy.
    error EnergyTokenUnauthorizedRegistry(address caller);
    /// @notice Tokens only move between registered participants of the community.
    error EnergyTokenNotParticipant(address account);
    /// @notice Redeeming `amountWh` would exceed what is left of the account's verified import.
    error EnergyTokenRedeemExceedsImport(address account, uint256 intervalId, uint256 amountWh, uint256 redeemableWh);
    error EnergyTokenInvalidRegistry(address registry);
    /// @notice Only an account with the registry's `ALLOCATOR_ROLE` (a self-consumption operation
    /// the registry's admin authorised) settles local sharing.
    error EnergyTokenUnauthorizedAllocator(address caller);
    /// @notice Only an account with the registry's `CERTIFIER_ROLE` (the guarantees of origin)
    /// burns crypto-kWh into certificates.
    error EnergyTokenUnauthorizedCertifier(address caller);
    /// @notice Only an account with the registry's `ESCROW_ROLE` (a market) holds crypto-kWh in
    /// escrow.
    error EnergyTokenUnauthorizedEscrow(address caller);
    /// @notice `operation` may not settle `account`'s interval `intervalId`: only an account whose
    /// readings of that interval it verified in the same transaction, as the operation the
    /// account's meter is bound to.
    error EnergyTokenNotSettleable(address account, uint256 intervalId, address operation);
    /// @notice The account's interval was verified in this transaction through its operation,
    /// which settles it first: claim it after.
    error EnergyTokenSettlementPending(address account, uint256 intervalId);
    /// @notice A local settlement must deliver exactly what it takes.
    error EnergyTokenUnbalancedSettlement(uint256 intervalId, uint256 givenWh, uint256 receivedWh);

    /// @notice The settlement bytes run past their end: the interval header or entries starting at
    /// byte `offset` need more than the `length` bytes given (see {settleLocal} for the layout).
    error EnergyTokenSettlementTruncated(uint256 offset, uint256 length);

    /// @notice Local sharing settled for one interval. `entries` is the interval's part of the
    /// settlement, 36 bytes per account: its address (20 bytes), the Wh it gave (uint64, 8 bytes)
    /// and the Wh it received and consumed (uint64, 8 bytes), big-endian, accounts in the order of
    /// the operation's members (see {settleLocal}). What each account gave is also its
    /// `TransferSingle` burn, whose operator is the allocator.
    event SettledLocally(uint256 indexed intervalId, bytes entries);

    /// @notice `account` redeemed `amountWh` crypto-kWh of `intervalId` against its verified import
    /// ({redeem}, {redeemBatch}: one event per interval): a time-matched claim, sent by `operator`
    /// (the account or its approved operator). The burn is also a `TransferSingle` or
    /// `TransferBatch`; a batch auction's claims are in its `BatchSettled` fills instead.
    event Redeemed(address indexed account, uint256 indexed intervalId, uint256 amountWh, address operator);

    /// @notice An account's amount for one interval would pass 2^32 - 1 Wh (4.29 GWh), the most the
    /// ledger holds per account and interval.
    error EnergyTokenAmountOverflow(address account, uint256 intervalId);
    /// @notice {tradeToClaims}: what the sellers give must be what the buyers claim.
    error EnergyTokenUnbalancedTrade(uint256 intervalId, uint256 soldWh, uint256 boughtWh);

    /// @notice Called by the registry for each verified run of a meter carrying energy: for the
    /// k-th interval (id `firstIntervalId + k`), mints `exportWh[k]` tokens to `account` and adds
    /// `importWh[k]` to its verified import. The mints are one `TransferBatch` (operator: the
    /// registry) of the intervals that export. `settleable` is zero, or, when the run came from
    /// the operation the meter is bound to, `operation | fromInterval << 160 | untilInterval <<
    /// 192`: that operation may then settle the run's intervals within its binding for `account`
    /// in this transaction ({settleLocal}).
    function creditVerifiedEnergy(
        address account,
        uint256 firstIntervalId,
        uint256 settleable,
        uint32[] calldata importWh,
        uint32[] calldata exportWh
    ) external;

    /// @notice Burns `amountWh` tokens of `intervalId` held by `account` against its verified
    /// import: local energy consumed. Requirements: caller is `account` or approved for all by it;
    /// `account` holds the tokens; redeemed + amountWh <= verified import of that interval.
    /// Emits {Redeemed} and the `TransferSingle` burn.
    function redeem(address account, uint256 intervalId, uint256 amountWh) external;

    /// @notice Settles local sharing (collective self-consumption), interval by interval: burns
    /// what each account gives and records what each account receives as received locally and
    /// consumed by it, i.e. tokens move from producers to consumers and are consumed there. Only
    /// the caller's members' crypto-kWh move: an entry that gives or receives must be an account
    /// whose readings of that interval the caller verified in this same transaction, as the
    /// operation its meter is bound to ({EnergyTokenNotSettleable}); never an escrow, another
    /// operation's members, or intervals verified before.
    /// @dev Packed layout, big-endian, no padding: one block per interval,
    /// `intervalId (uint64, 8 bytes) | count (uint16, 2 bytes) | count x entry`, and
    /// `entry = account (20 bytes) | givenWh (uint64, 8 bytes) | receivedWh (uint64, 8 bytes)`.
    /// An account may appear in several entries (one per meter it owns); entries are applied in
    /// order. Emits, per interval, one `TransferSingle` burn per entry that gives, then
    /// {SettledLocally} with the interval's entries.
    /// Requirements: caller has the registry's `ALLOCATOR_ROLE`; every entry that moves energy is
    /// settleable by the caller (above); the blocks fill `settlement`
    /// exactly ({EnergyTokenSettlementTruncated}); per interval, sum given = sum received
    /// ({EnergyTokenUnbalancedSettlement}); each account holds what it gives
    /// (`ERC1155InsufficientBalance`); no account redeems beyond its verified import
    /// ({EnergyTokenRedeemExceedsImport}).
    function settleLocal(bytes calldata settlement) external;

    /// @notice Burns `account`'s unspent crypto-kWh of its own production in intervals
    /// [firstIntervalId, firstIntervalId + count): per interval {ownUnspent}, in order, until
    /// `maxWh` in all. Returns the Wh burned; emits the burns (`TransferSingle` or
    /// `TransferBatch`, operator: the caller). Requirements: caller has the registry's
    /// `CERTIFIER_ROLE` (the guarantees of origin, which issues a certificate of what it burned).
    function certify(address account, uint256 firstIntervalId, uint256 count, uint256 maxWh)
        external
        returns (uint256 burned);

    /// @notice {redeem} for several intervals at once (all or nothing): one {Redeemed} per
    /// interval, then the `TransferBatch` burn.
    function redeemBatch(address account, uint256[] calldata intervalIds, uint256[] calldata amountsWh) external;

    /// @notice Moves `amountWh` crypto-kWh of `intervalId` from `from` into the caller's escrow (an
    /// ask's energy) without changing their provenance: what `from` gets back by {release} is
    /// again its own production if it was. Emits `TransferSingle` (operator: the caller); no
    /// acceptance hook. Requirements: caller has the registry's `ESCROW_ROLE`
    /// ({EnergyTokenUnauthorizedEscrow}) and is approved for all by `from`; both participants;
    /// `from` holds the tokens.
    function escrow(address from, uint256 intervalId, uint256 amountWh) external;

    /// @notice A batch of trades of interval `intervalId` settled into claims: burns `soldWh[i]`
    /// of each `sellers[i]`'s crypto-kWh (taken from what it acquired first, then its own
    /// production: sold) and records `boughtWh[j]` as claimed by each `buyers[j]` against its
    /// verified import of the interval (a time-matched claim, as {redeem}); sold = bought.
    /// Emits a burn (`TransferSingle` to address 0, operator: the caller) per seller.
    /// Requirements: caller has `ESCROW_ROLE` (a market, which moves a seller's energy only
    /// under that seller's signed order); sellers hold the tokens; buyers' import redeemable.
    function tradeToClaims(
        uint256 intervalId,
        address[] calldata sellers,
        uint256[] calldata soldWh,
        address[] calldata buyers,
        uint256[] calldata boughtWh
    ) external;

    /// @notice Returns `amountWh` crypto-kWh of `intervalId` from the caller's escrow to `to` as they
    /// were (an ask's unsold energy, to its owner). What an escrow delivers to a buyer is a
    /// transfer, acquired by the buyer. Requirements: caller has `ESCROW_ROLE`; `to` a
    /// participant; the caller holds the tokens.
    function release(address to, uint256 intervalId, uint256 amountWh) external;

    /// @notice The `MeterRegistry` whose verified readings back this token.
    function registry() external view returns (address);
    /// @notice Verified import (consumption from the grid) of `account` in `intervalId`, in Wh.
    function verifiedImport(address account, uint256 intervalId) external view returns (uint64);
    /// @notice Verified export (production into the grid) of `account`'s meters in `intervalId`,
    /// in Wh: what was minted to it.
    function verifiedExport(address account, uint256 intervalId) external view returns (uint64);
    /// @notice Tokens of `intervalId` consumed by `account` against its verified import, in Wh:
    /// received locally (from the operation's settlements) plus claimed (redeemed by itself).
    function redeemed(address account, uint256 intervalId) external view returns (uint64);
    /// @notice What `account` may still redeem in `intervalId`: verified import minus redeemed.
    /// @dev Redeeming is refused ({EnergyTokenSettlementPending}) for an interval its operation
    /// may still settle in the current transaction.
    function redeemable(address account, uint256 intervalId) external view returns (uint64);
    /// @notice What backs a batch's orders of `intervalId`, in one call: each buyer's
    /// {redeemable} import and each seller's balance (`balanceOf`), in Wh.
    function tradeBacking(uint256 intervalId, address[] calldata buyers, address[] calldata sellers)
        external
        view
        returns (uint256[] memory redeemableWh, uint256[] memory balanceWh);
    /// @notice `account`'s own production of `intervalId` it still holds, in Wh: what a
    /// certificate may convert. Its balance minus what it acquired from others (by transfer,
    /// purchase included); what leaves an account is taken from what it acquired first.
    function ownUnspent(address account, uint256 intervalId) external view returns (uint64);
    /// @notice All of `account`'s figures for `intervalId` at once: tokens held, verified export
    /// minted to it, verified import, received locally from the operation (AUTOCONS) and claimed
    /// (redeemed by itself: time-matched claims).
    function intervalAccount(address account, uint256 intervalId)
        external
        view
        returns (uint64 balance, uint64 mintedWh, uint64 importWh, uint64 receivedLocallyWh, uint64 claimedWh);
}
