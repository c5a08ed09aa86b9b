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
/// export) and only leaves through {redeem} (bounded by verified import), so, per interval id,
/// balances + redeemed = verified export by construction. Minting skips the ERC-1155 acceptance
/// hook on purpose: verified energy belongs to the meter owner whatever its code, and no external
/// code runs inside the registry's reading loop. Each account's balance, verified export and
/// import and redeemed amount for an interval share one storage slot ({IntervalAccount}).
contract EnergyToken is ERC1155, IEnergyToken {
    /// @dev Everything about one account in one interval, in one storage slot: the first
    /// verified reading creates it (22,100 gas), every later move updates it (2,900-5,000 gas).
    /// OpenZeppelin's own `_balances` mapping is not used: {balanceOf} and {_update} read and
    /// write `balance` here. uint64 cannot overflow: per interval id, all balances together are at
    /// most the sum of verified export readings, each below 2^32 W x 1800 s / 3600 s < 2^31 Wh.
    struct IntervalAccount {
        uint64 balance; // tokens held
        uint64 mintedWh; // verified export of the account's meters
        uint64 importWh; // verified import of the account's meters
        uint64 redeemedWh; // tokens burned against that import
    }

    /// @notice The registry role that lets a self-consumption operation settle local sharing.
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");

    /// @dev {settleLocal}'s packed layout: an interval's header (uint64 id, uint16 count) and entry
    /// (address, uint64 given, uint64 received), in bytes.
    uint256 private constant _HEADER = 10;
    uint256 private constant _ENTRY = 36;
    uint256 private constant _UINT64 = 0xffffffffffffffff;

    IMeterRegistry private immutable _registry;
    mapping(address account => mapping(uint256 intervalId => IntervalAccount)) private _accounts;

    /// @param registry_ the deployment's `MeterRegistry`
    /// @param uri_ ERC-1155 metadata URI (may be empty; `{id}` is the interval id in hex)
    constructor(IMeterRegistry registry_, string memory uri_) ERC1155(uri_) {
        if (address(registry_) == address(0)) revert EnergyTokenInvalidRegistry(address(registry_));
        _registry = registry_;
    }

    /// @inheritdoc IEnergyToken
    function creditVerifiedEnergy(Credit[] calldata credits) external {
        if (msg.sender != address(_registry)) revert EnergyTokenUnauthorizedRegistry(msg.sender);
        uint256 n = credits.length;
        uint256 i;
        while (i < n) {
            // one run of consecutive credits to the same account
            address account = credits[i].account;
            uint256 end = i;
            uint256 mints;
            for (; end < n && credits[end].account == account; ++end) {
                Credit calldata c = credits[end];
                IntervalAccount storage a = _accounts[account][c.intervalId];
                (uint64 importWh, uint64 exportWh) = (c.importWh, c.exportWh);
                // One account may own several meters: add up. No overflow: see IntervalAccount.
                unchecked {
                    if (exportWh != 0) {
                        ++mints;
                        a.balance += exportWh;
                        a.mintedWh += exportWh;
                    }
                    if (importWh != 0) a.importWh += importWh;
                }
            }
            if (mints != 0) _emitMints(account, credits[i:end], mints);
            i = end;
        }
    }

    /// @dev The ERC-1155 mint events of one run of credits to `account`.
    function _emitMints(address account, Credit[] calldata run, uint256 mints) private {
        address operator = _msgSender();
        if (mints == 1) {
            for (uint256 r; r < run.length; ++r) {
                if (run[r].exportWh != 0) {
                    emit TransferSingle(operator, address(0), account, run[r].intervalId, run[r].exportWh);
                    return;
                }
            }
        }
        uint256[] memory ids = new uint256[](mints);
        uint256[] memory values = new uint256[](mints);
        uint256 k;
        for (uint256 r; r < run.length; ++r) {
            if (run[r].exportWh != 0) {
                (ids[k], values[k]) = (run[r].intervalId, run[r].exportWh);
                ++k;
            }
        }
        emit TransferBatch(operator, address(0), account, ids, values);
    }

    /// @inheritdoc IEnergyToken
    function redeem(address account, uint256 intervalId, uint256 amountWh) external {
        _checkRedeemer(account);
        _consume(account, intervalId, amountWh);
        _burn(account, intervalId, amountWh); // reverts with ERC1155InsufficientBalance if short
    }

    /// @inheritdoc IEnergyToken
    /// @dev Walked in place in calldata. Each entry reads and writes its account's slot once; when
    /// the readings were verified earlier in the same transaction (`SelfConsumption`), that slot
    /// is already warm and written, and the update costs 200 gas.
    function settleLocal(bytes calldata settlement) external {
        if (!IAccessControl(address(_registry)).hasRole(ALLOCATOR_ROLE, msg.sender)) {
            revert EnergyTokenUnauthorizedAllocator(msg.sender);
        }
        uint256 p;
        while (p < settlement.length) {
            if (p + _HEADER > settlement.length) revert EnergyTokenSettlementTruncated(p, settlement.length);
            uint256 header;
            assembly ("memory-safe") {
                header := calldataload(add(settlement.offset, p))
            }
            uint256 first = p + _HEADER;
            uint256 stop = first + ((header >> 176) & 0xffff) * _ENTRY; // uint16 count
            if (stop > settlement.length) revert EnergyTokenSettlementTruncated(p, settlement.length);
            _settleInterval(header >> 192, settlement[first:stop]); // uint64 interval id
            p = stop;
        }
    }

    /// @dev One interval's entries (account, given, received): see {settleLocal}. The loop is
    /// assembly (it is the hot path of sharing): per entry, the account's slot for the interval
    /// (`_accounts[account][id]`, two keccaks), one read, the checks, one write, and the burn's
    /// `TransferSingle`. A refused entry stops the loop; {_refuse} reverts naming it.
    function _settleInterval(uint256 id, bytes calldata entries) private {
        bytes32 transferSingle = TransferSingle.selector;
        uint256 refused; // the refused entry's calldata offset, if any
        uint256 given;
        uint256 received;
        assembly ("memory-safe") {
            let base := _accounts.slot
            for {
                let e := entries.offset
                let end := add(e, entries.length)
            } lt(e, end) { e := add(e, _ENTRY) } {
                let who := shr(96, calldataload(e))
                let gives := shr(192, calldataload(add(e, 20))) // givenWh: 8 bytes after the account
                let gets := shr(192, calldataload(add(e, 28))) // receivedWh: the next 8
                mstore(0, who)
                mstore(0x20, base)
                mstore(0x20, keccak256(0, 0x40))
                mstore(0, id)
                let slot := keccak256(0, 0x40)
                let fields := sload(slot) // see IntervalAccount for the field order
                // gives <= balance, gets <= importWh - redeemedWh (redeemed <= import)
                if or(gt(gives, and(fields, _UINT64)), gt(gets, sub(and(shr(128, fields), _UINT64), shr(192, fields)))) {
                    refused := e
                    break
                }
                // gives <= balance: the balance field does not borrow; redeemed + gets <= import
                // < 2^64: the redeemed field does not carry out
                sstore(slot, add(sub(fields, gives), shl(192, gets)))
                // at most 65,535 entries of less than 2^64 Wh each: no overflow
                given := add(given, gives)
                received := add(received, gets)
                if gives {
                    // TransferSingle(operator: the caller, from: who, to: 0, id, gives): consumed locally
                    mstore(0, id)
                    mstore(0x20, gives)
                    log4(0, 0x40, transferSingle, caller(), who, 0)
                }
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
        IntervalAccount storage a = _accounts[account][id];
        if (gives > a.balance) revert ERC1155InsufficientBalance(account, a.balance, gives, id);
        revert EnergyTokenRedeemExceedsImport(account, id, gets, a.importWh - a.redeemedWh);
    }

    /// @inheritdoc IEnergyToken
    function redeemBatch(address account, uint256[] calldata intervalIds, uint256[] calldata amountsWh) external {
        _checkRedeemer(account);
        if (intervalIds.length != amountsWh.length) {
            revert ERC1155InvalidArrayLength(intervalIds.length, amountsWh.length);
        }
        for (uint256 i; i < intervalIds.length; ++i) {
            _consume(account, intervalIds[i], amountsWh[i]);
        }
        _burnBatch(account, intervalIds, amountsWh);
    }

    function _checkRedeemer(address account) private view {
        if (account != msg.sender && !isApprovedForAll(account, msg.sender)) {
            revert ERC1155MissingApprovalForAll(msg.sender, account);
        }
    }

    /// @dev Records `amountWh` as redeemed against the account's verified import of the interval.
    function _consume(address account, uint256 intervalId, uint256 amountWh) private {
        IntervalAccount storage c = _accounts[account][intervalId];
        uint256 redeemableWh = c.importWh - c.redeemedWh; // redeemed <= import: enforced below
        if (amountWh > redeemableWh) {
            revert EnergyTokenRedeemExceedsImport(account, intervalId, amountWh, redeemableWh);
        }
        // amountWh <= redeemableWh < 2^64: the cast and the sum stay within uint64
        c.redeemedWh += uint64(amountWh);
    }

    /// @inheritdoc IEnergyToken
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IEnergyToken
    function verifiedImport(address account, uint256 intervalId) external view returns (uint64) {
        return _accounts[account][intervalId].importWh;
    }

    /// @inheritdoc IEnergyToken
    function verifiedExport(address account, uint256 intervalId) external view returns (uint64) {
        return _accounts[account][intervalId].mintedWh;
    }

    /// @inheritdoc IEnergyToken
    function redeemed(address account, uint256 intervalId) external view returns (uint64) {
        return _accounts[account][intervalId].redeemedWh;
    }

    /// @inheritdoc IEnergyToken
    function redeemable(address account, uint256 intervalId) external view returns (uint64) {
        IntervalAccount storage c = _accounts[account][intervalId];
        return c.importWh - c.redeemedWh;
    }

    /// @inheritdoc IEnergyToken
    function intervalAccount(address account, uint256 intervalId)
        external
        view
        returns (uint64 balance, uint64 mintedWh, uint64 importWh, uint64 redeemedWh)
    {
        IntervalAccount storage a = _accounts[account][intervalId];
        return (a.balance, a.mintedWh, a.importWh, a.redeemedWh);
    }

    /// @inheritdoc ERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        return _accounts[account][id].balance;
    }

    /// @dev OpenZeppelin's `_update` with balances kept in {IntervalAccount}; transfers (neither
    /// mint nor burn) only between registered participants.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
    {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        if (from != address(0) && to != address(0)) {
            if (!_registry.isParticipant(from)) revert EnergyTokenNotParticipant(from);
            if (!_registry.isParticipant(to)) revert EnergyTokenNotParticipant(to);
        }
        for (uint256 i; i < ids.length; ++i) {
            (uint256 id, uint256 value) = (ids[i], values[i]);
            if (from != address(0)) {
                IntervalAccount storage a = _accounts[from][id];
                uint256 fromBalance = a.balance;
                if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                a.balance = uint64(fromBalance - value); // value <= fromBalance < 2^64
            }
            if (to != address(0)) {
                IntervalAccount storage a = _accounts[to][id];
                // value <= the sender's balance (or a burn): no overflow, see IntervalAccount
                a.balance = uint64(a.balance + value);
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }
}
