// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEnergyMarket} from "./IEnergyMarket.sol";

/// @title IBatchAuction: an interval's orders signed off-chain, settled in one transaction
/// @notice After an interval's readings, members sign orders off-chain (EIP-712 `Order` of this
/// contract's domain, docs/protocol.md) instead of sending them; once the interval's gate closed,
/// anyone sends the whole batch in one {settleBatch}, which checks every signature, caps each order
/// by what backs it now, clears it as the market's call auction does (one uniform price, the
/// k-double auction's, k = 1/2) and settles it at once: money between claimable balances (buyers
/// {deposit} first), energy from the sellers straight into the buyers' time-matched claims
/// (`EnergyToken.tradeToClaims`). One batch per interval: an order cannot be replayed. The
/// community's `EnergyMarket` keeps its on-chain book; this contract takes its prices, fee,
/// schedule and minimum order from it.
interface IBatchAuction {
    /// @notice An order for an interval's batch, as its owner signs it: the EIP-712 struct
    /// `Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt)`
    /// of this contract's domain (interval and side from the batch): `price` per kWh (the market's
    /// tick and band), `quantityWh` at least the market's minimum, `salt` any number (to tell
    /// apart two orders otherwise equal).
    struct Order {
        address owner;
        IEnergyMarket.Side side;
        uint256 price;
        uint256 quantityWh;
        uint256 salt;
    }

    error BatchAuctionInvalidMarket(address market);
    /// @notice Each list best first (bids by price descending, asks ascending), equal prices by
    /// their EIP-712 digest ascending; `index` is the first order out of place (or a duplicate).
    error BatchAuctionUnsorted(IEnergyMarket.Side side, uint256 index);
    /// @notice A list of packed orders whose `length` in bytes is not a whole number of orders
    /// (`ORDER_BYTES` each).
    error BatchAuctionMalformed(IEnergyMarket.Side side, uint256 length);
    /// @notice One order per owner and side in a batch.
    error BatchAuctionDuplicateOwner(IEnergyMarket.Side side, uint256 index, address owner);
    /// @notice The signature does not recover to the order's owner.
    error BatchAuctionBadSignature(IEnergyMarket.Side side, uint256 index);
    /// @notice An interval has one batch; this one is settled.
    error BatchAuctionSettled(uint256 intervalId);
    /// @notice No order of the batch trades (nothing is recorded: a later batch may).
    error BatchAuctionEmpty(uint256 intervalId);
    /// @notice Before gate closure.
    error BatchAuctionTradingOpen(uint256 intervalId, uint256 gateClosure);
    /// @notice After the settlement deadline.
    error BatchAuctionExpired(uint256 intervalId, uint256 deadline);
    error BatchAuctionInvalidInterval(uint256 intervalId);
    error BatchAuctionNothingToClaim(address account);

    /// @notice Interval `intervalId`'s batch settled at one `price` per kWh (what buyers pay;
    /// sellers get it less the grid fee). `fills` packs every trade in walk order, 45 bytes
    /// each: buyer (20 bytes), seller (20), Wh (uint40, big-endian).
    event BatchSettled(uint256 indexed intervalId, uint256 price, uint256 quantityWh, bytes fills);
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Settles interval `intervalId`'s batch, from its gate closure until its settlement
    /// deadline, once; anyone may send it. `bids` and `asks` are signed orders packed back to
    /// back, `ORDER_BYTES` (109) each: owner (20 bytes), price (uint96), quantityWh (uint40), salt
    /// (uint64), then the owner's signature in EIP-2098's compact form, r (32) and vs (32); the
    /// side is the list's. Each order trades at most what backs it when the batch
    /// runs: a bid, its owner's verified import of the interval not yet consumed and what its
    /// claimable money pays at its limit; an ask, its owner's crypto-kWh of the interval. The
    /// sender chooses which signed orders it includes: it cannot alter them, trade them beyond
    /// their limits or at two prices (docs/market.md).
    function settleBatch(uint256 intervalId, bytes calldata bids, bytes calldata asks) external;

    /// @notice Adds `amount` (by `transferFrom`) to the caller's claimable money, which its bids spend.
    function deposit(uint256 amount) external;

    /// @notice Pays out the caller's claimable money.
    function withdraw() external returns (uint256 amount);

    function market() external view returns (address);
    function claimable(address account) external view returns (uint256);
    /// @notice Whether the interval's batch is settled.
    function batchSettled(uint256 intervalId) external view returns (bool);
    /// @notice The EIP-712 digest an owner signs for `order` in interval `intervalId`.
    function orderDigest(uint256 intervalId, Order calldata order) external view returns (bytes32);
}
