// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISolidarity: crypto-kWh given to a community's energy-poor members
/// @notice A producer or member gives crypto-kWh of an interval to the operation's energy-poor
/// members, once ({give}) or as a standing share of what it would otherwise inject ({pledge}, then
/// {distribute} for each interval the operation has shared). The operator flags the energy-poor
/// members ({setEnergyPoor}): the flag is the only personal datum on-chain, and it is public.
/// @dev One Wh, one claim: a gift burns the giver's crypto-kWh of the interval (what it acquired
/// first, then its own production: "sold" in the ledger's terms, a transfer without payment) and
/// records the same Wh as claimed by the recipients against their verified import of the interval
/// (`EnergyToken.tradeToClaims`, this contract holding the registry's `ESCROW_ROLE`): a gift never
/// exceeds what the giver holds in that interval (`ERC1155InsufficientBalance`) nor what a
/// recipient may still consume there (`EnergyTokenRedeemExceedsImport`), and it never leaves a
/// recipient tokens it cannot use.
interface ISolidarity {
    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    error SolidarityInvalidAddress(address value);
    /// @notice Only the operator (the admin) flags members.
    error SolidarityUnauthorized(address caller);
    /// @notice Only a member of the operation (owning a meter still in it) can be flagged: its
    /// needs are final once the operation has shared an interval (every member's readings are
    /// verified with the sharing), so a distribution never runs before a recipient's readings.
    error SolidarityNotMember(address account);
    /// @notice At most `max` members are flagged energy-poor at once.
    error SolidarityTooManyRecipients(uint256 max);
    /// @notice `account` is not flagged energy-poor: nothing can be given to it here.
    error SolidarityNotEnergyPoor(address account);
    /// @notice A gift or a pledge's distribution of zero Wh.
    error SolidarityNothingToGive(address giver, uint256 intervalId);
    /// @notice A pledge is a share in basis points, at most 10,000 (100 %).
    error SolidarityInvalidShare(uint256 shareBps);
    /// @notice `giver` pledged nothing.
    error SolidarityNoPledge(address giver);
    /// @notice The operation has shared intervals up to `lastAllocated`: a pledge is distributed
    /// only once its interval is shared (the members' needs are then known).
    error SolidarityNotShared(uint256 intervalId, uint256 lastAllocated);
    /// @notice The pledge of `giver` was already distributed for `intervalId`.
    error SolidarityAlreadyDistributed(address giver, uint256 intervalId);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    event EnergyPoorSet(address indexed account, bool energyPoor);
    event Pledged(address indexed giver, uint256 shareBps);
    /// @notice `amountWh` crypto-kWh of `intervalId` given by `giver` to `recipient`, consumed by it
    /// (recorded as its claim against its import). One event per recipient.
    event Given(address indexed giver, address indexed recipient, uint256 indexed intervalId, uint256 amountWh);
    /// @notice The pledge of `giver` distributed for `intervalId`: `givenWh` of its `surplusWh`
    /// (its own production still unspent then) given, at its pledged share, within the needs.
    event PledgeDistributed(address indexed giver, uint256 indexed intervalId, uint256 surplusWh, uint256 givenWh);

    // ------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------

    /// @notice Flags or unflags `account` as energy-poor (operator only; at most
    /// `MAX_RECIPIENTS` flagged at once; a member of the operation). A member that leaves the
    /// operation stays flagged until the operator unflags it (its needs then count as they stand).
    function setEnergyPoor(address account, bool energyPoor) external;

    /// @notice Gives `amountWh` of the sender's crypto-kWh of `intervalId` to the energy-poor member
    /// `recipient`, who consumes it at once (its claim). Emits {Given}.
    function give(uint256 intervalId, address recipient, uint256 amountWh) external;

    /// @notice The sender pledges `shareBps` (basis points) of its surplus of each interval
    /// distributed while the pledge stands; zero withdraws it. A pledge is a promise its giver keeps:
    /// what it sells, certifies or gives before a distribution is no longer surplus. Emits {Pledged}.
    function pledge(uint256 shareBps) external;

    /// @notice Distributes `giver`'s pledge for each of `intervalIds`, once per interval: its share
    /// of the giver's own production still unspent in the interval (`EnergyToken.ownUnspent`),
    /// at most the energy-poor members' remaining needs (`EnergyToken.redeemable`), split among
    /// them pro rata of their needs, rounded down (the Wh rounding leaves stay with the giver).
    /// Permissionless: the amounts follow from the pledge and the ledger alone, whoever calls and
    /// whenever (after the operation shared the interval); an interval where nothing is to give
    /// is marked distributed all the same. Returns the Wh given in all.
    function distribute(address giver, uint256[] calldata intervalIds) external returns (uint256 givenWh);

    function isEnergyPoor(address account) external view returns (bool);
    /// @notice The flagged members, in the order flagged (an unflagged one's place taken by the last).
    function energyPoor() external view returns (address[] memory);
    function pledgeOf(address giver) external view returns (uint256 shareBps);
    function distributed(address giver, uint256 intervalId) external view returns (bool);
}
