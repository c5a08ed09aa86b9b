// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMeterRegistry} from "../interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";

/// @notice Tests only: an allocator other than `SelfConsumption` (a buggy or rogue operation, once
/// the registry's admin granted it `ALLOCATOR_ROLE`): binds meters, verifies runs and settles
/// whatever it is given, in one transaction.
contract TestAllocator {
    IMeterRegistry public immutable registry;
    IEnergyToken public immutable token;

    constructor(IMeterRegistry registry_, IEnergyToken token_) {
        registry = registry_;
        token = token_;
    }

    function bind(bytes32[] calldata meterIds, uint256 fromInterval) external {
        for (uint256 i; i < meterIds.length; ++i) {
            registry.bindOperation(meterIds[i], fromInterval);
        }
    }

    /// @notice Verifies `runs` (if any), then settles `settlement`, in this one transaction.
    function verifyAndSettle(IMeterRegistry.SignedReadings[] calldata runs, bytes calldata settlement) external {
        if (runs.length != 0) registry.submitReadings(runs);
        token.settleLocal(settlement);
    }

    /// @notice Verifies `runs`, then redeems for `account` (which approved this contract) before
    /// any settlement: refused while the interval awaits its operation's settlement.
    function verifyAndRedeem(
        IMeterRegistry.SignedReadings[] calldata runs,
        address account,
        uint256 intervalId,
        uint256 amountWh
    ) external {
        registry.submitReadings(runs);
        token.redeem(account, intervalId, amountWh);
    }

    /// @notice Verifies `runs`, then trades into claims (as a batch auction holding `ESCROW_ROLE`)
    /// before any settlement: a buyer is refused while the interval awaits its operation's
    /// settlement.
    function verifyAndTrade(
        IMeterRegistry.SignedReadings[] calldata runs,
        uint256 intervalId,
        address[] calldata buyers,
        uint256[] calldata boughtWh
    ) external {
        registry.submitReadings(runs);
        token.tradeToClaims(intervalId, new address[](0), new uint256[](0), buyers, boughtWh);
    }
}
