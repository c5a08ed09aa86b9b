// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestEuro: a TEST payment token for local devnets. It has no value.
/// @notice Anyone may mint up to {FAUCET_LIMIT} per call from the faucet. Six decimals, like the
/// euro stablecoins it stands in for (1 tEUR = 1,000,000 base units). Never deploy it to a chain
/// where real value moves: there, an `EnergyMarket` is deployed with a real payment token.
contract TestEuro is ERC20 {
    uint256 public constant FAUCET_LIMIT = 10_000e6;

    error TestEuroFaucetLimit(uint256 requested, uint256 limit);

    constructor() ERC20("Test Euro (test asset, no value)", "tEUR") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` test euros to the caller.
    function faucet(uint256 amount) external {
        if (amount > FAUCET_LIMIT) revert TestEuroFaucetLimit(amount, FAUCET_LIMIT);
        _mint(msg.sender, amount);
    }
}
