// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {ICommunityVotes} from "./interfaces/ICommunityVotes.sol";

/// @title CommunityVotes
/// @notice The members' votes in the community's governance (`CommunityGovernor`), one weight per
/// registered meter computed from its verified export. See {ICommunityVotes} for the rule.
/// @dev OpenZeppelin `ERC20Votes` with a timestamp clock (ERC-6372 "mode=timestamp"); transfers,
/// approvals and delegation to others revert. No role: the rule is the only way in or out.
contract CommunityVotes is ICommunityVotes, ERC20Votes {
    /// @inheritdoc ICommunityVotes
    uint256 public constant BASE_WEIGHT = 1_000_000;
    /// @inheritdoc ICommunityVotes
    uint256 public constant WINDOW_DAYS = 365;
    uint256 private constant _DAY = 86_400;

    IMeterRegistry private immutable _registry;
    uint256 private immutable _capWh;
    mapping(bytes32 meterId => uint256) private _meterWeights;

    /// @param registry_ the community's `MeterRegistry`
    /// @param capWh_ the most a meter's verified export over 365 days adds to its weight, in Wh
    constructor(IMeterRegistry registry_, uint256 capWh_)
        ERC20("gridshare community votes", "VOTE")
        EIP712("gridshare community votes", "1")
    {
        if (address(registry_) == address(0)) revert CommunityVotesInvalidRegistry(address(registry_));
        if (capWh_ > type(uint64).max) revert CommunityVotesInvalidCap(capWh_);
        _registry = registry_;
        _capWh = capWh_;
    }

    // ------------------------------------------------------------------------------------------
    // The rule
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ICommunityVotes
    function sync(bytes32 meterId) external returns (uint256 weight) {
        address owner;
        uint256 exportWh;
        uint256 toDay;
        (weight, exportWh, toDay, owner) = _rule(meterId);
        uint256 previous = _meterWeights[meterId];
        if (weight == previous) return weight;
        _meterWeights[meterId] = weight;
        if (delegates(owner) == address(0)) _delegate(owner, owner); // members vote without a transaction
        if (weight > previous) _mint(owner, weight - previous);
        else _burn(owner, previous - weight);
        emit WeightSynced(meterId, owner, previous, weight, exportWh, toDay);
    }

    /// @inheritdoc ICommunityVotes
    function ruleWeight(bytes32 meterId) external view returns (uint256 weight, uint256 exportWh, uint256 toDay) {
        (weight, exportWh, toDay,) = _rule(meterId);
    }

    /// @dev The rule of {ICommunityVotes}; reverts with `MeterRegistryUnknownMeter` for an unknown
    /// meter. The registry's checkpoint of `toDay` always exists: the meter's readings reached
    /// `nextIntervalStart`, at or after `toDay`'s start (or that start is at or before its first
    /// interval, where the export before it is 0).
    function _rule(bytes32 meterId)
        private
        view
        returns (uint256 weight, uint256 exportWh, uint256 toDay, address owner)
    {
        IMeterRegistry.MeterInfo memory m = _registry.meter(meterId);
        owner = m.owner;
        toDay = _registry.meterState(meterId).nextIntervalStart / _DAY;
        if (!m.active) return (0, 0, toDay, owner);
        uint256 fromDay = toDay > WINDOW_DAYS ? toDay - WINDOW_DAYS : 0;
        if (fromDay < toDay) exportWh = _registry.verifiedExportBetween(meterId, fromDay, toDay);
        weight = BASE_WEIGHT + (exportWh < _capWh ? exportWh : _capWh);
    }

    // ------------------------------------------------------------------------------------------
    // Not transferable
    // ------------------------------------------------------------------------------------------

    function transfer(address to, uint256 value) public view override returns (bool) {
        revert CommunityVotesNotTransferable(_msgSender(), to, value);
    }

    function transferFrom(address from, address to, uint256 value) public pure override returns (bool) {
        revert CommunityVotesNotTransferable(from, to, value);
    }

    function approve(address spender, uint256 value) public view override returns (bool) {
        revert CommunityVotesNoApprovals(_msgSender(), spender, value);
    }

    /// @dev `delegate` and `delegateBySig` both come here: only to oneself.
    function _delegate(address account, address delegatee) internal override {
        if (delegatee != account) revert CommunityVotesNoDelegation(account, delegatee);
        super._delegate(account, delegatee);
    }

    // ------------------------------------------------------------------------------------------
    // Clock (ERC-6372): seconds, so that voting delay and period are durations
    // ------------------------------------------------------------------------------------------

    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc ICommunityVotes
    function meterWeight(bytes32 meterId) external view returns (uint256) {
        return _meterWeights[meterId];
    }

    /// @inheritdoc ICommunityVotes
    function capWh() external view returns (uint256) {
        return _capWh;
    }

    /// @inheritdoc ICommunityVotes
    function registry() external view returns (address) {
        return address(_registry);
    }
}
