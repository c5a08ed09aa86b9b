// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title ISolarReward: one reward token per MWh of verified solar production (SolarCoin's rule)
/// @notice An ERC-20 (18 decimals) minted only by {claim}: a solar meter's verified export, read
/// from the community's `MeterRegistry`, earns its owner one whole token (1e18 units) per
/// 1,000,000 Wh. Each meter's rewarded Wh are stored; a claim rewards only the whole MWh verified
/// since, and the remainder (< 1 MWh) carries to the next claim: over time a meter's owner receives
/// exactly floor(verified Wh / 1,000,000) tokens, never twice for the same Wh.
/// @dev What is counted is the meter's verified export up to the start of the UTC day its verified
/// readings (or signed outages) reached: `MeterRegistry.verifiedExportAt(meterId, day)` with
/// `day = meterState(meterId).nextIntervalStart / 86400`, a checkpoint the registry always knows
/// and which is final (later readings only add later intervals). The export of the day in progress
/// is counted by a claim once the meter's readings reach the next day. A meter is solar when its
/// registered technology is "solar-pv" (bytes32, right-padded with zeros: `SOLAR_TECHNOLOGY`).
interface ISolarReward is IERC20Metadata {
    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    error SolarRewardInvalidRegistry(address registry);
    /// @notice Only meters whose registered technology is "solar-pv" earn rewards; this one's is
    /// `technology`.
    error SolarRewardNotSolar(bytes32 meterId, bytes32 technology);
    /// @notice Less than one MWh verified since the last claim: `verifiedWh` (the meter's verified
    /// export counted now) minus `rewardedWh` (already rewarded) is below 1,000,000 Wh.
    error SolarRewardNothingToClaim(bytes32 meterId, uint256 rewardedWh, uint256 verifiedWh);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `tokens` whole tokens (`tokens * 1e18` units) minted to the meter's `owner`; the
    /// meter's Wh rewarded so far are now `rewardedWh` (a multiple of 1,000,000).
    event RewardClaimed(bytes32 indexed meterId, address indexed owner, uint256 tokens, uint256 rewardedWh);

    // ------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------

    /// @notice Mints to the meter's owner one token per whole MWh of the meter's verified export not
    /// yet rewarded, and records those Wh as rewarded (the remainder carries). Callable by anyone:
    /// the tokens always go to the meter's registered owner (which never changes) and the amount is
    /// fixed by final registry data, so a caller other than the owner can only pay the owner's gas
    /// (a keeper or the operator may claim for every member); there is nothing to front-run.
    /// Reverts: `MeterRegistryUnknownMeter` (from the registry) for a meter never registered;
    /// `SolarRewardNotSolar` for another technology; `SolarRewardNothingToClaim` below one MWh
    /// (always for a consumer meter, which exports nothing).
    /// @return tokens the whole tokens minted
    function claim(bytes32 meterId) external returns (uint256 tokens);

    /// @notice What {claim} would mint now: `tokens` whole tokens, covering `wh` Wh
    /// (`tokens * 1,000,000`), out of the meter's verified export counted now, `verifiedWh`.
    /// Reverts as {claim}, except that nothing to claim returns zero tokens.
    function claimable(bytes32 meterId) external view returns (uint256 tokens, uint256 wh, uint256 verifiedWh);

    /// @notice The meter's Wh already rewarded: a multiple of 1,000,000 (zero for a meter never claimed).
    function rewardedWh(bytes32 meterId) external view returns (uint256);

    function registry() external view returns (address);
}
