// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISelfConsumption} from "./interfaces/ISelfConsumption.sol";

/// @title SelfConsumption: a collective self-consumption operation
/// @notice See {ISelfConsumption}. Needs the registry's `ALLOCATOR_ROLE` to settle on the token.
/// @dev Roles: `OPERATOR_ROLE` (the PMO) manages members and supplies shares for a Supplied key.
/// Producers' shares of what is given are pro rata of their export, floored, the few Wh of
/// remainder going one each to the first producers in member order that have some left
/// (`gridshare.allocation.split_pro_rata` is the same rule in Python).
contract SelfConsumption is ISelfConsumption, AccessControl {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    uint256 public constant MAX_MEMBERS = 200;
    uint32 private constant _STILL_IN = type(uint32).max;

    IMeterRegistry private immutable _registry;
    IEnergyToken private immutable _token;
    Key private immutable _key;
    uint64 private immutable _intervalSeconds;

    Member[] private _members;
    mapping(bytes32 meterId => uint256) private _indexPlusOne;
    uint256 private _lastAllocated;

    /// @dev One interval being shared, in memory.
    struct Interval {
        uint256 id;
        uint256 count; // active members
        uint256[] member; // index into _members
        uint64[] importWh;
        uint64[] exportWh;
        uint256 production;
        uint256 consumption;
    }

    constructor(IMeterRegistry registry_, IEnergyToken token_, Key key_, address operator) {
        if (address(registry_) == address(0)) revert SelfConsumptionInvalidAddress(address(registry_));
        if (token_.registry() != address(registry_)) revert SelfConsumptionInvalidAddress(address(token_));
        _registry = registry_;
        _token = token_;
        _key = key_;
        _intervalSeconds = registry_.intervalSeconds();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ------------------------------------------------------------------------------------------
    // Members
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function join(bytes32 meterId, uint32 fromInterval) external onlyRole(OPERATOR_ROLE) {
        if (_indexPlusOne[meterId] != 0) revert SelfConsumptionAlreadyMember(meterId);
        if (_members.length == MAX_MEMBERS) revert SelfConsumptionTooManyMembers(MAX_MEMBERS);
        _checkNotAllocated(fromInterval);
        (address account,) = _registry.meterOwner(meterId); // reverts for an unknown meter
        _members.push(Member(meterId, account, fromInterval, _STILL_IN));
        _indexPlusOne[meterId] = _members.length;
        emit MemberJoined(meterId, account, fromInterval);
    }

    /// @inheritdoc ISelfConsumption
    function leave(bytes32 meterId, uint32 untilInterval) external onlyRole(OPERATOR_ROLE) {
        uint256 index = _indexPlusOne[meterId];
        if (index == 0) revert SelfConsumptionNotMember(meterId);
        _checkNotAllocated(untilInterval);
        _members[index - 1].untilInterval = untilInterval;
        emit MemberLeft(meterId, untilInterval);
    }

    function _checkNotAllocated(uint256 intervalId) private view {
        if (intervalId <= _lastAllocated) revert SelfConsumptionIntervalAlreadyAllocated(intervalId, _lastAllocated);
    }

    // ------------------------------------------------------------------------------------------
    // Sharing
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function submitAndAllocate(IMeterRegistry.SignedReading[] calldata readings) external {
        if (_key != Key.DynamicDefault) revert SelfConsumptionWrongKey(_key);
        _submitAndAllocate(readings, new uint64[][](0));
    }

    /// @inheritdoc ISelfConsumption
    function submitAndAllocateSupplied(IMeterRegistry.SignedReading[] calldata readings, uint64[][] calldata sharesWh)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (_key != Key.Supplied) revert SelfConsumptionWrongKey(_key);
        _submitAndAllocate(readings, sharesWh);
    }

    function _submitAndAllocate(IMeterRegistry.SignedReading[] calldata readings, uint64[][] memory supplied) private {
        _verify(readings);
        Member[] memory ms = _members;
        uint256 n = readings.length;
        // an upper bound of the intervals in the batch: at least one reading each
        IEnergyToken.LocalSettlement[] memory settlements = new IEnergyToken.LocalSettlement[](n);
        uint256 k;
        uint256 i;
        while (i < n) {
            Interval memory t;
            (t, i) = _collect(readings, i, ms);
            uint64[] memory shares = _key == Key.DynamicDefault ? _dynamicDefault(t) : _supplied(t, supplied, k, ms);
            settlements[k++] = _settlement(t, shares, ms);
            _lastAllocated = t.id;
        }
        assembly ("memory-safe") {
            mstore(settlements, k) // k <= n: shrink to the intervals found
        }
        if (supplied.length != 0 && supplied.length != k) {
            revert SelfConsumptionSharesShape(_lastAllocated, supplied.length, k);
        }
        _token.settleLocal(settlements);
    }

    /// @dev Has the registry verify the readings (reverting with its error, naming the bad one).
    /// The readings are forwarded as they arrived: `submitReadings(readings)` is this call's
    /// `readings` argument, ABI-encoded the same way, behind another selector; copying those bytes
    /// costs far less than encoding the array again.
    function _verify(IMeterRegistry.SignedReading[] calldata readings) private {
        uint256 start;
        uint256 end;
        assembly ("memory-safe") {
            start := sub(readings.offset, 0x20) // the array's length word
            end := add(readings.offset, mul(readings.length, 288)) // 9 static words per reading
        }
        // head: one offset word (0x20), then the array as in this call's calldata
        bytes memory data =
            abi.encodePacked(IMeterRegistry.submitReadings.selector, uint256(0x20), msg.data[start:end]);
        (bool ok, bytes memory reason) = address(_registry).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }

    /// @dev The readings of one interval from `i` on: one per active member, in member order.
    function _collect(IMeterRegistry.SignedReading[] calldata readings, uint256 i, Member[] memory ms)
        private
        view
        returns (Interval memory t, uint256 next)
    {
        uint64 start = readings[i].intervalStart;
        t.id = start / _intervalSeconds; // aligned: the registry checked it
        t.member = new uint256[](ms.length);
        t.importWh = new uint64[](ms.length);
        t.exportWh = new uint64[](ms.length);
        for (uint256 m; m < ms.length; ++m) {
            if (t.id < ms[m].fromInterval || t.id >= ms[m].untilInterval) continue;
            if (i == readings.length || readings[i].intervalStart != start || readings[i].meterId != ms[m].meterId) {
                revert SelfConsumptionIncompleteInterval(t.id, ms[m].meterId);
            }
            (t.member[t.count], t.importWh[t.count], t.exportWh[t.count]) = (m, readings[i].importWh, readings[i].exportWh);
            t.production += readings[i].exportWh;
            t.consumption += readings[i].importWh;
            ++t.count;
            ++i;
        }
        if (i < readings.length && readings[i].intervalStart == start) {
            revert SelfConsumptionUnexpectedReading(t.id, readings[i].meterId);
        }
        next = i;
    }

    /// @dev Each member's share: floor(min(P, C) * c_j / C).
    function _dynamicDefault(Interval memory t) private pure returns (uint64[] memory shares) {
        shares = new uint64[](t.count);
        if (t.consumption == 0) return shares;
        uint256 shared = t.production < t.consumption ? t.production : t.consumption;
        for (uint256 j; j < t.count; ++j) {
            shares[j] = uint64(shared * t.importWh[j] / t.consumption); // <= importWh[j]
        }
    }

    function _supplied(Interval memory t, uint64[][] memory supplied, uint256 k, Member[] memory ms)
        private
        pure
        returns (uint64[] memory shares)
    {
        if (k >= supplied.length || supplied[k].length != t.count) {
            revert SelfConsumptionSharesShape(t.id, k < supplied.length ? supplied[k].length : 0, t.count);
        }
        shares = supplied[k];
        uint256 total;
        for (uint256 j; j < t.count; ++j) {
            if (shares[j] > t.importWh[j]) {
                revert SelfConsumptionShareAboveConsumption(t.id, ms[t.member[j]].meterId, shares[j], t.importWh[j]);
            }
            total += shares[j];
        }
        if (total > t.production) revert SelfConsumptionSharesAboveProduction(t.id, total, t.production);
    }

    /// @dev The token settlement: consumers receive their shares; producers give the total pro
    /// rata of their export (floored; the remainder one Wh each to the first with some left).
    function _settlement(Interval memory t, uint64[] memory shares, Member[] memory ms)
        private
        returns (IEnergyToken.LocalSettlement memory s)
    {
        uint256 total;
        for (uint256 j; j < t.count; ++j) {
            total += shares[j];
        }
        s.intervalId = uint64(t.id);
        s.producers = new address[](t.count);
        s.givenWh = new uint64[](t.count);
        s.consumers = new address[](t.count);
        s.receivedWh = shares;
        uint256 given;
        for (uint256 j; j < t.count; ++j) {
            address account = ms[t.member[j]].account;
            (s.producers[j], s.consumers[j]) = (account, account);
            if (total != 0) {
                // total <= production: the share is at most the export
                s.givenWh[j] = uint64(total * t.exportWh[j] / t.production);
                given += s.givenWh[j];
            }
        }
        for (uint256 j; given < total && j < t.count; ++j) {
            if (s.givenWh[j] < t.exportWh[j]) {
                ++s.givenWh[j];
                ++given;
            }
        }
        emit IntervalAllocated(t.id, uint64(t.production), uint64(t.consumption), uint64(total));
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function key() external view returns (Key) {
        return _key;
    }

    /// @inheritdoc ISelfConsumption
    function members() external view returns (Member[] memory) {
        return _members;
    }

    /// @inheritdoc ISelfConsumption
    function lastAllocated() external view returns (uint256) {
        return _lastAllocated;
    }

    /// @inheritdoc ISelfConsumption
    function quantities(address account, uint256 intervalId)
        external
        view
        returns (uint64 prod, uint64 autoprod, uint64 surplus, uint64 cons, uint64 autocons, uint64 complement)
    {
        (uint64 balance, uint64 minted, uint64 imported, uint64 redeemed) = _token.intervalAccount(account, intervalId);
        // tokens it still holds are its surplus; what left it of its own production went locally
        surplus = balance < minted ? balance : minted;
        return (minted, minted - surplus, surplus, imported, redeemed, imported - redeemed);
    }
}
