// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMeterRegistry} from "./IMeterRegistry.sol";

/// @title ISelfConsumption: one collective self-consumption operation (French ACC)
/// @notice The operator (PMO) lists the operation's meters, each from a given interval on; the
/// registry then accepts those meters' readings of those intervals only through this operation. A
/// relayer submits the signed runs of every member meter for the same intervals; the contract has
/// the registry verify them and, in the same transaction, shares each interval's production among
/// the members' consumption with the operation's allocation key, then settles it on the
/// `EnergyToken`: producers' crypto-kWh move to consumers and are consumed there. No consumer gets
/// more than its verified consumption; the total given never exceeds verified production; the rest
/// is surplus and stays with the producers. Intervals are shared in order, each exactly once, as
/// their readings are verified: no member's interval is verified and left unshared.
/// @dev Batch layout: one run per member active in any of the intervals shared, in member order
/// (see {members}), each starting where its meter's verified readings end and all ending at the
/// same interval (a member leaving within the batch: at or after it leaves); the batch shares every interval from `lastAllocated() + 1` to that end (an
/// interval of a member's signed outage counts zero for it). Sharing in the transaction that
/// verifies the readings is what makes it cheap: every storage slot it updates was just written by
/// the verification. The member list is kept as the code of a data contract (read in one account
/// access, see `libraries/CodeData.sol`), rewritten when members join or leave.
interface ISelfConsumption {
    /// @notice DynamicDefault: production shared pro rata of consumption, computed on-chain.
    /// Supplied: the operator supplies each consumer's share per interval (static, dynamic simple
    /// or complete, or priority keys computed off-chain by gridshare.allocation); the contract
    /// enforces the bounds.
    enum Key {
        DynamicDefault,
        Supplied
    }

    struct Member {
        bytes32 meterId;
        address account; // the meter's owner
        uint256 fromInterval; // first interval id in the operation
        uint256 untilInterval; // first interval id after it (2^32 - 1: still in)
    }

    error SelfConsumptionInvalidAddress(address value);
    error SelfConsumptionAlreadyMember(bytes32 meterId);
    error SelfConsumptionNotMember(bytes32 meterId);
    /// @notice Interval ids of membership are below 2^32 - 1 (which stands for "still in").
    error SelfConsumptionInvalidInterval(uint256 intervalId);
    error SelfConsumptionTooManyMembers(uint256 max);
    /// @notice The new member list (`members` members) could not be stored: the transaction ran out
    /// of gas creating its data contract.
    error SelfConsumptionMemberListNotStored(uint256 members);
    /// @notice Membership can only change for intervals after the last allocated one, and
    /// intervals are shared in increasing order: each after the last allocated one.
    error SelfConsumptionIntervalAlreadyAllocated(uint256 intervalId, uint256 lastAllocated);
    /// @notice The batch lacks the run of a member active in interval `intervalId` (or has the
    /// runs out of member order).
    error SelfConsumptionIncompleteInterval(uint256 intervalId, bytes32 missingMeterId);
    /// @notice A run that is not the next expected one: not a member active in the batch's
    /// intervals, or a second run of the same meter.
    error SelfConsumptionUnexpectedReading(uint256 intervalId, bytes32 meterId);
    /// @notice A member's last run in a batch ends where the batch's latest run does (a member
    /// leaving within the batch: no earlier than it leaves, `expectedEnd`); this one ends at `end`.
    error SelfConsumptionRunsNotAligned(bytes32 meterId, uint256 end, uint256 expectedEnd);
    /// @notice The function does not match the operation's allocation key.
    error SelfConsumptionWrongKey(Key key);
    /// @notice Supplied shares: at most one list per interval of the batch (every interval from
    /// `lastAllocated() + 1` to the runs' end), and an empty one for an interval with nobody in the
    /// operation. `shares` were given where `members` were expected; for a batch with too many
    /// lists, the interval is the batch's last and the two numbers count lists and intervals.
    error SelfConsumptionSharesShape(uint256 intervalId, uint256 shares, uint256 members);

