// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CommunityTreasury
/// @notice What the community earns (the market's grid fees, donations, ...) and pays out: an
/// OpenZeppelin `TimelockController` holding the payment token and ether. Its one proposer (and
/// canceller) is the community's `CommunityGovernor`; anyone executes an operation once its delay
/// has passed; it has no admin (only an executed proposal can change its roles or its delay). So
/// funds leave only through a proposal the members voted for, queued, then executed after
/// `getMinDelay()` seconds.
/// @dev The governor's address is passed before it exists (the deployer computes it from its
/// nonce): the roles are then fixed at construction, with no admin step to renounce.
contract CommunityTreasury is TimelockController {
    /// @param minDelay seconds between a proposal's queueing and its execution
    /// @param governor the `CommunityGovernor`: the only proposer and canceller
    constructor(uint256 minDelay, address governor)
        TimelockController(minDelay, _one(governor), _one(address(0)), address(0))
    {}

    function _one(address account) private pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = account;
    }
}
