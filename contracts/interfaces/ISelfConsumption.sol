// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMeterRegistry} from "./IMeterRegistry.sol";

/// @title ISelfConsumption: one collective self-consumption operation (French ACC)
/// @notice The operator (PMO) lists the operation's meters, each from a given interval on. A
/// relayer submits the signed readings of every member meter for whole intervals; the contract has
/// the registry verify them and, in the same transaction, shares each interval's production among
/// the members' consumption with the operation's allocation key, then settles it on the
/// `EnergyToken`: producers' crypto-kWh move to consumers and are consumed there. No consumer gets
/// more than its verified consumption; the total given never exceeds verified production; the rest
/// is surplus and stays with the producers.
/// @dev Batch layout: interval after interval, in increasing order; within an interval, one
/// reading per active member, in member order (see {members}). Sharing in the transaction that
/// verifies the readings is what makes it cheap: every storage slot it updates was just written
/// by the verification. The member list is kept as the code of a data contract (read in one
/// account access, see `libraries/CodeData.sol`), rewritten when members join or leave.
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
        uint32 fromInterval; // first interval id in the operation
        uint32 untilInterval; // first interval id after it (type(uint32).max: still in)
    }

    error SelfConsumptionInvalidAddress(address value);
    error SelfConsumptionAlreadyMember(bytes32 meterId);
    error SelfConsumptionNotMember(bytes32 meterId);
    error SelfConsumptionTooManyMembers(uint256 max);
    /// @notice The new member list (`members` members) could not be stored: the transaction ran out
    /// of gas creating its data contract.
    error SelfConsumptionMemberListNotStored(uint256 members);
    /// @notice Membership can only change for intervals after the last allocated one, and
    /// intervals are shared in increasing order: each after the last allocated one.
    error SelfConsumptionIntervalAlreadyAllocated(uint256 intervalId, uint256 lastAllocated);
    /// @notice The batch lacks the reading of an active member for that interval (or has them out
    /// of member order).
    error SelfConsumptionIncompleteInterval(uint256 intervalId, bytes32 missingMeterId);
    /// @notice A reading that is not the next expected one: not a member, or a second reading.
    error SelfConsumptionUnexpectedReading(uint256 intervalId, bytes32 meterId);
    /// @notice The function does not match the operation's allocation key.
    error SelfConsumptionWrongKey(Key key);
    /// @notice Supplied shares: one list per interval of the batch, one share per active member.
    /// `shares` were given where `members` were expected; for a batch with too many lists, the
    /// interval is the batch's last and the two numbers count lists and intervals.
    error SelfConsumptionSharesShape(uint256 intervalId, uint256 shares, uint256 members);
    /// @notice A supplied share above the member's verified consumption.
    error SelfConsumptionShareAboveConsumption(uint256 intervalId, bytes32 meterId, uint64 shareWh, uint64 consumptionWh);
    /// @notice Supplied shares adding up to more than the verified production.
    error SelfConsumptionSharesAboveProduction(uint256 intervalId, uint256 sharesWh, uint256 productionWh);

    event MemberJoined(bytes32 indexed meterId, address indexed account, uint32 fromInterval);
    event MemberLeft(bytes32 indexed meterId, uint32 untilInterval);
    /// @notice One interval shared: total verified production and consumption of the members and
    /// the energy shared locally (the rest of the production is surplus).
    event IntervalAllocated(uint256 indexed intervalId, uint64 productionWh, uint64 consumptionWh, uint64 sharedWh);

    /// @notice Adds meters, in this order, from interval `fromInterval` on (operator).
    /// Requirements: known meters, not yet members (nor twice in `meterIds`); at most
    /// `MAX_MEMBERS` in all; `fromInterval` after the last allocated interval.
    /// @dev Rewrites the member list (200 gas per byte of it, 64 bytes per member): join many
    /// meters in one call.
    function join(bytes32[] calldata meterIds, uint32 fromInterval) external;

    /// @notice Removes a member from interval `untilInterval` on (operator). Requirements: a
    /// member; `untilInterval` after the last allocated interval.
    function leave(bytes32 meterId, uint32 untilInterval) external;

    /// @notice Verifies the readings and shares each of their intervals with the dynamic default
    /// key; callable by anyone (the operation's key must be DynamicDefault).
    function submitAndAllocate(IMeterRegistry.SignedReading[] calldata readings) external;

    /// @notice Verifies the readings and shares each interval as supplied (operator; the key must
    /// be Supplied). `sharesWh[k][j]` is the share of the j-th active member in the k-th interval.
    function submitAndAllocateSupplied(IMeterRegistry.SignedReading[] calldata readings, uint64[][] calldata sharesWh)
        external;

    function key() external view returns (Key);
    function members() external view returns (Member[] memory);
    /// @notice The last interval id shared (0 before the first).
    function lastAllocated() external view returns (uint256);
    /// @notice The grid operator's (Enedis R15) quantities of `account` in `intervalId`, in Wh:
    /// as producer PROD, AUTOPROD, SURPLUS; as consumer CONS, AUTOCONS, COMPLEMENT.
    function quantities(address account, uint256 intervalId)
        external
        view
        returns (uint64 prod, uint64 autoprod, uint64 surplus, uint64 cons, uint64 autocons, uint64 complement);
}
