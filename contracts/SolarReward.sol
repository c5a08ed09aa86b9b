// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {ISolarReward} from "./interfaces/ISolarReward.sol";

/// @title SolarReward
/// @notice A reward token, one per MWh of a community's verified solar production. See {ISolarReward}.
/// @dev No roles and no admin: tokens are minted by {claim} alone, from the registry's final
/// checkpoints. One storage word per meter (its rewarded Wh); no loop.
contract SolarReward is ISolarReward, ERC20 {
    /// @notice The registered technology of a meter that earns rewards: "solar-pv", right-padded.
    bytes32 public constant SOLAR_TECHNOLOGY = "solar-pv";
    /// @notice Wh of verified export per whole token (SolarCoin: one token per MWh).
    uint256 public constant WH_PER_TOKEN = 1_000_000;
    uint256 private constant _DAY = 86_400;

    IMeterRegistry private immutable _registry;
    mapping(bytes32 meterId => uint256 wh) private _rewardedWh;

    constructor(IMeterRegistry registry_) ERC20("gridshare SolarReward", "SUN") {
        if (address(registry_) == address(0)) revert SolarRewardInvalidRegistry(address(registry_));
        _registry = registry_;
    }

    /// @inheritdoc ISolarReward
    function claim(bytes32 meterId) external returns (uint256 tokens) {
        (address owner, uint256 verified) = _solar(meterId);
        uint256 rewarded = _rewardedWh[meterId];
        tokens = (verified - rewarded) / WH_PER_TOKEN; // verified never decreases: no underflow
        if (tokens == 0) revert SolarRewardNothingToClaim(meterId, rewarded, verified);
        rewarded += tokens * WH_PER_TOKEN;
        _rewardedWh[meterId] = rewarded;
        _mint(owner, tokens * 10 ** decimals());
        emit RewardClaimed(meterId, owner, tokens, rewarded);
    }

    /// @inheritdoc ISolarReward
    function claimable(bytes32 meterId) external view returns (uint256 tokens, uint256 wh, uint256 verifiedWh) {
        (, verifiedWh) = _solar(meterId);
        tokens = (verifiedWh - _rewardedWh[meterId]) / WH_PER_TOKEN;
        wh = tokens * WH_PER_TOKEN;
    }

    /// @inheritdoc ISolarReward
    function rewardedWh(bytes32 meterId) external view returns (uint256) {
        return _rewardedWh[meterId];
    }

    /// @inheritdoc ISolarReward
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @dev The owner of a solar meter and its verified export before the UTC day its verified
    /// readings reached (a checkpoint the registry always knows: see {ISolarReward}).
    function _solar(bytes32 meterId) private view returns (address owner, uint256 verifiedWh) {
        IMeterRegistry.MeterInfo memory info = _registry.meter(meterId); // reverts for an unknown meter
        if (info.technology != SOLAR_TECHNOLOGY) revert SolarRewardNotSolar(meterId, info.technology);
        uint256 day = _registry.meterState(meterId).nextIntervalStart / _DAY;
        return (info.owner, _registry.verifiedExportAt(meterId, day));
    }
}
