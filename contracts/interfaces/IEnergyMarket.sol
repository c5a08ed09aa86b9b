// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEnergyMarket: the peer-to-peer order book of a community, per delivery interval
/// @notice Participants buy and sell local energy for one delivery interval (its id is the interval
/// id of the `EnergyToken`). A bid locks its payment; an ask is backed either by the seller's
/// `EnergyToken` of that interval (energy already produced and verified) or, for a forward sale
/// before delivery, by collateral: the retail price of its quantity, in the payment token.
///
/// Two designs, fixed per deployment: a continuous book with price-time priority where every trade
/// is at the bid's price (pay-as-bid), or a call auction cleared at gate closure by anyone at one
/// uniform price (pay-as-clear: the k-double auction's, the midpoint of the clearing range, docs/market.md).
///
/// Prices are payment-token base units per kWh, multiples of {PRICE_TICK} (an integer price per
/// Wh, so every amount is exact), between the feed-in and the retail price. A bid and an ask
/// trade when `bid.price - gridFee >= ask.price`; the buyer pays the trade price, the operator
/// receives the grid fee, the seller the rest.
///
/// Timeline of interval `t` (start `S`, length `L`): orders until gate closure `S + L +
/// gateClosureDelay`; then, for forward sales, settlement: the seller's tokens of the interval
/// move to the buyers, and each Wh it does not deliver is paid to the buyer at the retail price out
/// of its collateral; from the settlement deadline (gate closure + settlement window) anyone may
/// settle a seller. Orders that can no longer trade expire (refunds) at anyone's call.
///
/// Every amount owed goes to a claimable balance (pull payments): money through {withdraw},
/// energy through {claimEnergy}; only a taker bid's tokens go straight to the bidder, in its own
/// transaction. Bids and collateral draw on the claimable money first: {deposit} once, then each
/// order costs no token transfer.
/// @dev The reference for every formula is the pure-Python engine `gridshare.matching`.
interface IEnergyMarket {
    enum Design {
        ContinuousPayAsBid,
        CallAuctionPayAsClear
    }

    enum Side {
        Bid,
        Ask
    }

    /// @notice What an order locks: a bid its payment; an ask the seller's tokens of the interval
    /// (Energy) or the retail price of its quantity (Collateral, a forward sale).
    enum Backing {
        Payment,
        Energy,
        Collateral
    }

    /// @notice A call auction's progress: Open (taking orders, then waiting to be cleared),
    /// Pricing (the walk for the price is paused), Filling (price found, fills paged), Cleared.
    enum AuctionStage {
        Open,
        Pricing,
        Filling,
        Cleared
    }

    struct OrderView {
        uint64 id;
        address owner;
        Side side;
        Backing backing;
        uint256 intervalId;
        uint256 price; // per kWh
        uint256 remainingWh;
    }

    /// @notice One forward buyer of a seller in an interval, in trade order.
    struct Delivery {
        address buyer;
        uint64 quantityWh;
    }

