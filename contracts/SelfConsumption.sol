// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISelfConsumption} from "./interfaces/ISelfConsumption.sol";
import {CodeData} from "./libraries/CodeData.sol";

/// @title SelfConsumption: a collective self-consumption operation
/// @notice See {ISelfConsumption}. Needs the registry's `ALLOCATOR_ROLE` to bind its members'
/// meters and to settle on the token.
/// @dev Roles: `OPERATOR_ROLE` (the PMO) manages members and supplies shares for a Supplied key.
/// Producers' shares of what is given are pro rata of their export, floored, the few Wh of
/// remainder going one each to the first producers in member order that have some left
/// (`gridshare.allocation.split_pro_rata` is the same rule in Python).
///
/// Gas: sharing reads the member list from the code of a data contract (one account access, not
/// two cold slots per member), reads the runs' energies in place in calldata (the registry has just
/// validated every word of them), and hands the token one packed settlement per interval, built in
/// memory as the call's calldata, whose lanes the verification has just written. See docs/design.md.
contract SelfConsumption is ISelfConsumption, AccessControlDefaultAdminRules {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @dev What one transaction can verify and share in the worst case under EIP-7825's cap of
    /// 2^24 gas per transaction: every member's interval opening a group of eight lanes in all four
    /// of its figures (a prosumer importing, exporting and receiving), ~134k gas per member
    /// (benchmarks/self_consumption.py); 120 members take ~16.1M. Larger communities run several
    /// operations.
    uint256 public constant MAX_MEMBERS = 120;
    uint32 private constant _STILL_IN = type(uint32).max;

    /// @dev A member in the list: word 0 its meter id; word 1 its account (bits 0-159),
    /// fromInterval (bits 160-191) and untilInterval (bits 192-223).
    uint256 private constant _RECORD = 64;
    /// @dev Working memory per active member of the interval being shared: account, importWh,
    /// exportWh, share (received), meterId, given (if supplied); one word each.
    uint256 private constant _ROW = 192;
    /// @dev {IEnergyToken-settleLocal}'s layout: interval header (uint64 id, uint16 count) and
    /// entry (address, uint64 given, uint64 received), in bytes.
    uint256 private constant _HEADER = 10;
    uint256 private constant _ENTRY = 36;
    /// @dev settleLocal's calldata before the settlement: selector, offset, length.
    uint256 private constant _CALL_HEAD = 0x44;
    uint256 private constant _NOT_FOUND = type(uint256).max;

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
    /// @dev What each account gave in the intervals whose supplied list said so (the token keeps
    /// no given figure; other intervals' gives are recomputed, see {_given}): eight uint32 lanes
    /// a slot, by account and interval id / 8; and one bit per such interval, by id / 256.
    mapping(address account => mapping(uint256 group => uint256)) private _suppliedGiven;
    mapping(uint256 word => uint256) private _givenSuppliedIn;

    /// @param adminDelay seconds a transfer of the admin role waits between its two steps
    constructor(IMeterRegistry registry_, IEnergyToken token_, Key key_, address operator, uint48 adminDelay)
        AccessControlDefaultAdminRules(adminDelay, operator)
    {
        if (address(registry_) == address(0)) revert SelfConsumptionInvalidAddress(address(registry_));
        if (token_.registry() != address(registry_)) revert SelfConsumptionInvalidAddress(address(token_));
        _registry = registry_;
        _token = token_;
        _key = key_;
        _intervalSeconds = registry_.intervalSeconds();
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ------------------------------------------------------------------------------------------
    // Members
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISelfConsumption
    function join(bytes32[] calldata meterIds, uint256 fromInterval) external onlyRole(OPERATOR_ROLE) {
        if (fromInterval >= _STILL_IN) revert SelfConsumptionInvalidInterval(fromInterval);
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
        // nobody in the operation from the next interval to share on: start sharing at
        // `fromInterval` (the intervals before have no member to share among)
        if (_nobodyAfter(old, _lastAllocated) && fromInterval > _lastAllocated + 1) _lastAllocated = uint64(fromInterval - 1);
        _store(list);
        for (uint256 q; q < meterIds.length; ++q) {
            // from now on the meter's readings of these intervals go through this operation
            _registry.bindOperation(meterIds[q], fromInterval);
        }
        for (uint256 q; q < meterIds.length; ++q) {
            emit MemberJoined(meterIds[q], address(uint160(_recordWord(list, n - meterIds.length + q))), fromInterval);
        }
    }

    /// @inheritdoc ISelfConsumption
    function leave(bytes32 meterId, uint256 untilInterval) external onlyRole(OPERATOR_ROLE) {
        if (untilInterval >= _STILL_IN) revert SelfConsumptionInvalidInterval(untilInterval);
        bytes memory list = CodeData.read(_memberList);
        uint256 m = _find(list, list.length / _RECORD, meterId);
        if (m == _NOT_FOUND) revert SelfConsumptionNotMember(meterId);
        _checkNotAllocated(untilInterval);
        uint256 word = (_recordWord(list, m) & ~(uint256(type(uint32).max) << 192)) | (uint256(untilInterval) << 192);
        assembly ("memory-safe") {
            mstore(add(add(list, 0x40), mul(m, _RECORD)), word)
        }
        _store(list);
        _registry.unbindOperation(meterId, untilInterval);
        emit MemberLeft(meterId, untilInterval);
    }

    function _checkNotAllocated(uint256 intervalId) private view {
        if (intervalId <= _lastAllocated) revert SelfConsumptionIntervalAlreadyAllocated(intervalId, _lastAllocated);
    }

    /// @dev Whether no member of `list` is in the operation after interval `last`.
    function _nobodyAfter(bytes memory list, uint256 last) private pure returns (bool) {
        for (uint256 m; m < list.length / _RECORD; ++m) {
            uint256 word = _recordWord(list, m);
            // in after `last`: leaving later, and not a join undone (joined and left at once)
            if (uint32(word >> 192) > last + 1 && uint32(word >> 192) > uint32(word >> 160)) return false;
        }
        return true;
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
    function submitAndAllocate(IMeterRegistry.SignedReadings[] calldata runs) external {
        if (_key != Key.DynamicDefault) revert SelfConsumptionWrongKey(_key);
        uint64[][] calldata none;
        assembly ("memory-safe") {
            none.offset := 0
            none.length := 0
        }
        _submitAndAllocate(runs, none);
    }

    /// @inheritdoc ISelfConsumption
    function submitAndAllocateSupplied(IMeterRegistry.SignedReadings[] calldata runs, uint64[][] calldata sharesWh)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (_key != Key.Supplied) revert SelfConsumptionWrongKey(_key);
        _submitAndAllocate(runs, sharesWh);
    }

    /// @dev The interval being shared, in memory.
    struct Interval {
        uint256 id;
        uint256 active; // members active in it: one row each
        uint256 production;
        uint256 consumption;
        uint256 total; // shared
        bool givenSupplied; // the rows hold what each member gives (else: pro rata of export)
    }

    /// @dev A run of the batch. A member's runs follow each other in the batch (the registry has
    /// verified each starts where the previous ended); its last ends where the batch's intervals do.
    struct Run {
        bytes32 meterId;
        address account;
        uint256 fromInterval; // the member's, in the operation
        uint256 untilInterval;
        uint256 firstId; // the run's first interval id: the ones before are the meter's outage
        uint256 imports; // calldata offsets of its importWh and exportWh elements
        uint256 exports;
        uint256 endId; // the first interval id after the run
    }

    function _submitAndAllocate(IMeterRegistry.SignedReadings[] calldata runs, uint64[][] calldata supplied)
        private
    {
        _verify(); // uses memory as scratch: the allocations below reuse it
        uint256 from = uint256(_lastAllocated) + 1;
        (Run[] memory batch, uint256[] memory heads, uint256 to) = _match(runs, from);
        bool isSupplied = _key == Key.Supplied;
        if (isSupplied && supplied.length > to - from) {
            revert SelfConsumptionSharesShape(to - 1, supplied.length, to - from);
        }
        uint256 members = heads.length;
        uint256 rows = _allocate(members * _ROW);
        // settleLocal's calldata, built in place for one interval at a time: a header, at most one
        // entry per member, and a word of slack for the last entry's writes
        uint256 buffer = _allocate(_CALL_HEAD + _HEADER + members * _ENTRY + 0x20);
        Interval memory t;
        for (uint256 id = from; id < to; ++id) {
            t.id = id;
            _collect(batch, heads, rows, t);
            if (t.active == 0) {
                // nobody in the operation until the next member joins: skip to it at once (a gap
                // between members leaving and others joining costs nothing per interval)
                uint256 next = _nextJoin(batch, heads, id, to);
                for (uint256 k = id; isSupplied && k < next && k - from < supplied.length; ++k) {
                    if (supplied[k - from].length != 0) revert SelfConsumptionSharesShape(k, supplied[k - from].length, 0);
                }
                id = next - 1;
                continue;
            }
            t.givenSupplied = false;
            t.total = isSupplied ? _suppliedOrDefault(supplied, id - from, rows, t) : _dynamicDefault(rows, t);
            uint256 out = _settlement(rows, t, buffer + _CALL_HEAD);
            if (out != buffer + _CALL_HEAD) _settle(buffer, out - buffer - _CALL_HEAD);
            if (t.givenSupplied) _recordGiven(rows, t);
            // sums of at most MAX_MEMBERS readings of less than 2^32 Wh each: they fit in uint64
            emit IntervalAllocated(id, uint64(t.production), uint64(t.consumption), uint64(t.total));
        }
        _lastAllocated = uint64(to - 1);
    }

    /// @dev Has the registry verify the runs (reverting with its error, naming the bad one). This
    /// call's arguments start with the runs, ABI-encoded as `submitReadings` takes them: the
    /// calldata is forwarded as it arrived behind the registry's selector (a trailing `sharesWh`
    /// is ignored by the registry). Built at the free memory pointer without allocating it.
    function _verify() private {
        address registry = address(_registry);
        bytes4 selector = IMeterRegistry.submitReadings.selector;
        assembly ("memory-safe") {
            let data := mload(0x40)
            calldatacopy(data, 0, calldatasize())
            mstore(data, or(shr(32, shl(32, mload(data))), selector))
            if iszero(call(gas(), registry, 0, data, calldatasize(), 0, 0)) {
                returndatacopy(data, 0, returndatasize())
                revert(data, returndatasize())
            }
        }
    }

    /// @dev Matches the batch's runs to the members active in the intervals it shares, in member
    /// order: each such member's runs, one after the other, the last ending where the batch's
    /// latest run does (`to`, the first interval id after the batch) or, for a member leaving
    /// before, no earlier than it leaves. Returns the runs and, per member, the index of its first run.
    function _match(IMeterRegistry.SignedReadings[] calldata runs, uint256 from)
        private
        view
        returns (Run[] memory batch, uint256[] memory heads, uint256 to)
    {
        for (uint256 r; r < runs.length; ++r) {
            uint256 end = _runEnd(runs[r]);
            if (end > to) to = end;
        }
        to /= _intervalSeconds; // the end of the batch's latest run (the registry refused an empty batch)
        if (to <= from) revert SelfConsumptionIntervalAlreadyAllocated(to - 1, from - 1);
        bytes memory list = CodeData.read(_memberList);
        batch = new Run[](runs.length);
        heads = new uint256[](list.length / _RECORD);
        Cursor memory c = Cursor(0, 0, from, to);
        for (uint256 m; m < heads.length; ++m) _matchMember(c, batch, heads, runs, list, m);
        if (c.run != runs.length) revert SelfConsumptionUnexpectedReading(from, runs[c.run].meterId);
        uint256 h = c.head;
        assembly ("memory-safe") {
            mstore(heads, h) // the members in the batch
        }
    }

    /// @dev Where {_match} is: the next run and member head, and the batch's intervals [from, to).
    struct Cursor {
        uint256 run;
        uint256 head;
        uint256 from;
        uint256 to;
    }

    /// @dev If member `m` is active in the batch's intervals, records its runs from `c.run` on:
    /// they must be there, start no later than its first active interval and end at `c.to`.
    function _matchMember(
        Cursor memory c,
        Run[] memory batch,
        uint256[] memory heads,
        IMeterRegistry.SignedReadings[] calldata runs,
        bytes memory list,
        uint256 m
    ) private view {
        uint256 word = _recordWord(list, m);
        (uint256 fromInterval, uint256 untilInterval) = (uint32(word >> 160), uint32(word >> 192));
        if (fromInterval >= c.to || untilInterval <= c.from || untilInterval <= fromInterval) return;
        bytes32 meterId;
        assembly ("memory-safe") {
            meterId := mload(add(add(list, 0x20), mul(m, _RECORD)))
        }
        uint256 firstActive = fromInterval > c.from ? fromInterval : c.from;
        uint256 r = c.run;
        if (r == runs.length || runs[r].meterId != meterId) revert SelfConsumptionIncompleteInterval(firstActive, meterId);
        // a member's intervals are verified only here, each as it is shared: cannot happen
        if (runs[r].previousEnd > firstActive * _intervalSeconds) revert SelfConsumptionIncompleteInterval(firstActive, meterId);
        heads[c.head++] = r;
        for (; r < runs.length && runs[r].meterId == meterId; ++r) _fill(batch[r], runs[r], word);
        c.run = r;
        _checkEnd(meterId, batch[r - 1].endId, c.to, untilInterval);
    }

    /// @dev A member's last run ends at the batch's end, or, if it leaves within the batch, no
    /// earlier than when it leaves.
    function _checkEnd(bytes32 meterId, uint256 endId, uint256 to, uint256 untilInterval) private view {
        uint256 needed = untilInterval < to ? untilInterval : to;
        if (endId > to || endId < needed) {
            revert SelfConsumptionRunsNotAligned(meterId, endId * _intervalSeconds, needed * _intervalSeconds);
        }
    }

    /// @dev Records the member's run in `b` (`word`: the member's record word).
    function _fill(Run memory b, IMeterRegistry.SignedReadings calldata run, uint256 word) private view {
        b.meterId = run.meterId;
        b.account = address(uint160(word));
        b.fromInterval = uint32(word >> 160);
        b.untilInterval = uint32(word >> 192);
        b.firstId = run.firstIntervalStart / _intervalSeconds;
        b.endId = _runEnd(run) / _intervalSeconds;
        uint32[] calldata imports = run.importWh;
        uint32[] calldata exports = run.exportWh;
        assembly ("memory-safe") {
            mstore(add(b, 0xa0), imports.offset) // b.imports
            mstore(add(b, 0xc0), exports.offset) // b.exports
        }
    }

    /// @dev The first interval after `id` (and before `to`) in which a member of the batch is in
    /// the operation, or `to`.
    function _nextJoin(Run[] memory batch, uint256[] memory heads, uint256 id, uint256 to)
        private
        pure
        returns (uint256 next)
    {
        next = to;
        for (uint256 j; j < heads.length; ++j) {
            Run memory b = batch[heads[j]]; // a member's interval bounds: the same in each of its runs
            if (b.fromInterval > id && b.fromInterval < next && b.fromInterval < b.untilInterval) next = b.fromInterval;
        }
    }

    function _runEnd(IMeterRegistry.SignedReadings calldata run) private view returns (uint256) {
        return run.firstIntervalStart + run.importWh.length * _intervalSeconds;
    }

    /// @dev The active members' energy in interval `t.id` into `rows` (account, importWh,
    /// exportWh, share, meterId), in member order; an interval of a meter's outage counts zero.
    /// Sets the active members' count, production and consumption. Intervals come in increasing
    /// order: each member's head moves on to its next run once past the current one's end.
    function _collect(Run[] memory batch, uint256[] memory heads, uint256 rows, Interval memory t) private pure {
        uint256 row = rows;
        uint256 production;
        uint256 consumption;
        // Run's words: meterId 0x00, account 0x20, fromInterval 0x40, untilInterval 0x60,
        // firstId 0x80, imports 0xa0, exports 0xc0, endId 0xe0
        assembly ("memory-safe") {
            let id := mload(t)
            for { let j := 0 } lt(j, mload(heads)) { j := add(j, 1) } {
                let head := add(heads, shl(5, add(j, 1)))
                let h := mload(head)
                let b := mload(add(batch, shl(5, add(h, 1))))
                // active: fromInterval <= id < untilInterval (the same in each of its runs)
                if and(iszero(lt(id, mload(add(b, 0x40)))), lt(id, mload(add(b, 0x60)))) {
                    // the member's next run, once past the current one's end: its runs reach
                    // every interval it is active in (see {_checkEnd})
                    for {} iszero(lt(id, mload(add(b, 0xe0)))) {} {
                        h := add(h, 1)
                        b := mload(add(batch, shl(5, add(h, 1))))
                    }
                    mstore(head, h)
                    let importWh := 0
                    let exportWh := 0
                    let firstId := mload(add(b, 0x80))
                    if iszero(lt(id, firstId)) {
                        // the registry checked each element: clean uint32 words
                        let k := shl(5, sub(id, firstId))
                        importWh := calldataload(add(mload(add(b, 0xa0)), k))
                        exportWh := calldataload(add(mload(add(b, 0xc0)), k))
                    }
                    mstore(row, mload(add(b, 0x20)))
                    mstore(add(row, 0x20), importWh)
                    mstore(add(row, 0x40), exportWh)
                    mstore(add(row, 0x80), mload(b))
                    production := add(production, exportWh)
                    consumption := add(consumption, importWh)
                    row := add(row, _ROW)
                }
            }
        }
        (t.active, t.production, t.consumption) = ((row - rows) / _ROW, production, consumption);
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

    /// @dev The operator's shares for interval `t.id` (list `k` of `supplied`) into `rows` if they
    /// are valid; else the default key's, and {DefaultKeyApplied} names the fault.
    function _suppliedOrDefault(uint64[][] calldata supplied, uint256 k, uint256 rows, Interval memory t)
        private
        returns (uint256 total)
    {
        uint256 fault = k < supplied.length ? _supplied(supplied[k], rows, t) : 1 + uint256(KeyFault.Missing);
        if (fault == 0) return t.total;
        emit DefaultKeyApplied(t.id, KeyFault(fault - 1));
        return _dynamicDefault(rows, t);
    }

    /// @dev Checks the operator's shares for interval `t.id` against the verified consumption of
    /// each active member and the verified production, writing them into `rows` and their sum
    /// into `t.total`; with what each gives too (a list of twice the active members), checks each
    /// against the member's export and their sum against the shares', and sets `t.givenSupplied`.
    /// Returns 0 if they are valid, else 1 + the {KeyFault}.
    function _supplied(uint64[] calldata shares, uint256 rows, Interval memory t) private pure returns (uint256) {
        uint256 active = t.active;
        if (shares.length == 0) return 1 + uint256(KeyFault.Missing);
        if (shares.length != active && shares.length != 2 * active) return 1 + uint256(KeyFault.WrongLength);
        uint256 total;
        for (uint256 j; j < active; ++j) {
            uint256 share = shares[j];
            uint256 importWh;
            assembly ("memory-safe") {
                let row := add(rows, mul(j, _ROW))
                importWh := mload(add(row, 0x20))
                mstore(add(row, 0x60), share)
            }
            if (share > importWh) return 1 + uint256(KeyFault.AboveConsumption);
            total += share;
        }
        if (total > t.production) return 1 + uint256(KeyFault.AboveProduction);
        if (shares.length != active) {
            uint256 given;
            for (uint256 j; j < active; ++j) {
                uint256 gives = shares[active + j];
                uint256 exportWh;
                assembly ("memory-safe") {
                    let row := add(rows, mul(j, _ROW))
                    exportWh := mload(add(row, 0x40))
                    mstore(add(row, 0xa0), gives)
                }
                if (gives > exportWh) return 1 + uint256(KeyFault.GivenAboveExport);
                given += gives;
            }
            if (given != total) return 1 + uint256(KeyFault.Unbalanced);
            t.givenSupplied = true;
        }
        t.total = total;
        return 0;
    }

    /// @dev Keeps what each member gave in interval `t.id`, whose supplied list said so, for
    /// {quantities} (only with such lists: ~2.8k gas per giving member and interval).
    function _recordGiven(uint256 rows, Interval memory t) private {
        uint256 id = t.id;
        _givenSuppliedIn[id >> 8] |= 1 << (id & 255);
        uint256 shift = (id & 7) << 5;
        for (uint256 j; j < t.active; ++j) {
            (address account, uint256 gives) = _rowGiven(rows, j);
            // one exporting meter per account: a lane holds one member's gives (< 2^32 Wh)
            if (gives != 0) _suppliedGiven[account][id >> 3] += gives << shift;
        }
    }

    function _rowGiven(uint256 rows, uint256 j) private pure returns (address account, uint256 gives) {
        assembly ("memory-safe") {
            let row := add(rows, mul(j, _ROW))
            account := mload(row)
            gives := mload(add(row, 0xa0))
        }
    }

    /// @dev The interval's block of the token settlement, written at `out`: what each member gives
    /// (as supplied, else the total pro rata of its export, floored, the remainder one Wh each to
    /// the first with some left) and receives; members that do neither are left out, and so is an
    /// interval where nothing is shared. Returns where the next block goes.
    function _settlement(uint256 rows, Interval memory t, uint256 out) private pure returns (uint256) {
        (uint256 id, uint256 total, uint256 production) = (t.id, t.total, t.production);
        if (total == 0) return out;
        uint256 end = rows + t.active * _ROW;
        bool givenSupplied = t.givenSupplied;
        // total <= production (checked for supplied shares, min(P, C) for dynamic default), so
        // production > 0 and each floor is at most the member's export
        assembly ("memory-safe") {
            let left := 0
            if iszero(givenSupplied) {
                let given := 0
                for { let row := rows } lt(row, end) { row := add(row, _ROW) } {
                    given := add(given, div(mul(total, mload(add(row, 0x40))), production))
                }
                // flooring leaves less than one Wh per member: one each to the first with some left
                left := sub(total, given)
            }
            // header: id (8 bytes), then the entry count (2 bytes), written once known
            mstore(out, shl(192, id))
            let entry := add(out, _HEADER)
            for { let row := rows } lt(row, end) { row := add(row, _ROW) } {
                let gives := 0
                switch givenSupplied
                case 0 {
                    let exportWh := mload(add(row, 0x40))
                    gives := div(mul(total, exportWh), production)
                    if and(lt(gives, exportWh), gt(left, 0)) {
                        gives := add(gives, 1)
                        left := sub(left, 1)
                    }
                }
                default { gives := mload(add(row, 0xa0)) }
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
        (, uint64 minted, uint64 imported, uint64 received,) = _token.intervalAccount(account, intervalId);
        autoprod = (_givenSuppliedIn[intervalId >> 8] >> (intervalId & 255)) & 1 == 1
            ? uint64(uint32(_suppliedGiven[account][intervalId >> 3] >> ((intervalId & 7) << 5)))
            : _given(account, intervalId);
        return (minted, autoprod, minted - autoprod, imported, received, imported - received);
    }

    /// @dev What `account` gave in interval `id`, as {_settlement} split it when the gives were
    /// not supplied: the interval's total
    /// received by the active members (their tokens' received-locally figures), given by them
    /// pro rata of their export in member order (a member's export: its owner's minted crypto-kWh
    /// if the meter exports, the registry keeping one exporting meter per account).
    function _given(address account, uint256 id) private view returns (uint64 mine) {
        bytes memory list = CodeData.read(_memberList);
        uint256 n = list.length / _RECORD;
        uint256[] memory exports = new uint256[](n);
        address[] memory accounts = new address[](n);
        uint256 production;
        uint256 total;
        for (uint256 m; m < n; ++m) {
            (address member, uint256 exportWh, uint256 receivedWh) = _activeMember(list, m, id);
            if (member == address(0)) continue;
            exports[m] = exportWh;
            production += exportWh;
            bool counted;
            for (uint256 k; k < m && !counted; ++k) counted = accounts[k] == member;
            if (!counted) total += receivedWh;
            accounts[m] = member;
        }
        if (total == 0 || production == 0) return 0;
        uint256 given;
        for (uint256 m; m < n; ++m) given += total * exports[m] / production;
        uint256 left = total - given;
        for (uint256 m; m < n; ++m) {
            uint256 gives = total * exports[m] / production;
            if (gives < exports[m] && left > 0) {
                ++gives;
                --left;
            }
            if (accounts[m] == account) mine += uint64(gives);
        }
    }

    /// @dev Member `m` of `list` if active in interval `id` (else the zero address): its account,
    /// its export (its owner's minted crypto-kWh, zero for a consumer meter) and what its account
    /// received locally.
    function _activeMember(bytes memory list, uint256 m, uint256 id)
        private
        view
        returns (address member, uint256 exportWh, uint256 receivedWh)
    {
        uint256 word = _recordWord(list, m);
        if (id < uint32(word >> 160) || id >= uint32(word >> 192)) return (address(0), 0, 0);
        member = address(uint160(word));
        bytes32 meterId;
        assembly ("memory-safe") {
            meterId := mload(add(add(list, 0x20), mul(m, _RECORD)))
        }
        uint64 mintedWh;
        uint64 received;
        (, mintedWh,, received,) = _token.intervalAccount(member, id);
        if (_registry.meter(meterId).kind != IMeterRegistry.MeterKind.Consumer) exportWh = mintedWh;
        receivedWh = received;
    }
}
