// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {ISelfConsumption} from "./interfaces/ISelfConsumption.sol";
import {ISolidarity} from "./interfaces/ISolidarity.sol";

/// @title Solidarity
/// @notice Crypto-kWh given to the operation's energy-poor members. See {ISolidarity}.
/// @dev `DEFAULT_ADMIN_ROLE` (the operator, moved in two steps after a delay) flags members. The
/// registry grants this contract `ESCROW_ROLE` for `EnergyToken.tradeToClaims`. Loops run over the
/// flagged members (at most `MAX_RECIPIENTS`), the operation's members (at most its `MAX_MEMBERS`,
/// for the operator's flag) and a caller's own list of intervals.
contract Solidarity is ISolidarity, AccessControlDefaultAdminRules {
    /// @notice The most members flagged energy-poor at once (bounds a distribution's loop).
    uint256 public constant MAX_RECIPIENTS = 64;
    uint256 private constant _BPS = 10_000;
    /// @dev A member's `untilInterval` while it is in the operation.
    uint256 private constant _STILL_IN = type(uint32).max;

    IMeterRegistry private immutable _registry;
    IEnergyToken private immutable _token;
    ISelfConsumption private immutable _operation;

    address[] private _recipients;
    /// @dev Position + 1 in `_recipients` (0: not flagged).
    mapping(address account => uint256 position) private _position;
    mapping(address giver => uint256 shareBps) private _pledges;
    mapping(address giver => mapping(uint256 intervalId => bool)) private _distributed;

    constructor(IMeterRegistry registry_, IEnergyToken token_, ISelfConsumption operation_, address admin, uint48 adminDelay)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        if (address(registry_) == address(0)) revert SolidarityInvalidAddress(address(registry_));
        if (address(token_) == address(0)) revert SolidarityInvalidAddress(address(token_));
        if (address(operation_) == address(0)) revert SolidarityInvalidAddress(address(operation_));
        _registry = registry_;
        _token = token_;
        _operation = operation_;
    }

    /// @inheritdoc ISolidarity
    function setEnergyPoor(address account, bool poor) external {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert SolidarityUnauthorized(msg.sender);
        uint256 position = _position[account];
        if (poor == (position != 0)) return; // already so
        if (poor) {
            if (!_isMember(account)) revert SolidarityNotMember(account);
            if (_recipients.length == MAX_RECIPIENTS) revert SolidarityTooManyRecipients(MAX_RECIPIENTS);
            _recipients.push(account);
            _position[account] = _recipients.length;
        } else {
            address last = _recipients[_recipients.length - 1];
            _recipients[position - 1] = last;
            _position[last] = position;
            _recipients.pop();
            delete _position[account];
        }
        emit EnergyPoorSet(account, poor);
    }

    /// @inheritdoc ISolidarity
    function give(uint256 intervalId, address recipient, uint256 amountWh) external {
        if (_position[recipient] == 0) revert SolidarityNotEnergyPoor(recipient);
        if (amountWh == 0) revert SolidarityNothingToGive(msg.sender, intervalId);
        address[] memory recipients = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        recipients[0] = recipient;
        amounts[0] = amountWh;
        _transfer(msg.sender, intervalId, amountWh, recipients, amounts);
    }

    /// @inheritdoc ISolidarity
    function pledge(uint256 shareBps) external {
        if (shareBps > _BPS) revert SolidarityInvalidShare(shareBps);
        _pledges[msg.sender] = shareBps;
        emit Pledged(msg.sender, shareBps);
    }

    /// @inheritdoc ISolidarity
    function distribute(address giver, uint256[] calldata intervalIds) external returns (uint256 givenWh) {
        uint256 share = _pledges[giver];
        if (share == 0) revert SolidarityNoPledge(giver);
        uint256 lastAllocated = _operation.lastAllocated();
        address[] memory recipients = _recipients;
        uint256 n = recipients.length;
        for (uint256 k; k < intervalIds.length; ++k) {
            uint256 intervalId = intervalIds[k];
            if (intervalId > lastAllocated) revert SolidarityNotShared(intervalId, lastAllocated);
            if (_distributed[giver][intervalId]) revert SolidarityAlreadyDistributed(giver, intervalId);
            _distributed[giver][intervalId] = true;
            uint256 surplus = _token.ownUnspent(giver, intervalId);
            uint256 amount = surplus * share / _BPS;
            uint256[] memory needs = new uint256[](n);
            uint256 need;
            for (uint256 j; j < n; ++j) {
                // a giver flagged itself gives nothing to itself
                needs[j] = recipients[j] == giver ? 0 : _token.redeemable(recipients[j], intervalId);
                need += needs[j];
            }
            if (amount > need) amount = need;
            uint256 given;
            if (amount != 0) {
                for (uint256 j; j < n; ++j) {
                    needs[j] = needs[j] * amount / need; // pro rata of needs, rounded down
                    given += needs[j];
                }
                if (given != 0) _transfer(giver, intervalId, given, recipients, needs);
            }
            emit PledgeDistributed(giver, intervalId, surplus, given);
            givenWh += given;
        }
    }

    /// @dev Whether `account` owns a meter still in the operation (at most `MAX_MEMBERS` to read).
    function _isMember(address account) private view returns (bool) {
        ISelfConsumption.Member[] memory members = _operation.members();
        for (uint256 i; i < members.length; ++i) {
            if (members[i].account == account && members[i].untilInterval == _STILL_IN) return true;
        }
        return false;
    }

    /// @dev Burns `total` of `giver`'s crypto-kWh of `intervalId` and records `amounts` as the
    /// recipients' claims (zero amounts skipped in the events).
    function _transfer(address giver, uint256 intervalId, uint256 total, address[] memory recipients, uint256[] memory amounts)
        private
    {
        address[] memory givers = new address[](1);
        uint256[] memory totals = new uint256[](1);
        givers[0] = giver;
        totals[0] = total;
        _token.tradeToClaims(intervalId, givers, totals, recipients, amounts);
        for (uint256 j; j < recipients.length; ++j) {
            if (amounts[j] != 0) emit Given(giver, recipients[j], intervalId, amounts[j]);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISolidarity
    function isEnergyPoor(address account) external view returns (bool) {
        return _position[account] != 0;
    }

    /// @inheritdoc ISolidarity
    function energyPoor() external view returns (address[] memory) {
        return _recipients;
    }

    /// @inheritdoc ISolidarity
    function pledgeOf(address giver) external view returns (uint256) {
        return _pledges[giver];
    }

    /// @inheritdoc ISolidarity
    function distributed(address giver, uint256 intervalId) external view returns (bool) {
        return _distributed[giver][intervalId];
    }

    /// @notice The community's registry, token and operation.
    function contracts() external view returns (address registry, address token, address operation) {
        return (address(_registry), address(_token), address(_operation));
    }
}
