// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";

/// @notice Test only: a participant whose ERC-1155 hooks call back into the market, to check
/// that reentrancy through token hooks fails.
contract ReentrantParticipant {
    IEnergyMarket private immutable _market;
    uint256[] private _intervalIds;

    constructor(IEnergyMarket market) {
        _market = market;
    }

    function approve(IERC20 token, uint256 amount) external {
        token.approve(address(_market), amount);
    }

    function bid(uint32 intervalId, uint256 price, uint256 quantityWh) external {
        _market.placeBid(intervalId, price, quantityWh, 0);
    }

    function claimEnergy(uint256[] calldata intervalIds) external {
        _intervalIds = intervalIds;
        _market.claimEnergy(intervalIds);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _market.claimEnergy(_intervalIds); // a second claim from inside the first
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _market.claimEnergy(_intervalIds);
        return this.onERC1155BatchReceived.selector;
    }
}
