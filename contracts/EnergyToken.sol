// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title EnergyToken: crypto-kWh
/// @notice ERC-1155 whose token id is the interval id and whose amounts are Wh of verified local
/// energy. See {IEnergyToken}.
/// @dev Supply only enters through {creditVerifiedEnergy} (called by the registry for verified
/// export) and only leaves through {redeem} and {settleLocal} (bounded by verified import) and
/// {certify} (into guarantees of origin), so, per interval id, balances + redeemed + certified =
/// verified export by construction: one Wh, one claim. Minting skips the
/// ERC-1155 acceptance hook on purpose: verified energy belongs to the meter owner whatever its
/// code, and no external code runs inside the registry's reading loop.
///
/// Storage, laid out for gas: an account's figures (balance, verified export minted to it,
/// verified import, received locally, claimed, acquired) are uint32 Wh "lanes", eight consecutive intervals of one figure per
/// slot (interval id `8g + l` in lane `l` of group `g`). A meter's day of readings then writes 12
/// fresh slots per figure rather than 96, and sharing updates slots the verification has just
/// written. OpenZeppelin's own `_balances` mapping is not used: {balanceOf} and {_update} read and
/// write the balance lanes.
contract EnergyToken is ERC1155, IEnergyToken {
    /// @notice The registry role that lets a self-consumption operation settle local sharing.
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");
    /// @notice The registry role that lets the guarantees of origin burn unspent crypto-kWh.
    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER_ROLE");
    /// @notice The registry role that lets a market hold asks' crypto-kWh in escrow and return
    /// them to their owner as they were ({escrow}, {release}).
    bytes32 public constant ESCROW_ROLE = keccak256("ESCROW_ROLE");

    /// @dev The figures, each a field of the lanes' key: `(id >> 3) << 3 | field`. Received
    /// locally: what the operation's settlements gave the account and it consumed (AUTOCONS);
    /// claimed: what it redeemed itself (time-matched claims of crypto-kWh it acquired);
    /// acquired: crypto-kWh of others' production it holds (see {_update}): its own production
    /// left unspent is `balance - acquired`.
    uint256 private constant _BALANCE = 0;
    uint256 private constant _MINTED = 1;
    uint256 private constant _IMPORTED = 2;
    uint256 private constant _RECEIVED = 3;
    uint256 private constant _CLAIMED = 4;
    uint256 private constant _ACQUIRED = 5;
    uint256 private constant _LANE = 0xffffffff;
    /// @dev The even lanes of a slot, and the carry bit above each (see {_addLanes}).
    uint256 private constant _EVEN = 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff;
    uint256 private constant _CARRIES = 0x0000000100000000000000010000000000000001000000000000000100000000;

    /// @dev {settleLocal}'s packed layout: an interval's header (uint64 id, uint16 count) and entry
    /// (address, uint64 given, uint64 received), in bytes.
    uint256 private constant _HEADER = 10;
    uint256 private constant _ENTRY = 36;

    IMeterRegistry private immutable _registry;
    mapping(address account => mapping(uint256 key => uint256 lanes)) private _lanes;

    /// @param registry_ the deployment's `MeterRegistry`
    /// @param uri_ ERC-1155 metadata URI (may be empty; `{id}` is the interval id in hex)
    constructor(IMeterRegistry registry_, string memory uri_) ERC1155(uri_) {
        if (address(registry_) == address(0)) revert EnergyTokenInvalidRegistry(address(registry_));
        _registry = registry_;
    }

    // ------------------------------------------------------------------------------------------
    // Lanes
    // ------------------------------------------------------------------------------------------

    function _key(uint256 id, uint256 field) private pure returns (uint256) {
        return ((id >> 3) << 3) | field;
    }

    function _get(address account, uint256 id, uint256 field) private view returns (uint256) {
        return _lane(_lanes[account][_key(id, field)], id);
    }

    /// @dev Interval `id`'s lane of a slot's `word`.
    function _lane(uint256 word, uint256 id) private pure returns (uint256) {
        return (word >> ((id & 7) << 5)) & _LANE;
    }

    /// @dev Sets one lane (`value` < 2^32: checked by the callers).
    function _set(address account, uint256 id, uint256 field, uint256 value) private {
        uint256 shift = (id & 7) << 5;
        mapping(uint256 => uint256) storage lanes = _lanes[account];
        uint256 key = _key(id, field);
        lanes[key] = (lanes[key] & ~(_LANE << shift)) | (value << shift);
    }

    function _add(address account, uint256 id, uint256 field, uint256 value) private {
        uint256 sum = _get(account, id, field) + value;
        if (sum > _LANE) revert EnergyTokenAmountOverflow(account, id);
        _set(account, id, field, sum);
    }

    /// @dev The slot of `account`'s lanes mapping: `_lanes[account]`.
    function _base(address account) private pure returns (uint256 base) {
        assembly ("memory-safe") {
            mstore(0, account)
            mstore(0x20, _lanes.slot)
            base := keccak256(0, 0x40)
        }
    }

    // ------------------------------------------------------------------------------------------
    // Verified energy
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEnergyToken
    /// @dev The registry has checked every word of both arrays is a clean uint32 and that they
    /// have the same length: they are read raw. A run of a meter usually fills whole groups of
    /// eight lanes, each slot written once.
    function creditVerifiedEnergy(
        address account,
        uint256 firstIntervalId,
        uint256 settleable,
        uint32[] calldata importWh,
        uint32[] calldata exportWh
    ) external {
        if (msg.sender != address(_registry)) revert EnergyTokenUnauthorizedRegistry(msg.sender);
        if (settleable != 0) _allowSettlement(account, settleable, firstIntervalId, firstIntervalId + importWh.length);
        uint256 imports;
        uint256 exports;
        assembly ("memory-safe") {
            imports := importWh.offset
            exports := exportWh.offset
        }
        uint256 bad = _creditLanes(_base(account), firstIntervalId, imports, exports, importWh.length);
        if (bad != 0) revert EnergyTokenAmountOverflow(account, bad - 1);
        _emitMints(account, firstIntervalId, exportWh);
    }

    /// @dev Adds a run's import and export (calldata words at `imports` and `exports`, `n` each)
    /// to the lanes under `base`, group by group. Returns 0, or 1 + the interval id of a lane
    /// that would pass 2^32 - 1 (then nothing is to be kept: the caller reverts).
    function _creditLanes(uint256 base, uint256 first, uint256 imports, uint256 exports, uint256 n)
        private
        returns (uint256 bad)
    {
        assembly ("memory-safe") {
            // The lanes of intervals [k, end) of the run, in their group's slot layout.
            function pack(k, end, id0, importsAt, exportsAt) -> importLanes, exportLanes {
                for {} lt(k, end) { k := add(k, 1) } {
                    let shift := shl(5, and(add(id0, k), 7))
                    importLanes := or(importLanes, shl(shift, calldataload(add(importsAt, shl(5, k)))))
                    exportLanes := or(exportLanes, shl(shift, calldataload(add(exportsAt, shl(5, k)))))
                }
            }
            // Adds `word` to the eight lanes of slot `key`; returns 0, or 1 + the first lane that
            // would pass 2^32 - 1 (then writes nothing). Even and odd lanes are added apart, each
            // with 32 zero bits above it, so a carry shows as bit 32 of its 64-bit half.
            function addLanes(b, key, word) -> lane {
                mstore(0, key)
                mstore(0x20, b)
                let slot := keccak256(0, 0x40)
                let old := sload(slot)
                let even := add(and(old, _EVEN), and(word, _EVEN))
                let odd := add(and(shr(32, old), _EVEN), and(shr(32, word), _EVEN))
                if iszero(and(or(even, odd), _CARRIES)) {
                    sstore(slot, add(old, word))
                    leave
                }
                for {} iszero(gt(add(and(shr(shl(5, lane), old), _LANE), and(shr(shl(5, lane), word), _LANE)), _LANE)) {} {
                    lane := add(lane, 1)
                }
                lane := add(lane, 1)
            }
            for { let k := 0 } lt(k, n) {} {
                let group := shr(3, add(first, k))
                let end := sub(shl(3, add(group, 1)), first)
                if gt(end, n) { end := n }
                let importLanes, exportLanes := pack(k, end, first, imports, exports)
                k := end
                let key := shl(3, group)
                let lane := 0
                if importLanes { lane := addLanes(base, or(key, _IMPORTED), importLanes) }
                if and(iszero(lane), iszero(iszero(exportLanes))) {
                    lane := addLanes(base, or(key, _MINTED), exportLanes)
                    if iszero(lane) { lane := addLanes(base, or(key, _BALANCE), exportLanes) }
                }
                if lane {
                    bad := add(shl(3, group), lane) // 1 + the lane's interval id
                    break
                }
            }
        }
    }

    /// @dev The ERC-1155 mint events of a run: one `TransferSingle` or `TransferBatch` of the
    /// intervals that export (operator: the registry).
    function _emitMints(address account, uint256 first, uint32[] calldata exportWh) private {
        uint256 n = exportWh.length;
        uint256[] memory ids = new uint256[](n);
        uint256[] memory values = new uint256[](n);
        uint256 mints;
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                let e := calldataload(add(exportWh.offset, shl(5, k)))
                if e {
                    mints := add(mints, 1)
                    mstore(add(ids, shl(5, mints)), add(first, k))
                    mstore(add(values, shl(5, mints)), e)
                }
            }
        }
        if (mints == 1) {
            emit TransferSingle(msg.sender, address(0), account, ids[0], values[0]);
        } else if (mints != 0) {
            // shrink the arrays to the mints written (mints <= n: memory stays valid)
            assembly ("memory-safe") {
                mstore(ids, mints)
                mstore(values, mints)
            }
            emit TransferBatch(msg.sender, address(0), account, ids, values);
        }
    }

    /// @inheritdoc IEnergyToken
    function redeem(address account, uint256 intervalId, uint256 amountWh) external {
        _checkRedeemer(account);
        _consume(account, intervalId, amountWh);
        emit Redeemed(account, intervalId, amountWh, msg.sender);
        _burn(account, intervalId, amountWh); // reverts with ERC1155InsufficientBalance if short
    }

    /// @inheritdoc IEnergyToken
    /// @dev Walked in place in calldata. When the readings were verified earlier in the same
    /// transaction (`SelfConsumption`), the lanes it updates are already warm and written.
    function settleLocal(bytes calldata settlement) external {
        if (!IAccessControl(address(_registry)).hasRole(ALLOCATOR_ROLE, msg.sender)) {
            revert EnergyTokenUnauthorizedAllocator(msg.sender);
        }
        uint256 p;
        while (p < settlement.length) {
            if (p + _HEADER > settlement.length) revert EnergyTokenSettlementTruncated(p, settlement.length);
            uint256 header = uint256(bytes32(settlement[p:p + 32 <= settlement.length ? p + 32 : settlement.length]));
            uint256 first = p + _HEADER;
            uint256 stop = first + ((header >> 176) & 0xffff) * _ENTRY; // uint16 count
            if (stop > settlement.length) revert EnergyTokenSettlementTruncated(p, settlement.length);
            _settleInterval(header >> 192, settlement[first:stop]); // uint64 interval id
            p = stop;
        }
    }

    /// @dev One interval's entries (account, given, received): see {settleLocal}. The loop is
    /// assembly (it is the hot path of sharing): per entry, the account's lanes mapping slot (one
    /// keccak), then the balance lane if it gives, the import and redeemed lanes if it receives;
    /// the checks, the writes, and the burn's `TransferSingle`. A refused entry stops the loop;
    /// {_refuse} reverts naming it.
    function _settleInterval(uint256 id, bytes calldata entries) private {
        bytes32 transferSingle = TransferSingle.selector;
        uint256 refused; // the refused entry's calldata offset, if any
        uint256 given;
        uint256 received;
        uint256 shift = (id & 7) << 5;
        uint256 group = (id >> 3) << 3;
        assembly ("memory-safe") {
            function refusedHere(account, interval) -> refuse {
                let flag := tload(account)
                refuse := or(
                    iszero(eq(and(flag, 0xffffffffffffffffffffffffffffffffffffffff), caller())),
                    or(lt(interval, and(shr(160, flag), 0xffffffff)), iszero(lt(interval, and(shr(192, flag), 0xffffffff))))
                )
            }
            let lanesSlot := _lanes.slot
            for {
                let e := entries.offset
                let end := add(e, entries.length)
            } lt(e, end) { e := add(e, _ENTRY) } {
                let who := shr(96, calldataload(e))
                let gives := shr(192, calldataload(add(e, 20))) // givenWh: 8 bytes after the account
                let gets := shr(192, calldataload(add(e, 28))) // receivedWh: the next 8
                // only an account the caller verified in this transaction, as the operation its
                // meter is bound to, for this interval (see {_allowSettlement})
                if or(gives, gets) {
                    if refusedHere(who, id) {
                        refused := e
                        break
                    }
                }
                mstore(0, who)
                mstore(0x20, lanesSlot)
                let base := keccak256(0, 0x40)
                mstore(0x20, base)
                if gives {
                    mstore(0, or(group, _BALANCE))
                    let slot := keccak256(0, 0x40)
                    let lanes := sload(slot)
                    if gt(gives, and(shr(shift, lanes), _LANE)) {
                        refused := e
                        break
                    }
                    sstore(slot, sub(lanes, shl(shift, gives))) // gives <= the lane: no borrow
                    // TransferSingle(operator: the caller, from: who, to: 0, id, gives): consumed locally
                    mstore(0, id)
                    mstore(0x20, gives)
                    log4(0, 0x40, transferSingle, caller(), who, 0)
                    mstore(0x20, base)
                }
                if gets {
                    mstore(0, or(group, _IMPORTED))
                    let imported := and(shr(shift, sload(keccak256(0, 0x40))), _LANE)
                    mstore(0, or(group, _RECEIVED))
                    let slot := keccak256(0, 0x40)
                    let lanes := sload(slot)
                    // received + claimed <= imported always; claimed is 0 for an interval the
                    // caller verified in this transaction (see {_consume}): gets <= imported -
                    // received
                    if gt(gets, sub(imported, and(shr(shift, lanes), _LANE))) {
                        refused := e
                        break
                    }
                    sstore(slot, add(lanes, shl(shift, gets))) // the lane stays <= imported < 2^32
                }
                // at most 65,535 entries of less than 2^64 Wh each: no overflow
                given := add(given, gives)
                received := add(received, gets)
            }
        }
        if (refused != 0) _refuse(id, refused);
        if (given != received) revert EnergyTokenUnbalancedSettlement(id, given, received);
        emit SettledLocally(id, entries);
    }

    /// @dev Reverts with the reason the entry at calldata offset `e` was refused.
    function _refuse(uint256 id, uint256 e) private view {
        address account;
        uint256 gives;
        uint256 gets;
        assembly ("memory-safe") {
            account := shr(96, calldataload(e))
            gives := shr(192, calldataload(add(e, 20)))
            gets := shr(192, calldataload(add(e, 28)))
        }
        if (!_settleable(account, id, msg.sender)) revert EnergyTokenNotSettleable(account, id, msg.sender);
        uint256 balance = _get(account, id, _BALANCE);
        if (gives > balance) revert ERC1155InsufficientBalance(account, balance, gives, id);
        revert EnergyTokenRedeemExceedsImport(account, id, gets, _redeemable(account, id));
    }

    /// @inheritdoc IEnergyToken
    function redeemBatch(address account, uint256[] calldata intervalIds, uint256[] calldata amountsWh) external {
        _checkRedeemer(account);
        if (intervalIds.length != amountsWh.length) {
            revert ERC1155InvalidArrayLength(intervalIds.length, amountsWh.length);
        }
        for (uint256 i; i < intervalIds.length; ++i) {
            _consume(account, intervalIds[i], amountsWh[i]);
            emit Redeemed(account, intervalIds[i], amountsWh[i], msg.sender);
        }
        _burnBatch(account, intervalIds, amountsWh);
    }

    function _checkRedeemer(address account) private view {
        if (account != msg.sender && !isApprovedForAll(account, msg.sender)) {
            revert ERC1155MissingApprovalForAll(msg.sender, account);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Escrow: a market holds an ask's crypto-kWh and returns what it did not sell as it was
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEnergyToken
    function escrow(address from, uint256 intervalId, uint256 amountWh) external {
        _checkEscrow();
        _checkRedeemer(from);
        _moveAsIs(from, msg.sender, intervalId, amountWh);
    }

    /// @inheritdoc IEnergyToken
    function release(address to, uint256 intervalId, uint256 amountWh) external {
        _checkEscrow();
        _moveAsIs(msg.sender, to, intervalId, amountWh);
    }

    /// @inheritdoc IEnergyToken
    /// @dev The hot path of a batch auction, in assembly: per seller, its lanes mapping (one
    /// keccak), its balance lane read and written, its acquired lane read (written if not zero)
    /// and a `TransferSingle` burn; per buyer, the transient settlement check, its import,
    /// received and claimed lanes read, the claimed lane written. A refusal stops the walk and is
    /// named by {_refuseSale} or {_refuseClaim} (the transaction reverts: nothing written stays).
    function tradeToClaims(
        uint256 intervalId,
        address[] calldata sellers,
        uint256[] calldata soldWh,
        address[] calldata buyers,
        uint256[] calldata boughtWh
    ) external {
        _checkEscrow();
        if (sellers.length != soldWh.length) revert ERC1155InvalidArrayLength(sellers.length, soldWh.length);
        if (buyers.length != boughtWh.length) revert ERC1155InvalidArrayLength(buyers.length, boughtWh.length);
        (uint256 sold, uint256 bad) = _burnSold(intervalId, sellers, soldWh);
        uint256 bought;
        if (bad == 0) (bought, bad) = _claimBought(intervalId, buyers, boughtWh);
        if (bad != 0 && bad < 1 << 128) _refuseSale(intervalId, sellers[bad - 1], soldWh[bad - 1]);
        if (bad != 0) _refuseClaim(intervalId, buyers[bad - (1 << 128)], boughtWh[bad - (1 << 128)]);
        if (sold != bought) revert EnergyTokenUnbalancedTrade(intervalId, sold, bought);
    }

    /// @dev Lane slot `key` (`(id >> 3) << 3 | field`) of the lanes mapping at `base`, in assembly.
    /// (Solidity's `_lanes[account][key]`.) Each seller's sold Wh burnt, taken from what it
    /// acquired first (as {_update}), with a `TransferSingle` burn: the total, or `bad` = 1 + the
    /// index of the first seller short of it.
    function _burnSold(uint256 id, address[] calldata sellers, uint256[] calldata soldWh)
        private
        returns (uint256 sold, uint256 bad)
    {
        assembly ("memory-safe") {
            let group := shl(3, shr(3, id))
            let shift := shl(5, and(id, 7))
            for { let i := 0 } lt(i, sellers.length) { i := add(i, 1) } {
                let from := calldataload(add(sellers.offset, shl(5, i)))
                if shr(160, from) { revert(0, 0) } // not an address: as the ABI decoder
                let value := calldataload(add(soldWh.offset, shl(5, i)))
                mstore(0, from)
                mstore(0x20, _lanes.slot)
                mstore(0x20, keccak256(0, 0x40)) // _lanes[from]
                mstore(0, or(group, _BALANCE))
                let slot := keccak256(0, 0x40)
                let word := sload(slot)
                if gt(value, and(shr(shift, word), _LANE)) {
                    bad := add(i, 1)
                    break
                }
                sstore(slot, sub(word, shl(shift, value))) // value <= the lane < 2^32: no borrow
                mstore(0, or(group, _ACQUIRED))
                slot := keccak256(0, 0x40)
                word := sload(slot)
                let acquired := and(shr(shift, word), _LANE)
                if acquired {
                    if gt(acquired, value) { acquired := value }
                    sstore(slot, sub(word, shl(shift, acquired)))
                }
                sold := add(sold, value)
                mstore(0, id)
                mstore(0x20, value)
                // TransferSingle(operator, from, to = 0, id, value): a burn
                log4(0, 0x40, 0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62, caller(), from, 0)
            }
        }
    }

    /// @dev Each buyer's bought Wh recorded as claimed against its verified import (as
    /// {_consume}, in assembly): the total, or `bad` = 2^128 + the index of the first buyer
    /// refused (its share may still be settled in this transaction, or its import is short).
    function _claimBought(uint256 id, address[] calldata buyers, uint256[] calldata boughtWh)
        private
        returns (uint256 bought, uint256 bad)
    {
        assembly ("memory-safe") {
            let group := shl(3, shr(3, id))
            let shift := shl(5, and(id, 7))
            for { let j := 0 } lt(j, buyers.length) { j := add(j, 1) } {
                let buyer := calldataload(add(buyers.offset, shl(5, j)))
                if shr(160, buyer) { revert(0, 0) } // not an address: as the ABI decoder
                // {_settleable} for any operation: refused while its share may still come
                let flag := tload(buyer)
                if and(and(iszero(iszero(and(flag, 0xffffffffffffffffffffffffffffffffffffffff))),
                           iszero(lt(id, and(shr(160, flag), _LANE)))), lt(id, and(shr(192, flag), _LANE))) {
                    bad := add(shl(128, 1), j)
                    break
                }
                let amount := calldataload(add(boughtWh.offset, shl(5, j)))
                mstore(0, buyer)
                mstore(0x20, _lanes.slot)
                mstore(0x20, keccak256(0, 0x40)) // _lanes[buyer]
                mstore(0, or(group, _IMPORTED))
                let left := and(shr(shift, sload(keccak256(0, 0x40))), _LANE)
                mstore(0, or(group, _RECEIVED))
                left := sub(left, and(shr(shift, sload(keccak256(0, 0x40))), _LANE))
                mstore(0, or(group, _CLAIMED))
                let slot := keccak256(0, 0x40)
                let word := sload(slot)
                left := sub(left, and(shr(shift, word), _LANE))
                if gt(amount, left) {
                    bad := add(shl(128, 1), j)
                    break
                }
                sstore(slot, add(word, shl(shift, amount))) // received + claimed <= import < 2^32
                bought := add(bought, amount)
            }
        }
    }

    /// @dev Names a refusal of {tradeToClaims} with its error, as the state stood when the walk
    /// stopped (the sellers and buyers before it applied): a seller short of what it sold.
    function _refuseSale(uint256 id, address from, uint256 value) private view {
        revert ERC1155InsufficientBalance(from, _get(from, id, _BALANCE), value, id);
    }

    /// @dev A buyer whose share may still be settled in this transaction, or whose import is short.
    function _refuseClaim(uint256 id, address buyer, uint256 amount) private view {
        if (_settleable(buyer, id, address(0))) revert EnergyTokenSettlementPending(buyer, id);
        revert EnergyTokenRedeemExceedsImport(buyer, id, amount, _redeemable(buyer, id));
    }

    function _checkEscrow() private view {
        if (!IAccessControl(address(_registry)).hasRole(ESCROW_ROLE, msg.sender)) {
            revert EnergyTokenUnauthorizedEscrow(msg.sender);
        }
    }

    /// @dev Moves balance only: neither account's acquired lane changes (see {_update}), and no
    /// acceptance hook runs (the tokens go to an escrow that asked for them, or back to where
    /// they came from).
    function _moveAsIs(address from, address to, uint256 id, uint256 value) private {
        if (!_registry.isParticipant(from)) revert EnergyTokenNotParticipant(from);
        if (!_registry.isParticipant(to)) revert EnergyTokenNotParticipant(to);
        uint256 fromBalance = _get(from, id, _BALANCE);
        if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
        _set(from, id, _BALANCE, fromBalance - value);
        _add(to, id, _BALANCE, value);
        emit TransferSingle(msg.sender, from, to, id, value);
    }

    /// @dev Records `amountWh` as claimed against the account's verified import of the interval
    /// (a time-matched claim). Not while the operation may still settle that interval for the
    /// account in this transaction: its share comes first.
    function _consume(address account, uint256 intervalId, uint256 amountWh) private {
        if (_settleable(account, intervalId, address(0))) revert EnergyTokenSettlementPending(account, intervalId);
        uint256 redeemableWh = _redeemable(account, intervalId);
        if (amountWh > redeemableWh) {
            revert EnergyTokenRedeemExceedsImport(account, intervalId, amountWh, redeemableWh);
        }
        // received + claimed <= import < 2^32: the lane does not carry
        _lanes[account][_key(intervalId, _CLAIMED)] += amountWh << ((intervalId & 7) << 5);
    }

    /// @dev Verified import not yet consumed: imported - received locally - claimed.
    function _redeemable(address account, uint256 id) private view returns (uint256) {
        mapping(uint256 => uint256) storage lanes = _lanes[account];
        return _lane(lanes[_key(id, _IMPORTED)], id) - _lane(lanes[_key(id, _RECEIVED)], id)
            - _lane(lanes[_key(id, _CLAIMED)], id);
    }

    // ------------------------------------------------------------------------------------------
    // Who may settle: transient, for the transaction that verified the readings
    // ------------------------------------------------------------------------------------------

    /// @dev The registry credited `account` the run of intervals [first, end) submitted by the
    /// operation its meter is bound to; `settleable` packs `operation | from << 160 | until << 192`,
    /// the interval ids of the binding. In this transaction, the operation may settle the
    /// account's intervals of the run within the binding (merged with those of its other runs of
    /// the transaction). Transient storage, keyed by the account.
    function _allowSettlement(address account, uint256 settleable, uint256 first, uint256 end) private {
        address operation = address(uint160(settleable));
        uint256 from = (settleable >> 160) & _LANE;
        uint256 until = (settleable >> 192) & _LANE;
        if (first > from) from = first;
        if (end < until) until = end;
        if (from >= until) return;
        uint256 flag;
        assembly ("memory-safe") {
            flag := tload(account)
        }
        if (address(uint160(flag)) == operation) {
            uint256 oldFrom = (flag >> 160) & _LANE;
            uint256 oldUntil = (flag >> 192) & _LANE;
            if (oldFrom < from) from = oldFrom;
            if (oldUntil > until) until = oldUntil;
        }
        flag = uint256(uint160(operation)) | (from << 160) | (until << 192);
        assembly ("memory-safe") {
            tstore(account, flag)
        }
    }

    /// @dev Whether `operation` (any operation if zero) may settle `account`'s interval `id` in
    /// this transaction.
    function _settleable(address account, uint256 id, address operation) private view returns (bool) {
        uint256 flag;
        assembly ("memory-safe") {
            flag := tload(account)
        }
        address holder = address(uint160(flag));
        return holder != address(0) && (operation == address(0) || holder == operation)
            && id >= ((flag >> 160) & _LANE) && id < ((flag >> 192) & _LANE);
    }

    // ------------------------------------------------------------------------------------------
    // Certification
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEnergyToken
    /// @dev Group by group of eight intervals: one balance slot read and written, the acquired
    /// slot read only where the balance is not zero.
    function certify(address account, uint256 firstIntervalId, uint256 count, uint256 maxWh)
        external
        returns (uint256 burned)
    {
        if (!IAccessControl(address(_registry)).hasRole(CERTIFIER_ROLE, msg.sender)) {
            revert EnergyTokenUnauthorizedCertifier(msg.sender);
        }
        Burns memory b = Burns(new uint256[](count), new uint256[](count), 0, 0, maxWh);
        uint256 end = firstIntervalId + count;
        for (uint256 id = firstIntervalId; id < end && b.burned < maxWh;) {
            uint256 groupEnd = ((id >> 3) + 1) << 3;
            if (groupEnd > end) groupEnd = end;
            _certifyGroup(_lanes[account], id, groupEnd, b);
            id = groupEnd;
        }
        (uint256[] memory ids, uint256[] memory values, uint256 n) = (b.ids, b.values, b.n);
        if (n == 1) {
            emit TransferSingle(msg.sender, account, address(0), ids[0], values[0]);
        } else if (n != 0) {
            assembly ("memory-safe") {
                mstore(ids, n)
                mstore(values, n)
            }
            emit TransferBatch(msg.sender, account, address(0), ids, values);
        }
        return b.burned;
    }

    /// @dev What {certify} burns: the intervals and amounts so far, their count and sum, the cap.
    struct Burns {
        uint256[] ids;
        uint256[] values;
        uint256 n;
        uint256 burned;
        uint256 maxWh;
    }

    /// @dev {certify} in the intervals [id, groupEnd) of one group of eight.
    function _certifyGroup(mapping(uint256 => uint256) storage lanes, uint256 id, uint256 groupEnd, Burns memory b)
        private
    {
        uint256 key = _key(id, _BALANCE);
        uint256 balances = lanes[key];
        if (balances == 0) return;
        uint256 acquired = lanes[_key(id, _ACQUIRED)];
        uint256 before = balances;
        for (; id < groupEnd; ++id) {
            uint256 shift = (id & 7) << 5;
            uint256 take = (balances >> shift) & _LANE;
            uint256 others = (acquired >> shift) & _LANE;
            take = take > others ? take - others : 0; // its own production left unspent
            if (take > b.maxWh - b.burned) take = b.maxWh - b.burned;
            if (take != 0) {
                balances -= take << shift; // take <= the lane: no borrow
                b.burned += take;
                (b.ids[b.n], b.values[b.n]) = (id, take);
                ++b.n;
            }
        }
        if (balances != before) lanes[key] = balances;
    }

    /// @inheritdoc IEnergyToken
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IEnergyToken
    function verifiedImport(address account, uint256 intervalId) external view returns (uint64) {
        return uint64(_get(account, intervalId, _IMPORTED));
    }

    /// @inheritdoc IEnergyToken
    function verifiedExport(address account, uint256 intervalId) external view returns (uint64) {
        return uint64(_get(account, intervalId, _MINTED));
    }

    /// @inheritdoc IEnergyToken
    function redeemed(address account, uint256 intervalId) external view returns (uint64) {
        return uint64(_get(account, intervalId, _RECEIVED) + _get(account, intervalId, _CLAIMED));
    }

    /// @inheritdoc IEnergyToken
    function redeemable(address account, uint256 intervalId) external view returns (uint64) {
        return uint64(_redeemable(account, intervalId));
    }

    /// @inheritdoc IEnergyToken
    function tradeBacking(uint256 intervalId, address[] calldata buyers, address[] calldata sellers)
        external
        view
        returns (uint256[] memory redeemableWh, uint256[] memory balanceWh)
    {
        (redeemableWh, balanceWh) = (new uint256[](buyers.length), new uint256[](sellers.length));
        assembly ("memory-safe") {
            let group := shl(3, shr(3, intervalId))
            let shift := shl(5, and(intervalId, 7))
            // `account`'s lanes mapping: _lanes[account]
            function lanesOf(account) -> base {
                if shr(160, account) { revert(0, 0) } // not an address: as the ABI decoder
                mstore(0, account)
                mstore(0x20, _lanes.slot)
                base := keccak256(0, 0x40)
            }
            // lane `key` (`group | field`) under `base`, at the interval's shift
            function lane(base, key, s) -> v {
                mstore(0, key)
                mstore(0x20, base)
                v := and(shr(s, sload(keccak256(0, 0x40))), _LANE)
            }
            for { let i := 0 } lt(i, buyers.length) { i := add(i, 1) } {
                let base := lanesOf(calldataload(add(buyers.offset, shl(5, i))))
                // {_redeemable}: imported - received locally - claimed
                let left := sub(sub(lane(base, or(group, _IMPORTED), shift), lane(base, or(group, _RECEIVED), shift)),
                                lane(base, or(group, _CLAIMED), shift))
                mstore(add(redeemableWh, shl(5, add(i, 1))), left)
            }
            for { let i := 0 } lt(i, sellers.length) { i := add(i, 1) } {
                mstore(add(balanceWh, shl(5, add(i, 1))),
                       lane(lanesOf(calldataload(add(sellers.offset, shl(5, i)))), or(group, _BALANCE), shift))
            }
        }
    }

    /// @inheritdoc IEnergyToken
    function ownUnspent(address account, uint256 intervalId) external view returns (uint64) {
        uint256 balance = _get(account, intervalId, _BALANCE);
        uint256 acquired = _get(account, intervalId, _ACQUIRED);
        return uint64(balance > acquired ? balance - acquired : 0);
    }

    /// @inheritdoc IEnergyToken
    function intervalAccount(address account, uint256 intervalId)
        external
        view
        returns (uint64 balance, uint64 mintedWh, uint64 importWh, uint64 receivedLocallyWh, uint64 claimedWh)
    {
        return (
            uint64(_get(account, intervalId, _BALANCE)),
            uint64(_get(account, intervalId, _MINTED)),
            uint64(_get(account, intervalId, _IMPORTED)),
            uint64(_get(account, intervalId, _RECEIVED)),
            uint64(_get(account, intervalId, _CLAIMED))
        );
    }

    /// @inheritdoc ERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        return _get(account, id, _BALANCE);
    }

    /// @dev OpenZeppelin's `_update` with balances kept in lanes; transfers (neither mint nor
    /// burn) only between registered participants.
    ///
    /// Provenance, for one Wh, one claim: what an account receives by transfer is *acquired*
    /// (others' production, or its own sold and bought back: sold either way); what leaves it by
    /// transfer or redemption is taken from what it acquired first, then from its own production.
    /// Own production only ever leaves: local sharing gives it ({settleLocal}, whose gives never
    /// exceed the export just verified), {certify} burns it, a transfer or redemption beyond what
    /// was acquired spends it. So the own production left, `balance - acquired`, is never more than
    /// verified export - shared - certified - own production sold or claimed, per account and
    /// interval. An escrow's {escrow} and {release} leave both lanes as they were.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
    {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        bool transfer = from != address(0) && to != address(0);
        if (transfer) {
            if (!_registry.isParticipant(from)) revert EnergyTokenNotParticipant(from);
            if (!_registry.isParticipant(to)) revert EnergyTokenNotParticipant(to);
        }
        for (uint256 i; i < ids.length; ++i) {
            (uint256 id, uint256 value) = (ids[i], values[i]);
            if (from != address(0)) {
                uint256 fromBalance = _get(from, id, _BALANCE);
                if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                _set(from, id, _BALANCE, fromBalance - value);
                uint256 acquired = _get(from, id, _ACQUIRED);
                if (acquired != 0) _set(from, id, _ACQUIRED, acquired > value ? acquired - value : 0);
            }
            if (to != address(0)) {
                _add(to, id, _BALANCE, value);
                if (transfer) _set(to, id, _ACQUIRED, _get(to, id, _ACQUIRED) + value); // <= balance < 2^32
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }
}
