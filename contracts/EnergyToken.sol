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
/// export) and only leaves through {redeem} and {settleLocal} (bounded by verified import), so,
/// per interval id, balances + redeemed = verified export by construction. Minting skips the
/// ERC-1155 acceptance hook on purpose: verified energy belongs to the meter owner whatever its
/// code, and no external code runs inside the registry's reading loop.
///
/// Storage, laid out for gas: an account's figures (balance, verified export minted to it,
/// verified import, redeemed) are uint32 Wh "lanes", eight consecutive intervals of one figure per
/// slot (interval id `8g + l` in lane `l` of group `g`). A meter's day of readings then writes 12
/// fresh slots per figure rather than 96, and sharing updates slots the verification has just
/// written. OpenZeppelin's own `_balances` mapping is not used: {balanceOf} and {_update} read and
/// write the balance lanes.
contract EnergyToken is ERC1155, IEnergyToken {
    /// @notice The registry role that lets a self-consumption operation settle local sharing.
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");

    /// @dev The figures, each a field of the lanes' key: `(id >> 3) << 2 | field`.
    uint256 private constant _BALANCE = 0;
    uint256 private constant _MINTED = 1;
    uint256 private constant _IMPORTED = 2;
    uint256 private constant _REDEEMED = 3;
    uint256 private constant _LANE = 0xffffffff;

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
        return ((id >> 3) << 2) | field;
    }

    function _get(address account, uint256 id, uint256 field) private view returns (uint256) {
        return (_lanes[account][_key(id, field)] >> ((id & 7) << 5)) & _LANE;
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

    /// @dev Adds eight lanes at once (`word`: group `group`'s lanes to add); reverts naming the
    /// first lane that would pass 2^32 - 1.
    function _addLanes(address account, uint256 group, uint256 field, uint256 word) private {
        mapping(uint256 => uint256) storage lanes = _lanes[account];
        uint256 key = (group << 2) | field;
        uint256 old = lanes[key];
        if (old == 0) {
            lanes[key] = word; // the usual case: a fresh group
            return;
        }
        for (uint256 l; l < 8; ++l) {
            if (((old >> (l << 5)) & _LANE) + ((word >> (l << 5)) & _LANE) > _LANE) {
                revert EnergyTokenAmountOverflow(account, (group << 3) | l);
            }
        }
        lanes[key] = old + word; // no lane carries into the next: checked above
    }

    // ------------------------------------------------------------------------------------------
    // Verified energy
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEnergyToken
    function creditVerifiedEnergy(
        address account,
        uint256 firstIntervalId,
        uint32[] calldata importWh,
        uint32[] calldata exportWh
    ) external {
        if (msg.sender != address(_registry)) revert EnergyTokenUnauthorizedRegistry(msg.sender);
        uint256 n = importWh.length; // the registry checked exportWh has the same length
        uint256[] memory ids = new uint256[](n);
        uint256[] memory values = new uint256[](n);
        uint256 mints;
        uint256 k;
        while (k < n) {
            // the run's part in one group of eight intervals
            uint256 group = (firstIntervalId + k) >> 3;
            uint256 stop = ((group + 1) << 3) - firstIntervalId;
            if (stop > n) stop = n;
            uint256 imports;
            uint256 exports;
            for (; k < stop; ++k) {
                uint256 id = firstIntervalId + k;
                uint256 shift = (id & 7) << 5;
                imports |= uint256(importWh[k]) << shift;
                uint256 exp = exportWh[k];
                if (exp != 0) {
                    exports |= exp << shift;
                    (ids[mints], values[mints]) = (id, exp);
                    ++mints;
                }
            }
            if (imports != 0) _addLanes(account, group, _IMPORTED, imports);
            if (exports != 0) {
                _addLanes(account, group, _MINTED, exports);
                _addLanes(account, group, _BALANCE, exports);
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

    /// @dev One interval's entries (account, given, received): see {settleLocal}.
    function _settleInterval(uint256 id, bytes calldata entries) private {
        uint256 given;
        uint256 received;
        for (uint256 e; e < entries.length; e += _ENTRY) {
            uint256 word = uint256(bytes32(entries[e:e + 32 <= entries.length ? e + 32 : entries.length]));
            address who = address(uint160(word >> 96));
            uint256 gives = uint64(word >> 32);
            uint256 gets = uint64(bytes8(entries[e + 28:e + 36]));
            if (gives != 0) {
                uint256 balance = _get(who, id, _BALANCE);
                if (gives > balance) revert ERC1155InsufficientBalance(who, balance, gives, id);
                _set(who, id, _BALANCE, balance - gives);
                // consumed locally: a burn whose operator is the allocator
                emit TransferSingle(msg.sender, who, address(0), id, gives);
            }
            if (gets != 0) _consume(who, id, gets);
            // at most 65,535 entries of less than 2^64 Wh each: no overflow
            given += gives;
            received += gets;
        }
        if (given != received) revert EnergyTokenUnbalancedSettlement(id, given, received);
        emit SettledLocally(id, entries);
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
        uint256 redeemedWh = _get(account, intervalId, _REDEEMED);
        uint256 redeemableWh = _get(account, intervalId, _IMPORTED) - redeemedWh; // redeemed <= import
        if (amountWh > redeemableWh) {
            revert EnergyTokenRedeemExceedsImport(account, intervalId, amountWh, redeemableWh);
        }
        _set(account, intervalId, _REDEEMED, redeemedWh + amountWh); // <= import < 2^32
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
        return uint64(_get(account, intervalId, _REDEEMED));
    }

    /// @inheritdoc IEnergyToken
    function redeemable(address account, uint256 intervalId) external view returns (uint64) {
        return uint64(_get(account, intervalId, _IMPORTED) - _get(account, intervalId, _REDEEMED));
    }

    /// @inheritdoc IEnergyToken
    function intervalAccount(address account, uint256 intervalId)
        external
        view
        returns (uint64 balance, uint64 mintedWh, uint64 importWh, uint64 redeemedWh)
    {
        return (
            uint64(_get(account, intervalId, _BALANCE)),
            uint64(_get(account, intervalId, _MINTED)),
            uint64(_get(account, intervalId, _IMPORTED)),
            uint64(_get(account, intervalId, _REDEEMED))
        );
    }

    /// @inheritdoc ERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        return _get(account, id, _BALANCE);
    }

    /// @dev OpenZeppelin's `_update` with balances kept in lanes; transfers (neither mint nor
    /// burn) only between registered participants.
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
                uint256 fromBalance = _get(from, id, _BALANCE);
                if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                _set(from, id, _BALANCE, fromBalance - value);
            }
            if (to != address(0)) _add(to, id, _BALANCE, value);
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }
}