    /// @notice Why the operation's supplied key was not applied to an interval: its list is missing
    /// (empty, or the batch's lists end before it), has another length than the members active in
    /// it, gives a member more than its verified consumption, or adds up to more than the
    /// verified production.
    enum KeyFault {
        Missing,
        WrongLength,
        AboveConsumption,
        AboveProduction,
        GivenAboveExport,
        Unbalanced
    }
    event MemberJoined(bytes32 indexed meterId, address indexed account, uint256 fromInterval);
    event MemberLeft(bytes32 indexed meterId, uint256 untilInterval);
    /// @notice One interval shared: total verified production and consumption of the members and
    /// the energy shared locally (the rest of the production is surplus).
    event IntervalAllocated(uint256 indexed intervalId, uint64 productionWh, uint64 consumptionWh, uint64 sharedWh);
    /// @notice The supplied key of interval `intervalId` was missing or invalid (`fault`): the
    /// interval was shared with the default key (pro rata of consumption), as the grid operator
    /// does. Emitted before the interval's `IntervalAllocated`.
    event DefaultKeyApplied(uint256 indexed intervalId, KeyFault fault);

    /// @notice Adds meters, in this order, from interval `fromInterval` on (operator), and binds
    /// their readings from then on to this operation in the registry.
    /// Requirements: known meters, not yet members (nor twice in `meterIds`); at most
    /// `MAX_MEMBERS` in all; `fromInterval` after the last allocated interval; no reading of the
    /// meters verified from `fromInterval` on; this contract holds the registry's `ALLOCATOR_ROLE`.
    /// When no member is in the operation after the last allocated interval, sharing starts at
    /// `fromInterval` (`lastAllocated` becomes `fromInterval - 1`).
    /// @dev Rewrites the member list (200 gas per byte of it, 64 bytes per member): join many
    /// meters in one call.
    function join(bytes32[] calldata meterIds, uint256 fromInterval) external;

    /// @notice Removes a member from interval `untilInterval` on (operator); its readings from
    /// then on are free of the operation. Requirements: a member; `untilInterval` after the last
    /// allocated interval and not before its `fromInterval`.
    function leave(bytes32 meterId, uint256 untilInterval) external;

    /// @notice Verifies the runs and shares each of their intervals with the dynamic default key;
    /// callable by anyone (the operation's key must be DynamicDefault).
    function submitAndAllocate(IMeterRegistry.SignedReadings[] calldata runs) external;

    /// @notice Verifies the runs and shares each interval as supplied (operator; the key must be
    /// Supplied). `sharesWh[k][j]` is the share (received) of the j-th of the `a` members active
    /// in the k-th interval from `lastAllocated() + 1`; the producers then give their total pro
    /// rata of their export. A list of `2a` also says what each gives: `sharesWh[k][a + j]` (a key
    /// per producer-consumer pair, whose producers give unequal parts: dynamic complete). An
    /// interval whose list is missing or invalid is shared with the default key instead
    /// ({DefaultKeyApplied}): allocation never stops on a bad key.
    function submitAndAllocateSupplied(IMeterRegistry.SignedReadings[] calldata runs, uint64[][] calldata sharesWh)
        external;

    function key() external view returns (Key);
    function members() external view returns (Member[] memory);
    /// @notice The last interval id shared (0 before the first).
    function lastAllocated() external view returns (uint256);
    /// @notice The grid operator's (Enedis R15) quantities of `account` in `intervalId`, in Wh,
    /// from the operation's sharing alone (market trades, escrows and claims do not count): as
    /// producer PROD (verified export), AUTOPROD (given by the operation's settlement), SURPLUS;
    /// as consumer CONS (verified import), AUTOCONS (received from the settlement), COMPLEMENT.
    function quantities(address account, uint256 intervalId)
        external
        view
        returns (uint64 prod, uint64 autoprod, uint64 surplus, uint64 cons, uint64 autocons, uint64 complement);
}
