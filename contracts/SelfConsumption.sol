// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISelfConsumption} from "./interfaces/ISelfConsumption.sol";
import {CodeData} from "./libraries/CodeData.sol";

/// @title SelfConsumption: a collective self-consumption operation
/// @notice See {ISelfConsumption}. Needs the registry's `ALLOCATOR_ROLE` to settle on the token.
/// @dev Roles: `OPERATOR_ROLE` (the PMO) manages members and supplies shares for a Supplied key.
/// Producers' shares of what is given are pro rata of their export, floored, the few Wh of
/// remainder going one each to the first producers in member order that have some left
/// (`gridshare.allocation.split_pro_rata` is the same rule in Python).
///
/// Gas: sharing reads the member list from the code of a data contract (one account access, not
/// two cold slots per member), walks the readings in place in calldata (the registry has just
/// validated every field of them), and hands the token one packed settlement, built in memory as
/// the call's calldata, whose every slot the verification has just written. See docs/design.md.
contract SelfConsumption is ISelfConsumption, AccessControl {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @dev A member list of 256 records is 16 KiB of code (SSTORE2), under the 24 KiB limit; a
    /// building of 255 dwellings and its shared plant.
    uint256 public constant MAX_MEMBERS = 256;
    uint32 private constant _STILL_IN = type(uint32).max;

    /// @dev A member in the list: word 0 its meter id; word 1 its account (bits 0-159),
    /// fromInterval (bits 160-191) and untilInterval (bits 192-223).
    uint256 private constant _RECORD = 64;
    /// @dev A `SignedReading` in calldata: 9 words (meterId, intervalStart, importWh, exportWh,
    /// the two registers, v, r, s).
    uint256 private constant _READING = 288;
    /// @dev Working memory per active member of the interval being shared: account, importWh,
    /// exportWh, share (received); one word each.
    uint256 private constant _ROW = 128;
    /// @dev {IEnergyToken-settleLocal}'s layout: interval header (uint64 id, uint16 count) and
    /// entry (address, uint64 given, uint64 received), in bytes.
    uint256 private constant _HEADER = 10;
    uint256 private constant _ENTRY = 36;
    /// @dev settleLocal's calldata before the settlement: selector, offset, length.
    uint256 private constant _CALL_HEAD = 0x44;
    uint256 private constant _NOT_FOUND = type(uint256).max;
    uint256 private constant _ADDRESS = 0x00ffffffffffffffffffffffffffffffffffffffff;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    IMeterRegistry private immutable _registry;
    IEnergyToken private immutable _token;
    Key private immutable _key;
    uint64 private immutable _intervalSeconds;

    /// @dev One slot, read once per batch: the data contract holding the member list (records of
    /// `_RECORD` bytes, in member order; see {CodeData}) and the last interval shared.
    address private _memberList;
    uint64 private _lastAllocated;

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
    function join(bytes32[] calldata meterIds, uint32 fromInterval) external onlyRole(OPERATOR_ROLE) {
        _checkNotAllocated(fromInterval);
        bytes memory old = CodeData.read(_memberList);
        uint256 n = old.length / _RECORD;
        bytes memory list = new bytes((n + meterIds.length) * _RECORD);
        assembly ("memory-safe") {
            mcopy(add(list, 0x20), add(old, 0x20), mload(old))
        }
        for (uint256 q; q < meterIds.length; ++q) {
            bytes32 meterId = meterIds[q];
            if (_find(list, n, meterId) != _NOT_FOUND) revert SelfConsumptionAlreadyMember(meterId);
            if (n == MAX_MEMBERS) revert SelfConsumptionTooManyMembers(MAX_MEMBERS);
            (address account,) = _registry.meterOwner(meterId); // reverts for an unknown meter
            uint256 word = uint256(uint160(account)) | (uint256(fromInterval) << 160) | (uint256(_STILL_IN) << 192);
            assembly ("memory-safe") {
                let record := add(add(list, 0x20), mul(n, _RECORD))
                mstore(record, meterId)
                mstore(add(record, 0x20), word)
            }
            ++n;
        }
        if (meterIds.length == 0) return;
        _store(list);
        for (uint256 q; q < meterIds.length; ++q) {
            emit MemberJoined(meterIds[q], address(uint160(_recordWord(list, n - meterIds.length + q))), fromInterval);
        }
    }

    /// @inheritdoc ISelfConsumption
    function leave(bytes32 meterId, uint32 untilInterval) external onlyRole(OPERATOR_ROLE) {
        bytes memory list = CodeData.read(_memberList);
        uint256 m = _find(list, list.length / _RECORD, meterId);
        if (m == _NOT_FOUND) revert SelfConsumptionNotMember(meterId);
        _checkNotAllocated(untilInterval);
        uint256 word = (_recordWord(list, m) & ~(uint256(type(uint32).max) << 192)) | (uint256(untilInterval) << 192);
        assembly ("memory-safe") {
            mstore(add(add(list, 0x40), mul(m, _RECORD)), word)
        }
        _store(list);
        emit MemberLeft(meterId, untilInterval);
    }

    function _checkNotAllocated(uint256 intervalId) private view {
        if (intervalId <= _lastAllocated) revert SelfConsumptionIntervalAlreadyAllocated(intervalId, _lastAllocated);
    }

    function _store(bytes memory list) private {
        address pointer = CodeData.write(list);
        if (pointer == address(0)) revert SelfConsumptionMemberListNotStored(list.length / _RECORD);
        _memberList = pointer;
    }

    /// @dev The index of `meterId` among the first `n` records of `list`, or `_NOT_FOUND`.
    function _find(bytes memory list, uint256 n, bytes32 meterId) private pure returns (uint256 m) {
        for (m = 0; m < n; ++m) {
            bytes32 id;
            assembly ("memory-safe") {
                id := mload(add(add(list, 0x20), mul(m, _RECORD)))
            }
            if (id == meterId) return m;
        }
        return _NOT_FOUND;
    }

    /// @dev Word 1 of record `m`: account, fromInterval, untilInterval.
    function _recordWord(bytes memory list, uint256 m) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(list, 0x40), mul(m, _RECORD)))
        }
    }

    // ------------------------------------------------------------------------------------------
    // Sharing
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function submitAndAllocate(IMeterRegistry.SignedReading[] calldata readings) external {
        if (_key != Key.DynamicDefault) revert SelfConsumptionWrongKey(_key);
        uint64[][] calldata none;
        assembly ("memory-safe") {
            none.offset := 0
            none.length := 0
        }
        _submitAndAllocate(readings, none);
    }

    /// @inheritdoc ISelfConsumption
    function submitAndAllocateSupplied(IMeterRegistry.SignedReading[] calldata readings, uint64[][] calldata sharesWh)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (_key != Key.Supplied) revert SelfConsumptionWrongKey(_key);
        _submitAndAllocate(readings, sharesWh);
    }

    /// @dev The interval being shared, in memory.
    struct Interval {
        uint256 id;
        uint256 first; // its first reading
        uint256 next; // the first reading after it
        uint256 active; // members active in it: one reading each
        uint256 production;
        uint256 consumption;
        uint256 total; // shared
    }

    function _submitAndAllocate(IMeterRegistry.SignedReading[] calldata readings, uint64[][] calldata supplied)
        private
    {
        _verify(readings); // uses memory as scratch: the allocations below reuse it
        uint256 last = _lastAllocated;
        bytes memory list = CodeData.read(_memberList);
        uint256 rows = _allocate((list.length / _RECORD) * _ROW);
        // settleLocal's calldata, built in place: at most one header and one entry per reading,
        // and a word of slack for the last entry's writes
        uint256 buffer = _allocate(_CALL_HEAD + readings.length * (_HEADER + _ENTRY) + 0x20);
        uint256 out = buffer + _CALL_HEAD;
        Interval memory t;
        uint256 k;
        while (t.next < readings.length) {
            t.first = t.next;
            t.id = _readingWord(readings, t.first, 1) / _intervalSeconds; // aligned: the registry checked it
            if (t.id <= last) revert SelfConsumptionIntervalAlreadyAllocated(t.id, last);
            _collect(readings, list, rows, t);
            t.total = _key == Key.DynamicDefault ? _dynamicDefault(rows, t) : _supplied(readings, supplied, k, rows, t);
            out = _settlement(rows, t, out);
            // sums of at most MAX_MEMBERS readings of less than 2^32 Wh each: they fit in uint64
            emit IntervalAllocated(t.id, uint64(t.production), uint64(t.consumption), uint64(t.total));
            last = t.id;
            ++k;
        }
        if (_key == Key.Supplied && supplied.length != k) revert SelfConsumptionSharesShape(last, supplied.length, k);
        _lastAllocated = uint64(last);
        if (out != buffer + _CALL_HEAD) _settle(buffer, out - buffer - _CALL_HEAD);
    }

    /// @dev Has the registry verify the readings (reverting with its error, naming the bad one).
    /// The readings are forwarded as they arrived: `submitReadings(readings)` is this call's
    /// `readings` argument, ABI-encoded the same way, behind another selector. Built at the free
    /// memory pointer without allocating it.
    function _verify(IMeterRegistry.SignedReading[] calldata readings) private {
        address registry = address(_registry);
        bytes4 selector = IMeterRegistry.submitReadings.selector;
        assembly ("memory-safe") {
            let data := mload(0x40)
            mstore(data, selector)
            mstore(add(data, 4), 0x20) // head: the array's offset
            let size := add(0x20, mul(readings.length, _READING)) // its length word, then its readings
            calldatacopy(add(data, 0x24), sub(readings.offset, 0x20), size)
            if iszero(call(gas(), registry, 0, data, add(0x24, size), 0, 0)) {
                returndatacopy(data, 0, returndatasize())
                revert(data, returndatasize())
            }
        }
    }

    /// @dev Word `w` of reading `i` (0 meterId, 1 intervalStart, 2 importWh, 3 exportWh). The
    /// registry read and validated every field of every reading before: they are clean.
    function _readingWord(IMeterRegistry.SignedReading[] calldata readings, uint256 i, uint256 w)
        private
        pure
        returns (uint256 word)
    {
        assembly ("memory-safe") {
            word := calldataload(add(add(readings.offset, mul(i, _READING)), mul(w, 0x20)))
        }
    }

    /// @dev The readings of interval `t.id` from reading `t.first` on, one per active member in
    /// member order, into `rows` (account, importWh, exportWh); sets the active members' count,
    /// their production and consumption, and the first reading after the interval.
    function _collect(
        IMeterRegistry.SignedReading[] calldata readings,
        bytes memory list,
        uint256 rows,
        Interval memory t
    ) private pure {
        bytes4 incomplete = SelfConsumptionIncompleteInterval.selector;
        uint256 r; // the next reading
        uint256 row; // the next row
        assembly ("memory-safe") {
            let id := mload(t)
            r := add(readings.offset, mul(mload(add(t, 0x20)), _READING))
            let start := calldataload(add(r, 0x20))
            let end := add(readings.offset, mul(readings.length, _READING))
            let production := 0
            let consumption := 0
            row := rows
            let record := add(list, 0x20)
            for { let last := add(record, mload(list)) } lt(record, last) { record := add(record, _RECORD) } {
                let word := mload(add(record, 0x20))
                // active: fromInterval <= id < untilInterval
                if iszero(or(lt(id, and(shr(160, word), 0xffffffff)), iszero(lt(id, shr(192, word))))) {
                    let meterId := mload(record)
                    // the member's reading comes next (past the last reading, lt(r, end) decides)
                    if iszero(and(lt(r, end), and(eq(calldataload(r), meterId), eq(calldataload(add(r, 0x20)), start)))) {
                        let error := mload(0x40) // SelfConsumptionIncompleteInterval(id, meterId)
                        mstore(error, incomplete)
                        mstore(add(error, 4), id)
                        mstore(add(error, 0x24), meterId)
                        revert(error, 0x44)
                    }
                    let importWh := calldataload(add(r, 0x40))
                    let exportWh := calldataload(add(r, 0x60))
                    mstore(row, and(word, _ADDRESS))
                    mstore(add(row, 0x20), importWh)
                    mstore(add(row, 0x40), exportWh)
                    // at most MAX_MEMBERS readings of less than 2^64 Wh: no overflow
                    production := add(production, exportWh)
                    consumption := add(consumption, importWh)
                    row := add(row, _ROW)
                    r := add(r, _READING)
                }
            }
            mstore(add(t, 0x80), production)
            mstore(add(t, 0xa0), consumption)
        }
        uint256 next = (r - _readingOffset(readings)) / _READING;
        t.next = next;
        t.active = (row - rows) / _ROW;
        if (next < readings.length && _readingWord(readings, next, 1) == _readingWord(readings, t.first, 1)) {
            revert SelfConsumptionUnexpectedReading(t.id, bytes32(_readingWord(readings, next, 0)));
        }
    }

    function _readingOffset(IMeterRegistry.SignedReading[] calldata readings) private pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := readings.offset
        }
    }

    /// @dev Each active member's share, floor(min(P, C) * c_j / C), into `rows`; returns their sum.
    function _dynamicDefault(uint256 rows, Interval memory t) private pure returns (uint256 total) {
        uint256 consumption = t.consumption;
        uint256 shared = t.production < consumption ? t.production : consumption;
        if (shared == 0) return 0; // at night: nothing to share (the rows' shares are not read)
        uint256 end = rows + t.active * _ROW;
        assembly ("memory-safe") {
            for { let row := rows } lt(row, end) { row := add(row, _ROW) } {
                // shared < 2^72 and importWh < 2^64: no overflow; div by C = 0 gives 0 (shared = 0)
                let share := div(mul(shared, mload(add(row, 0x20))), consumption) // <= importWh
                mstore(add(row, 0x60), share)
                total := add(total, share)
            }
        }
    }

    /// @dev The operator's shares for the k-th interval of the batch, checked against the
    /// verified consumption of each member and the verified production, into `rows`.
    function _supplied(
        IMeterRegistry.SignedReading[] calldata readings,
        uint64[][] calldata supplied,
        uint256 k,
        uint256 rows,
        Interval memory t
    ) private pure returns (uint256 total) {
        if (k >= supplied.length || supplied[k].length != t.active) {
            revert SelfConsumptionSharesShape(t.id, k < supplied.length ? supplied[k].length : 0, t.active);
        }
        uint64[] calldata shares = supplied[k];
        for (uint256 j; j < shares.length; ++j) {
            uint256 share = shares[j];
            uint256 importWh;
            assembly ("memory-safe") {
                let row := add(rows, mul(j, _ROW))
                importWh := mload(add(row, 0x20))
                mstore(add(row, 0x60), share)
            }
            if (share > importWh) _refuseShare(readings, t, j, share, importWh);
            total += share;
        }
        if (total > t.production) revert SelfConsumptionSharesAboveProduction(t.id, total, t.production);
    }

    /// @dev Reverts: the j-th active member's share is above its consumption.
    function _refuseShare(
        IMeterRegistry.SignedReading[] calldata readings,
        Interval memory t,
        uint256 j,
        uint256 share,
        uint256 importWh
    ) private pure {
        // the j-th active member's reading is the interval's j-th
        bytes32 meterId = bytes32(_readingWord(readings, t.first + j, 0));
        revert SelfConsumptionShareAboveConsumption(t.id, meterId, uint64(share), uint64(importWh));
    }

    /// @dev The interval's block of the token settlement, written at `out`: what each member gives
    /// (the total pro rata of its export, floored; the remainder one Wh each to the first with
    /// some left) and receives; members that do neither are left out, and so is an interval where
    /// nothing is shared. Returns where the next block goes.
    function _settlement(uint256 rows, Interval memory t, uint256 out) private pure returns (uint256) {
        (uint256 id, uint256 total, uint256 production) = (t.id, t.total, t.production);
        if (total == 0) return out;
        uint256 end = rows + t.active * _ROW;
        // total <= production (checked for supplied shares, min(P, C) for dynamic default), so
        // production > 0 and each floor is at most the member's export
        assembly ("memory-safe") {
            let given := 0
            for { let row := rows } lt(row, end) { row := add(row, _ROW) } {
                given := add(given, div(mul(total, mload(add(row, 0x40))), production))
            }
            // flooring leaves less than one Wh per member: one each to the first with some left
            let left := sub(total, given)
            // header: id (8 bytes), then the entry count (2 bytes), written once known
            mstore(out, shl(192, id))
            let entry := add(out, _HEADER)
            for { let row := rows } lt(row, end) { row := add(row, _ROW) } {
                let exportWh := mload(add(row, 0x40))
                let gives := div(mul(total, exportWh), production)
                if and(lt(gives, exportWh), gt(left, 0)) {
                    gives := add(gives, 1)
                    left := sub(left, 1)
                }
                let gets := mload(add(row, 0x60))
                if or(gives, gets) {
                    // each write's trailing zeros are overwritten by the next
                    mstore(entry, shl(96, mload(row)))
                    mstore(add(entry, 20), shl(192, gives))
                    mstore(add(entry, 28), shl(192, gets))
                    entry := add(entry, _ENTRY)
                }
            }
            let entries := div(sub(entry, add(out, _HEADER)), _ENTRY) // <= MAX_MEMBERS
            mstore8(add(out, 8), shr(8, entries))
            mstore8(add(out, 9), entries)
            out := entry
        }
        return out;
    }

    /// @dev Calls `settleLocal` with the `length` bytes of settlement built at `buffer + _CALL_HEAD`.
    function _settle(uint256 buffer, uint256 length) private {
        address token = address(_token);
        bytes4 selector = IEnergyToken.settleLocal.selector;
        assembly ("memory-safe") {
            mstore(buffer, selector)
            mstore(add(buffer, 4), 0x20)
            mstore(add(buffer, 0x24), length)
            mstore(add(add(buffer, _CALL_HEAD), length), 0) // zero padding to a whole word
            if iszero(call(gas(), token, 0, buffer, add(_CALL_HEAD, and(add(length, 31), not(31))), 0, 0)) {
                returndatacopy(buffer, 0, returndatasize())
                revert(buffer, returndatasize())
            }
        }
    }

    function _allocate(uint256 size) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, and(add(size, 31), not(31))))
        }
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function key() external view returns (Key) {
        return _key;
    }

    /// @inheritdoc ISelfConsumption
    function members() external view returns (Member[] memory result) {
        bytes memory list = CodeData.read(_memberList);
        result = new Member[](list.length / _RECORD);
        for (uint256 m; m < result.length; ++m) {
            bytes32 meterId;
            assembly ("memory-safe") {
                meterId := mload(add(add(list, 0x20), mul(m, _RECORD)))
            }
            uint256 word = _recordWord(list, m);
            result[m] = Member(meterId, address(uint160(word)), uint32(word >> 160), uint32(word >> 192));
        }
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
