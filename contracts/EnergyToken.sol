// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title EnergyToken: crypto-kWh
/// @notice ERC-1155 whose token id is the interval id and whose amounts are Wh of verified local
/// energy. See {IEnergyToken}.
/// @dev Supply only enters through {creditVerifiedEnergy} (called by the registry for verified
/// export) and only leaves through {redeem} (bounded by verified import), so, per interval id,
/// balances + redeemed = verified export by construction. Minting skips the ERC-1155 acceptance
/// hook on purpose: verified energy belongs to the meter owner whatever its code, and no external
/// code runs inside the registry's reading loop.
contract EnergyToken is ERC1155, IEnergyToken {
    /// @dev One slot per account and interval, written once by the registry and then by redeem.
    struct Consumption {
        uint64 importWh;
        uint64 redeemedWh;
    }

    IMeterRegistry private immutable _registry;
    mapping(address account => mapping(uint256 intervalId => Consumption)) private _consumption;

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
                if (c.importWh != 0) {
                    // One account may own several meters: add up. A sum of uint64 readings of one
                    // interval cannot reach 2^64 Wh (each is capped by a capacity below 2^32 W).
                    _consumption[account][c.intervalId].importWh += c.importWh;
                }
                if (c.exportWh != 0) ++mints;
            }
            if (mints != 0) {
                uint256[] memory ids = new uint256[](mints);
                uint256[] memory values = new uint256[](mints);
                uint256 k;
                for (uint256 r = i; r < end; ++r) {
                    if (credits[r].exportWh != 0) {
                        ids[k] = credits[r].intervalId;
                        values[k] = credits[r].exportWh;
                        ++k;
                    }
                }
                _update(address(0), account, ids, values);
            }
            i = end;
        }
    }

    /// @inheritdoc IEnergyToken
    function redeem(address account, uint256 intervalId, uint256 amountWh) external {
        _checkRedeemer(account);
        _consume(account, intervalId, amountWh);
        _burn(account, intervalId, amountWh); // reverts with ERC1155InsufficientBalance if short
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
        Consumption storage c = _consumption[account][intervalId];
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
        return _consumption[account][intervalId].importWh;
    }

    /// @inheritdoc IEnergyToken
    function redeemed(address account, uint256 intervalId) external view returns (uint64) {
        return _consumption[account][intervalId].redeemedWh;
    }

    /// @inheritdoc IEnergyToken
    function redeemable(address account, uint256 intervalId) external view returns (uint64) {
        Consumption storage c = _consumption[account][intervalId];
        return c.importWh - c.redeemedWh;
    }

    /// @dev Transfers (neither mint nor burn) only between registered participants.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
    {
        if (from != address(0) && to != address(0)) {
            if (!_registry.isParticipant(from)) revert EnergyTokenNotParticipant(from);
            if (!_registry.isParticipant(to)) revert EnergyTokenNotParticipant(to);
        }
        super._update(from, to, ids, values);
    }
}
