// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICommunityVotes: the members' voting weight in the community treasury's governance
/// @notice A non-transferable ERC-20 vote token (OpenZeppelin `ERC20Votes`, ERC-5805, timestamp
/// clock) whose balances follow one documented rule, computed from the community's
/// `MeterRegistry` alone:
///
///     weight(meter) = BASE_WEIGHT + min(capWh, verified export of the meter over the 365 UTC days
///                     before the day its verified readings reached)       (an active meter)
///     weight(meter) = 0                                                    (a deactivated meter)
///     votes(account) = sum of weight(meter) over the meters it owns, as last synced
///
/// where "the day its verified readings reached" is `toDay = meterState(meterId).nextIntervalStart
/// / 86400` and the export is `verifiedExportBetween(meterId, toDay - 365, toDay)`: whole UTC days
/// only, final once verified (the registry's checkpoints). Units: one token unit per Wh of
/// weight, 6 decimals, so one token, a **vote**, is 1 MWh; `BASE_WEIGHT` is one vote (every
/// registered meter, a consumer's too, votes), `capWh` (a deployment parameter, 10 MWh by default)
/// limits what production adds. `gridshare.domain.votes` is the same rule in Python.
///
/// Anyone may `sync` any meter: it brings the meter's weight to the rule's value now, minting or
/// burning the difference on the meter's owner (the registry's, which never changes). Calling it
/// early, late, twice, in any order or ahead of someone else's call changes nothing but when a
/// weight catches up with the rule: every call writes the same function of the registry's state,
/// and no caller chooses an input. Governance reads votes at a proposal's snapshot (its start), so
/// a sync after the snapshot does not change that proposal's counts; members (or anyone on their
/// behalf) sync during the voting delay.
///
/// Votes are not transferable: `transfer`, `transferFrom` and `approve` revert, and an account's
/// votes are always delegated to itself (done by its first sync, so members need no transaction
/// of their own before voting); delegating to another account reverts.
interface ICommunityVotes {
    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice The registry passed at deployment is the zero address.
    error CommunityVotesInvalidRegistry(address registry);
    /// @notice The cap must fit a meter's export (a uint64 of Wh).
    error CommunityVotesInvalidCap(uint256 capWh);
    /// @notice Votes are not transferable: a transfer of `value` from `from` to `to` was refused.
    error CommunityVotesNotTransferable(address from, address to, uint256 value);
    /// @notice Votes are not transferable, so nobody can be approved to move them.
    error CommunityVotesNoApprovals(address owner, address spender, uint256 value);
    /// @notice An account's votes stay its own: `account` tried to delegate them to `delegatee`.
    error CommunityVotesNoDelegation(address account, address delegatee);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `sync` moved a meter's weight from `previousWeight` to `weight` (token units, Wh),
    /// credited to or taken from `owner`; `exportWh` is the meter's verified export over the 365
    /// UTC days before `toDay` (uncapped; 0 for a deactivated meter). Not emitted when the weight
    /// did not change.
    event WeightSynced(
        bytes32 indexed meterId,
        address indexed owner,
        uint256 previousWeight,
        uint256 weight,
        uint256 exportWh,
        uint256 toDay
    );

    // ------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------

    /// @notice Brings `meterId`'s weight to the rule's value now (see above), minting or burning
    /// the difference on the meter's owner; its first weight delegates the owner's votes to
    /// itself. Callable by anyone, any number of times. Reverts with the registry's
    /// `MeterRegistryUnknownMeter(meterId)` for a meter never registered.
    /// @return weight the meter's weight after the call
    function sync(bytes32 meterId) external returns (uint256 weight);

    /// @notice The weight `sync` would give the meter now, with its inputs: the meter's verified
    /// export over the 365 UTC days before `toDay` (uncapped) and `toDay` itself.
    function ruleWeight(bytes32 meterId) external view returns (uint256 weight, uint256 exportWh, uint256 toDay);

    /// @notice The meter's weight as last synced (0 before its first sync).
    function meterWeight(bytes32 meterId) external view returns (uint256);

    /// @notice The weight of every active meter, whatever it produced: one vote, 1,000,000 units.
    function BASE_WEIGHT() external view returns (uint256);

    /// @notice The window of the rule, in UTC days: 365.
    function WINDOW_DAYS() external view returns (uint256);

    /// @notice The most a meter's production adds to its weight, in Wh (token units).
    function capWh() external view returns (uint256);

    /// @notice The `MeterRegistry` the rule reads.
    function registry() external view returns (address);
}
