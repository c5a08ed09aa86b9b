// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";

/// @notice Test only: a participant that floods a book with minimum-size orders, many per
/// transaction (each resting after the previous one: its id is the next one's hint).
contract DustTrader {
    IEnergyMarket private immutable _market;

    constructor(IEnergyMarket market) {
        _market = market;
    }

    function fund(IERC20 token, uint256 amount) external {
        token.approve(address(_market), amount);
        _market.deposit(amount);
    }

    function bids(uint256 intervalId, uint256 price, uint256 quantityWh, uint256 count) external {
        uint64 hint;
        for (uint256 i; i < count; ++i) {
            hint = _market.placeBid(intervalId, price, quantityWh, hint);
        }
    }

    function asks(uint256 intervalId, uint256 price, uint256 quantityWh, uint256 count) external {
        uint64 hint;
        for (uint256 i; i < count; ++i) {
            hint = _market.placeAsk(intervalId, price, quantityWh, IEnergyMarket.Backing.Collateral, hint);
        }
    }
}