    error EnergyMarketInvalidAddress(address value);
    /// @notice Deployment prices: feed-in < retail, both on the tick, and the grid fee below their gap.
    error EnergyMarketInvalidPrices(uint256 feedIn, uint256 retail, uint256 gridFee);
    error EnergyMarketInvalidSchedule(uint256 gateClosureDelay, uint256 settlementWindow);
    error EnergyMarketNotParticipant(address account);
    /// @notice Prices per kWh are multiples of the tick (1,000 base units: an integer price per Wh).
    error EnergyMarketPriceOffTick(uint256 price, uint256 tick);
    error EnergyMarketPriceOutsideBand(uint256 price, uint256 feedIn, uint256 retail);
    /// @notice Zero, or above 2^40 - 1 Wh.
    error EnergyMarketInvalidQuantity(uint256 quantityWh);
    /// @notice An order below the deployment's minimum order size (dust costs every clearing).
    error EnergyMarketOrderTooSmall(uint256 quantityWh, uint256 minimumWh);
    /// @notice Deployment: the minimum order size is 1 to 2^40 - 1 Wh.
    error EnergyMarketInvalidMinimum(uint256 minimumWh);
    /// @notice A bid is backed by payment, an ask by energy or collateral.
    error EnergyMarketInvalidBacking(Side side, Backing backing);
    error EnergyMarketGateClosed(uint256 intervalId, uint256 gateClosure);
    /// @notice Interval ids are below 2^32 (an interval id is its start divided by the interval length).
    error EnergyMarketInvalidInterval(uint256 intervalId);
    error EnergyMarketUnknownOrder(uint64 orderId);
    error EnergyMarketNotOrderOwner(uint64 orderId, address owner);
    /// @notice Nothing left of the order: filled, cancelled or expired.
    error EnergyMarketOrderClosed(uint64 orderId);
    /// @notice The order's interval still trades: until gate closure, or, in a call auction, until
    /// it is cleared or its settlement deadline passes.
    error EnergyMarketTradingOpen(uint256 intervalId, uint256 gateClosure);
    error EnergyMarketWrongDesign(Design design);
    error EnergyMarketAlreadyCleared(uint256 intervalId);
    /// @notice A call auction past its settlement deadline is void: its orders expire.
    error EnergyMarketAuctionExpired(uint256 intervalId, uint256 deadline);
    /// @notice A page of clearing or settlement takes at least one step.
    error EnergyMarketInvalidPage(uint256 maxSteps);
    /// @notice The interval's auction is being cleared page by page: its orders wait for it.
    error EnergyMarketClearing(uint256 intervalId);
    error EnergyMarketAlreadySettled(uint256 intervalId, address seller);
    error EnergyMarketNothingToSettle(uint256 intervalId, address seller);
    /// @notice Before the settlement deadline only the seller settles its forward sales.
    error EnergyMarketSettlementReserved(uint256 intervalId, address seller, uint256 deadline);
    error EnergyMarketNothingToClaim(address account);
    /// @notice The market only takes `EnergyToken`s it pulls itself.
    error EnergyMarketUnexpectedTokens(address token, address operator);

    event OrderPlaced(
        uint256 indexed intervalId,
        uint64 indexed orderId,
        address indexed owner,
        Side side,
        Backing backing,
        uint256 price,
        uint256 quantityWh
    );
    event OrderCancelled(uint64 indexed orderId, uint256 remainingWh);
    event OrderExpired(uint64 indexed orderId, uint256 remainingWh);
    /// @notice `price` is what the buyer pays per kWh; the seller gets it less the grid fee.
    event Traded(uint256 indexed intervalId, uint64 indexed bidId, uint64 indexed askId, uint256 quantityWh, uint256 price);
    event AuctionCleared(uint256 indexed intervalId, uint256 price, uint256 quantityWh);
    event ForwardSettled(uint256 indexed intervalId, address indexed seller, uint256 soldWh, uint256 deliveredWh);
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event EnergyClaimed(address indexed account, uint256[] intervalIds, uint256[] amountsWh);

    /// @notice Places a bid for `quantityWh` of interval `intervalId` at `price` per kWh; locks
    /// `quantityWh * price / 1000`, from the bidder's claimable money first, then by `transferFrom`.
    /// In the continuous design it first trades with the best asks; the tokens bought from
    /// energy-backed asks are transferred to the bidder at once. `hint`: an order of the same
    /// book after which it rests (0: search from the best); a stale hint only costs gas.
    function placeBid(uint256 intervalId, uint256 price, uint256 quantityWh, uint64 hint) external returns (uint64 orderId);

    /// @notice Places an ask backed by `backing`: Energy takes the seller's tokens of the interval
    /// into escrow (`EnergyToken.escrow`: approval for all needed), Collateral locks `quantityWh * retailPrice / 1000` like a bid.
    function placeAsk(uint256 intervalId, uint256 price, uint256 quantityWh, Backing backing, uint64 hint)
        external
        returns (uint64 orderId);

    /// @notice Cancels what is left of the caller's order, before gate closure; refunds it: money
    /// to the owner's claimable balance, an energy-backed ask's tokens straight back to the owner
    /// as they were (`EnergyToken.release`: its own production stays certifiable).
    function cancel(uint64 orderId) external;

    /// @notice Refunds what is left of orders that can no longer trade (as {cancel}). Anyone may call.
    function expire(uint64[] calldata orderIds) external;

    /// @notice Call auction: clears the interval's book at one uniform price, page by page: each
    /// call walks at most `maxSteps` orders, first to find the price, then to fill; a large book
    /// takes several calls, and no book can outgrow them. Starts between gate closure and the
    /// settlement deadline; once started, continues at any time until done. Anyone may call.
    /// @return done whether the auction is now cleared ({AuctionCleared} emitted)
    function clear(uint256 intervalId, uint256 maxSteps) external returns (bool done);

    /// @notice Delivers `seller`'s forward sales of the interval once trading closed: the first
    /// call moves up to the sold quantity of its tokens (approval needed) into the market and
    /// returns the collateral of what is delivered to the seller; then, at most `maxDeliveries`
    /// deliveries per call, first trades first, each buyer is given its tokens, and the retail
    /// price of what it did not receive, from the collateral. The seller starts it (anyone after
    /// the settlement deadline); once started, anyone may continue it.
    /// @return done whether every delivery is settled ({ForwardSettled} emitted)
    function settle(uint256 intervalId, address seller, uint256 maxDeliveries) external returns (bool done);

    /// @notice Adds `amount` (by `transferFrom`) to the caller's claimable money, which orders lock
    /// first: trading from a deposit saves a token transfer per order.
    function deposit(uint256 amount) external;

    /// @notice Pays out the caller's claimable money.
    function withdraw() external returns (uint256 amount);

    /// @notice Transfers the caller's claimable tokens of these intervals.
    function claimEnergy(uint256[] calldata intervalIds) external;

    function PRICE_TICK() external view returns (uint256);
    function design() external view returns (Design);
    function paymentToken() external view returns (address);
    function energyToken() external view returns (address);
    function registry() external view returns (address);
    function operator() external view returns (address);
    /// @return feedIn the lowest price, retail the highest and the compensation for undelivered Wh,
    /// gridFee per kWh to the operator (all per kWh)
    function prices() external view returns (uint256 feedIn, uint256 retail, uint256 gridFee);
    /// @notice The smallest order quantity accepted, in Wh (a deployment setting).
    function minOrderWh() external view returns (uint256);
    function gateClosure(uint256 intervalId) external view returns (uint256);
    function settlementDeadline(uint256 intervalId) external view returns (uint256);
    function order(uint64 orderId) external view returns (OrderView memory);
    /// @notice The open orders of one side of a book, best first (price, then time).
    function book(uint256 intervalId, Side side) external view returns (OrderView[] memory);
    /// @return cleared whether the call auction is cleared, price its uniform price (0 if nothing
    /// traded; set once the price is found, while the fills may still be paged)
    function auction(uint256 intervalId) external view returns (bool cleared, uint256 price);
    /// @notice Where the interval's call auction is (paged clearing: {clear}).
    function auctionStage(uint256 intervalId) external view returns (AuctionStage);
    function claimable(address account) external view returns (uint256);
    function claimableEnergy(address account, uint256 intervalId) external view returns (uint256);
    /// @return soldWh the seller's forward sales of the interval, settled whether every delivery is
    /// settled, deliveredWh the seller's tokens the settlement took (once started),
    /// settledDeliveries how many of its {deliveries} are settled (0: not started; paged settlement)
    function forwardSale(uint256 intervalId, address seller)
        external
        view
        returns (uint256 soldWh, bool settled, uint256 deliveredWh, uint256 settledDeliveries);
    function deliveries(uint256 intervalId, address seller) external view returns (Delivery[] memory);
}
