// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title EnergyMarket: a peer-to-peer order book per delivery interval, with escrow and settlement
/// @notice See {IEnergyMarket}. The market must be a registered participant of the registry and
/// hold its `ESCROW_ROLE`: it holds sellers' `EnergyToken`s in escrow ({IEnergyToken-escrow}) and
/// returns what they did not sell as it was ({IEnergyToken-release}: still the seller's own
/// production if it was, so still certifiable).
/// @dev Each interval has two sorted doubly linked lists of orders (best first; among equal
/// prices, oldest first) whose heads share one storage slot. An order takes two slots. Every
/// amount is exact: prices are stored per Wh. Buyers' tokens and everybody's money are only paid
/// out by {claimEnergy} and {withdraw} (an unsold ask's tokens return at once, by the token's
/// hook-free {IEnergyToken-release}), so no external code runs while the book is being changed;
/// every external entry point is non-reentrant besides.
contract EnergyMarket is IEnergyMarket, IERC1155Receiver, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant PRICE_TICK = 1000; // base units per kWh: 1 per Wh

    struct Order {
        address owner;
        uint40 remainingWh;
        uint32 intervalId;
        Side side;
        Backing backing;
        // second slot
        uint64 pricePerWh;
        uint64 next; // the next order of the list, 0 at its end
        uint64 prev; // the previous one (meaningless at the head)
    }

    struct Book {
        uint64 bestBid;
        uint64 bestAsk;
        uint64 clearingPricePerWh;
        AuctionStage stage;
    }

    /// @dev Where a paged clearing of a call auction stopped: the price walk's position (and the
    /// last matched prices), and the volume filled so far.
    struct Cursor {
        uint64 bidId;
        uint64 askId;
        uint64 lastBid;
        uint64 lastAsk;
        // second slot
        uint40 bidLeft;
        uint40 askLeft;
        bool trades;
        uint128 volume;
    }

    /// @dev A seller's forward sales of one interval and their paged settlement: started once the
    /// tokens are pulled, `next` the first delivery not settled, `deliverLeft` the Wh still to give.
    struct ForwardSale {
        uint64 soldWh;
        uint64 deliveredWh;
        uint64 deliverLeft;
        uint32 next;
        bool started;
        bool settled;
    }

    IMeterRegistry private immutable _registry;
    IEnergyToken private immutable _energyToken;
    IERC20 private immutable _payment;
    Design private immutable _design;
    address private immutable _operator;
    uint64 private immutable _feedInPerWh;
    uint64 private immutable _retailPerWh;
    uint64 private immutable _feePerWh;
    uint64 private immutable _intervalSeconds;
    uint64 private immutable _gateClosureDelay;
    uint64 private immutable _settlementWindow;
    uint40 private immutable _minOrderWh;

    uint64 private _lastOrderId;
    mapping(uint64 orderId => Order) private _orders;
    mapping(uint256 intervalId => Book) private _books;
    mapping(uint256 intervalId => Cursor) private _cursors;
    mapping(uint256 intervalId => mapping(address seller => ForwardSale)) private _forwardSales;
    mapping(uint256 intervalId => mapping(address seller => Delivery[])) private _deliveries;
    mapping(address account => uint256) private _claimable;
    mapping(address account => mapping(uint256 intervalId => uint256)) private _claimableEnergy;

    /// @param registry_ the community's `MeterRegistry` (its `EnergyToken` must be set)
    /// @param paymentToken_ the ERC-20 prices are paid in
    /// @param design_ continuous pay-as-bid or call auction pay-as-clear
    /// @param feedIn the lowest price per kWh
    /// @param retail the highest price per kWh, also paid for each Wh sold forward and not delivered
    /// @param gridFee per kWh traded, to `operator_` (may be 0)
    /// @param gateClosureDelay seconds after an interval's end until its orders close
    /// @param settlementWindow seconds after gate closure reserved to sellers for settling
    /// @param minOrderWh the smallest order quantity accepted, 1 to 2^40 - 1 Wh
    constructor(
        IMeterRegistry registry_,
        IERC20 paymentToken_,
        Design design_,
        uint256 feedIn,
        uint256 retail,
        uint256 gridFee,
        address operator_,
        uint256 gateClosureDelay,
        uint256 settlementWindow,
        uint256 minOrderWh
    ) {
        if (address(registry_) == address(0)) revert EnergyMarketInvalidAddress(address(registry_));
        if (address(paymentToken_) == address(0)) revert EnergyMarketInvalidAddress(address(paymentToken_));
        if (operator_ == address(0)) revert EnergyMarketInvalidAddress(operator_);
        address token = registry_.energyToken();
        if (token == address(0)) revert EnergyMarketInvalidAddress(token);
        if (
            feedIn % PRICE_TICK != 0 || retail % PRICE_TICK != 0 || gridFee % PRICE_TICK != 0 || feedIn >= retail
                || gridFee >= retail - feedIn || retail / PRICE_TICK > type(uint64).max
        ) revert EnergyMarketInvalidPrices(feedIn, retail, gridFee);
        if (gateClosureDelay > 365 days || settlementWindow == 0 || settlementWindow > 365 days) {
            revert EnergyMarketInvalidSchedule(gateClosureDelay, settlementWindow);
        }
        _registry = registry_;
        _energyToken = IEnergyToken(token);
        _payment = paymentToken_;
        _design = design_;
        _operator = operator_;
        _feedInPerWh = uint64(feedIn / PRICE_TICK);
        _retailPerWh = uint64(retail / PRICE_TICK);
        _feePerWh = uint64(gridFee / PRICE_TICK);
        _intervalSeconds = registry_.intervalSeconds();
        _gateClosureDelay = uint64(gateClosureDelay);
        _settlementWindow = uint64(settlementWindow);
        if (minOrderWh == 0 || minOrderWh > type(uint40).max) revert EnergyMarketInvalidMinimum(minOrderWh);
        _minOrderWh = uint40(minOrderWh);
    }

    // ----------------------------------------------------------------------------------------
    // Orders

    /// @inheritdoc IEnergyMarket
    function placeBid(uint256 intervalId, uint256 price, uint256 quantityWh, uint64 hint)
        external
        nonReentrant
        returns (uint64 orderId)
    {
        uint64 pricePerWh = _checkOrder(intervalId, price, quantityWh);
        _lock(msg.sender, quantityWh * pricePerWh);
        orderId = ++_lastOrderId;
        emit OrderPlaced(intervalId, orderId, msg.sender, Side.Bid, Backing.Payment, price, quantityWh);
        uint256 left = quantityWh;
        if (_design == Design.ContinuousPayAsBid) left = _takeAsks(intervalId, orderId, pricePerWh, left);
        if (left != 0) _rest(orderId, intervalId, Side.Bid, Backing.Payment, pricePerWh, left, hint);
    }

    /// @inheritdoc IEnergyMarket
    function placeAsk(uint256 intervalId, uint256 price, uint256 quantityWh, Backing backing, uint64 hint)
        external
        nonReentrant
        returns (uint64 orderId)
    {
        uint64 pricePerWh = _checkOrder(intervalId, price, quantityWh);
        if (backing == Backing.Energy) {
            _energyToken.escrow(msg.sender, intervalId, quantityWh); // returned as it was if unsold
        } else if (backing == Backing.Collateral) {
            _lock(msg.sender, quantityWh * _retailPerWh);
        } else {
            revert EnergyMarketInvalidBacking(Side.Ask, backing);
        }
        orderId = ++_lastOrderId;
        emit OrderPlaced(intervalId, orderId, msg.sender, Side.Ask, backing, price, quantityWh);
        uint256 left = quantityWh;
        if (_design == Design.ContinuousPayAsBid) left = _takeBids(intervalId, orderId, pricePerWh, backing, left);
        if (left != 0) _rest(orderId, intervalId, Side.Ask, backing, pricePerWh, left, hint);
    }

    /// @inheritdoc IEnergyMarket
    function cancel(uint64 orderId) external nonReentrant {
        Order storage o = _openOrder(orderId);
        if (o.owner != msg.sender) revert EnergyMarketNotOrderOwner(orderId, o.owner);
        uint256 closes = _gateClosure(o.intervalId);
        if (block.timestamp >= closes) revert EnergyMarketGateClosed(o.intervalId, closes);
        Book storage b = _books[o.intervalId];
        (uint64 prev, uint64 next) = (o.prev, o.next);
        if (o.side == Side.Bid) {
            if (b.bestBid == orderId) b.bestBid = next;
            else _orders[prev].next = next;
        } else {
            if (b.bestAsk == orderId) b.bestAsk = next;
            else _orders[prev].next = next;
        }
        if (next != 0) _orders[next].prev = prev;
        emit OrderCancelled(orderId, _refund(o));
    }

    /// @inheritdoc IEnergyMarket
    function expire(uint64[] calldata orderIds) external nonReentrant {
        for (uint256 i; i < orderIds.length; ++i) {
            Order storage o = _openOrder(orderIds[i]);
            uint256 intervalId = o.intervalId;
            if (!_tradingClosed(intervalId)) revert EnergyMarketTradingOpen(intervalId, _gateClosure(intervalId));
            // left in its list: nothing is inserted or matched once trading closed
            emit OrderExpired(orderIds[i], _refund(o));
        }
    }

    // ----------------------------------------------------------------------------------------
    // Call auction

    /// @inheritdoc IEnergyMarket
    function clear(uint256 intervalId, uint256 maxSteps) external nonReentrant returns (bool done) {
        if (_design != Design.CallAuctionPayAsClear) revert EnergyMarketWrongDesign(_design);
        if (maxSteps == 0) revert EnergyMarketInvalidPage(maxSteps);
        Book storage b = _books[intervalId];
        AuctionStage stage = b.stage;
        if (stage == AuctionStage.Cleared) revert EnergyMarketAlreadyCleared(intervalId);
        uint256 closes = _gateClosure(intervalId);
        if (block.timestamp < closes) revert EnergyMarketTradingOpen(intervalId, closes);
        if (stage == AuctionStage.Open && block.timestamp >= closes + _settlementWindow) {
            revert EnergyMarketAuctionExpired(intervalId, closes + _settlementWindow);
        }
        Cursor memory c;
        if (stage == AuctionStage.Open) {
            (c.bidId, c.askId) = (b.bestBid, b.bestAsk);
            (c.bidLeft, c.askLeft) = (_orders[c.bidId].remainingWh, _orders[c.askId].remainingWh);
        } else {
            c = _cursors[intervalId];
        }
        if (stage != AuctionStage.Filling) {
            bool priced;
            (priced, maxSteps) = _findPrice(b, c, maxSteps);
            if (!priced) {
                b.stage = AuctionStage.Pricing;
                _cursors[intervalId] = c;
                return false;
            }
            if (!c.trades) return _cleared(b, intervalId, 0);
            b.stage = AuctionStage.Filling; // written with the price
            if (maxSteps == 0) {
                _cursors[intervalId] = c;
                return false;
            }
        }
        (uint256 volume, bool filled) = _fillAtUniformPrice(b, intervalId, b.clearingPricePerWh, maxSteps);
        c.volume += uint128(volume);
        if (filled) return _cleared(b, intervalId, c.volume);
        if (stage == AuctionStage.Filling) _cursors[intervalId].volume = c.volume;
        else _cursors[intervalId] = c;
    }

    function _cleared(Book storage b, uint256 intervalId, uint256 volume) private returns (bool) {
        b.stage = AuctionStage.Cleared;
        emit AuctionCleared(intervalId, uint256(b.clearingPricePerWh) * PRICE_TICK, volume);
        return true;
    }

    /// @dev Walks both lists best first from the cursor, at most `steps` times, pairing bids with
    /// asks while they trade. When the walk ends it sets the k-double auction's price (k = 1/2,
    /// `gridshare.domain.matching.clear_uniform`): the midpoint, floored to the tick, of the
    /// clearing range [max(a_k, b_k+1), min(b_k, a_k+1)], asks counted with the grid fee: b_k, a_k
    /// the last matched bid and ask, b_k+1, a_k+1 the orders the walk stopped at (left out, or the
    /// marginal ones' unfilled parts), if any. Returns whether it ended, and the steps left.
    function _findPrice(Book storage b, Cursor memory c, uint256 steps) private returns (bool, uint256) {
        while (c.bidId != 0 && c.askId != 0) {
            Order storage bid = _orders[c.bidId];
            Order storage ask = _orders[c.askId];
            if (bid.pricePerWh < uint256(ask.pricePerWh) + _feePerWh) break;
            if (steps == 0) return (false, 0); // paused: the cursor is where the walk is
            --steps;
            (c.trades, c.lastBid, c.lastAsk) = (true, bid.pricePerWh, ask.pricePerWh);
            uint40 q = c.bidLeft < c.askLeft ? c.bidLeft : c.askLeft;
            (c.bidLeft, c.askLeft) = (c.bidLeft - q, c.askLeft - q);
            if (c.bidLeft == 0) {
                c.bidId = bid.next;
                c.bidLeft = _orders[c.bidId].remainingWh;
            }
            if (c.askLeft == 0) {
                c.askId = ask.next;
                c.askLeft = _orders[c.askId].remainingWh;
            }
        }
        if (c.trades) {
            (uint256 lo, uint256 hi) = (uint256(c.lastAsk) + _feePerWh, c.lastBid);
            if (c.bidId != 0 && _orders[c.bidId].pricePerWh > lo) lo = _orders[c.bidId].pricePerWh;
            if (c.askId != 0 && uint256(_orders[c.askId].pricePerWh) + _feePerWh < hi) {
                hi = uint256(_orders[c.askId].pricePerWh) + _feePerWh;
            }
            b.clearingPricePerWh = uint64((lo + hi) / 2);
        }
        return (true, steps);
    }

    /// @dev Where {_fillAtUniformPrice} is: the current bid and ask, what is left of each, and
    /// what their owners have earned since the walk reached them.
    struct Walk {
        uint64 bidId;
        uint64 askId;
        uint256 bidLeft;
        uint256 askLeft;
        uint256 bought; // by the current bid, from energy-backed asks
        uint256 refund; // to the current bid's owner
        uint256 proceeds; // to the current ask's owner
        uint256 volume;
    }

    /// @dev The same walk as {_findPrice}, now trading at `pricePerWh`, from the heads of the
    /// lists, at most `steps` times: buyers are refunded the difference to their bid, sellers paid
    /// the price less the fee. Each order's storage is written once, when the walk leaves it (or
    /// stops in it: a later page starts from the new heads). Returns the volume and whether the
    /// walk ended.
    function _fillAtUniformPrice(Book storage b, uint256 intervalId, uint256 pricePerWh, uint256 steps)
        private
        returns (uint256, bool filled)
    {
        Walk memory w;
        (w.bidId, w.askId) = (b.bestBid, b.bestAsk);
        Order storage bid = _orders[w.bidId];
        Order storage ask = _orders[w.askId];
        (w.bidLeft, w.askLeft) = (bid.remainingWh, ask.remainingWh);
        while (true) {
            if (w.bidId == 0 || w.askId == 0 || bid.pricePerWh < uint256(ask.pricePerWh) + _feePerWh) {
                filled = true;
                break;
            }
            if (steps == 0) break;
            --steps;
            uint256 q = w.bidLeft < w.askLeft ? w.bidLeft : w.askLeft;
            (w.bidLeft, w.askLeft) = (w.bidLeft - q, w.askLeft - q);
            w.volume += q;
            w.refund += q * (bid.pricePerWh - pricePerWh);
            w.proceeds += q * (pricePerWh - _feePerWh);
            if (ask.backing == Backing.Energy) w.bought += q;
            else _sellForward(intervalId, ask.owner, bid.owner, q);
            emit Traded(intervalId, w.bidId, w.askId, q, pricePerWh * PRICE_TICK);
            if (w.bidLeft == 0) {
                _settleBid(bid, intervalId, w, 0);
                w.bidId = bid.next;
                bid = _orders[w.bidId];
                w.bidLeft = bid.remainingWh;
            }
            if (w.askLeft == 0) {
                _settleAsk(ask, w, 0);
                w.askId = ask.next;
                ask = _orders[w.askId];
                w.askLeft = ask.remainingWh;
            }
        }
        // the orders the walk stopped in, partly filled or untouched
        if (w.bidId != 0 && w.bidLeft != bid.remainingWh) _settleBid(bid, intervalId, w, w.bidLeft);
        if (w.askId != 0 && w.askLeft != ask.remainingWh) _settleAsk(ask, w, w.askLeft);
        (b.bestBid, b.bestAsk) = (w.bidId, w.askId);
        if (_feePerWh != 0 && w.volume != 0) _claimable[_operator] += w.volume * _feePerWh;
        return (w.volume, filled);
    }

    function _settleBid(Order storage bid, uint256 intervalId, Walk memory w, uint256 left) private {
        bid.remainingWh = uint40(left);
        address buyer = bid.owner;
        if (w.refund != 0) _claimable[buyer] += w.refund;
        if (w.bought != 0) _claimableEnergy[buyer][intervalId] += w.bought;
        (w.bought, w.refund) = (0, 0);
    }

    function _settleAsk(Order storage ask, Walk memory w, uint256 left) private {
        ask.remainingWh = uint40(left);
        if (w.proceeds != 0) _claimable[ask.owner] += w.proceeds;
        w.proceeds = 0;
    }

    // ----------------------------------------------------------------------------------------
    // Settlement and payouts

    /// @inheritdoc IEnergyMarket
    function settle(uint256 intervalId, address seller, uint256 maxDeliveries)
        external
        nonReentrant
        returns (bool done)
    {
        if (maxDeliveries == 0) revert EnergyMarketInvalidPage(maxDeliveries);
        ForwardSale storage sale = _forwardSales[intervalId][seller];
        uint256 sold = sale.soldWh;
        if (sold == 0) revert EnergyMarketNothingToSettle(intervalId, seller);
        if (sale.settled) revert EnergyMarketAlreadySettled(intervalId, seller);
        if (!_tradingClosed(intervalId)) revert EnergyMarketTradingOpen(intervalId, _gateClosure(intervalId));
        ForwardSale memory s = sale;
        if (!s.started) {
            uint256 deadline = _gateClosure(intervalId) + _settlementWindow;
            if (msg.sender != seller && block.timestamp < deadline) {
                revert EnergyMarketSettlementReserved(intervalId, seller, deadline);
            }
            uint256 delivered;
            if (_energyToken.isApprovedForAll(seller, address(this))) {
                uint256 balance = _energyToken.balanceOf(seller, intervalId);
                delivered = balance < sold ? balance : sold;
                if (delivered != 0) _energyToken.safeTransferFrom(seller, address(this), intervalId, delivered, "");
            }
            (s.started, s.deliveredWh, s.deliverLeft) = (true, uint64(delivered), uint64(delivered));
            _claimable[seller] += delivered * _retailPerWh; // the collateral of what was delivered
        }
        done = _deliver(intervalId, seller, s, maxDeliveries);
        _forwardSales[intervalId][seller] = s;
        if (done) emit ForwardSettled(intervalId, seller, sold, s.deliveredWh);
    }

    /// @dev Hands out the next `count` deliveries at most, first trades first, from what is left
    /// to give; each Wh missing is paid at the retail price, from the collateral.
    function _deliver(uint256 intervalId, address seller, ForwardSale memory s, uint256 count)
        private
        returns (bool done)
    {
        Delivery[] storage list = _deliveries[intervalId][seller];
        (uint256 i, uint256 n) = (s.next, list.length);
        uint256 end = n - i > count ? i + count : n;
        uint256 left = s.deliverLeft;
        for (; i < end; ++i) {
            (address buyer, uint256 q) = (list[i].buyer, list[i].quantityWh);
            uint256 given = q < left ? q : left;
            left -= given;
            if (given != 0) _claimableEnergy[buyer][intervalId] += given;
            if (given != q) _claimable[buyer] += (q - given) * _retailPerWh;
        }
        (s.next, s.deliverLeft) = (uint32(i), uint64(left)); // fewer than 2^32 trades of one interval
        done = i == n;
        s.settled = done;
    }

    /// @inheritdoc IEnergyMarket
    function deposit(uint256 amount) external nonReentrant {
        _claimable[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
        _payment.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IEnergyMarket
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert EnergyMarketNothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _payment.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IEnergyMarket
    function claimEnergy(uint256[] calldata intervalIds) external nonReentrant {
        uint256[] memory amounts = new uint256[](intervalIds.length);
        uint256 total;
        for (uint256 i; i < intervalIds.length; ++i) {
            uint256 amount = _claimableEnergy[msg.sender][intervalIds[i]];
            if (amount != 0) {
                _claimableEnergy[msg.sender][intervalIds[i]] = 0;
                amounts[i] = amount;
                total += amount;
            }
        }
        if (total == 0) revert EnergyMarketNothingToClaim(msg.sender);
        emit EnergyClaimed(msg.sender, intervalIds, amounts);
        _energyToken.safeBatchTransferFrom(address(this), msg.sender, intervalIds, amounts, "");
    }

    /// @notice Accepts only the `EnergyToken`s the market pulls itself (forward sales' deliveries;
    /// an ask's tokens come by the token's hook-free `escrow`).
    function onERC1155Received(address operator_, address, uint256, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        if (msg.sender != address(_energyToken) || operator_ != address(this)) {
            revert EnergyMarketUnexpectedTokens(msg.sender, operator_);
        }
        return this.onERC1155Received.selector;
    }

    /// @notice Refuses batches: the market never pulls them.
    function onERC1155BatchReceived(address operator_, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        view
        returns (bytes4)
    {
        revert EnergyMarketUnexpectedTokens(msg.sender, operator_);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    // ----------------------------------------------------------------------------------------
    // Views

    function design() external view returns (Design) {
        return _design;
    }

    function paymentToken() external view returns (address) {
        return address(_payment);
    }

    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    function registry() external view returns (address) {
        return address(_registry);
    }

    function operator() external view returns (address) {
        return _operator;
    }

    function prices() external view returns (uint256 feedIn, uint256 retail, uint256 gridFee) {
        return (_feedInPerWh * PRICE_TICK, _retailPerWh * PRICE_TICK, _feePerWh * PRICE_TICK);
    }

    /// @inheritdoc IEnergyMarket
    function minOrderWh() external view returns (uint256) {
        return _minOrderWh;
    }

    function gateClosure(uint256 intervalId) external view returns (uint256) {
        return _gateClosure(intervalId);
    }

    function settlementDeadline(uint256 intervalId) external view returns (uint256) {
        return _gateClosure(intervalId) + _settlementWindow;
    }

    function order(uint64 orderId) external view returns (OrderView memory) {
        if (orderId == 0 || orderId > _lastOrderId) revert EnergyMarketUnknownOrder(orderId);
        return _view(orderId);
    }

    function book(uint256 intervalId, Side side) external view returns (OrderView[] memory orders) {
        Book storage b = _books[intervalId];
        uint64 head = side == Side.Bid ? b.bestBid : b.bestAsk;
        uint256 n;
        for (uint64 id = head; id != 0; id = _orders[id].next) {
            if (_orders[id].remainingWh != 0) ++n;
        }
        orders = new OrderView[](n);
        n = 0;
        for (uint64 id = head; id != 0; id = _orders[id].next) {
            if (_orders[id].remainingWh != 0) orders[n++] = _view(id);
        }
    }

    function auction(uint256 intervalId) external view returns (bool cleared, uint256 price) {
        Book storage b = _books[intervalId];
        return (b.stage == AuctionStage.Cleared, b.clearingPricePerWh * PRICE_TICK);
    }

    /// @inheritdoc IEnergyMarket
    function auctionStage(uint256 intervalId) external view returns (AuctionStage) {
        return _books[intervalId].stage;
    }

    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    function claimableEnergy(address account, uint256 intervalId) external view returns (uint256) {
        return _claimableEnergy[account][intervalId];
    }

    /// @inheritdoc IEnergyMarket
    function forwardSale(uint256 intervalId, address seller)
        external
        view
        returns (uint256 soldWh, bool settled, uint256 deliveredWh, uint256 settledDeliveries)
    {
        ForwardSale storage sale = _forwardSales[intervalId][seller];
        return (sale.soldWh, sale.settled, sale.deliveredWh, sale.next);
    }

    function deliveries(uint256 intervalId, address seller) external view returns (Delivery[] memory) {
        return _deliveries[intervalId][seller];
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    function _checkOrder(uint256 intervalId, uint256 price, uint256 quantityWh) private view returns (uint64) {
        if (intervalId > type(uint32).max) revert EnergyMarketInvalidInterval(intervalId);
        if (!_registry.isParticipant(msg.sender)) revert EnergyMarketNotParticipant(msg.sender);
        uint64 pricePerWh = _checkTerms(price, quantityWh);
        uint256 closes = _gateClosure(intervalId);
        if (block.timestamp >= closes) revert EnergyMarketGateClosed(intervalId, closes);
        return pricePerWh;
    }

    /// @dev An order's price (on the tick, within the band) and quantity (the minimum to 2^40 - 1).
    function _checkTerms(uint256 price, uint256 quantityWh) private view returns (uint64) {
        if (price % PRICE_TICK != 0) revert EnergyMarketPriceOffTick(price, PRICE_TICK);
        uint256 pricePerWh = price / PRICE_TICK;
        if (pricePerWh < _feedInPerWh || pricePerWh > _retailPerWh) {
            revert EnergyMarketPriceOutsideBand(price, _feedInPerWh * PRICE_TICK, _retailPerWh * PRICE_TICK);
        }
        if (quantityWh == 0 || quantityWh > type(uint40).max) revert EnergyMarketInvalidQuantity(quantityWh);
        if (quantityWh < _minOrderWh) revert EnergyMarketOrderTooSmall(quantityWh, _minOrderWh);
        return uint64(pricePerWh);
    }

    /// @dev Locks `amount` of the account's money: its claimable balance first, then the rest
    /// by `transferFrom`.
    function _lock(address account, uint256 amount) private {
        uint256 available = _claimable[account];
        if (available >= amount) {
            _claimable[account] = available - amount;
        } else {
            if (available != 0) _claimable[account] = 0;
            _payment.safeTransferFrom(account, address(this), amount - available);
        }
    }

    /// @dev A continuous bid takes the best asks it reaches, each at the bid's own price.
    function _takeAsks(uint256 intervalId, uint64 bidId, uint256 pricePerWh, uint256 left)
        private
        returns (uint256)
    {
        Book storage b = _books[intervalId];
        uint64 askId = b.bestAsk;
        uint256 bought;
        uint256 volume;
        while (left != 0 && askId != 0) {
            Order storage ask = _orders[askId];
            if (pricePerWh < uint256(ask.pricePerWh) + _feePerWh) break;
            uint256 q = ask.remainingWh;
            if (left < q) q = left;
            left -= q;
            volume += q;
            ask.remainingWh -= uint40(q);
            _claimable[ask.owner] += q * (pricePerWh - _feePerWh);
            if (ask.backing == Backing.Energy) bought += q;
            else _sellForward(intervalId, ask.owner, msg.sender, q);
            emit Traded(intervalId, bidId, askId, q, pricePerWh * PRICE_TICK);
            if (ask.remainingWh != 0) break;
            askId = ask.next;
        }
        if (askId != b.bestAsk) b.bestAsk = askId;
        if (_feePerWh != 0 && volume != 0) _claimable[_operator] += volume * _feePerWh;
        // the taker's own transaction: its tokens go straight to it (a hook of its own runs last)
        if (bought != 0) _energyToken.safeTransferFrom(address(this), msg.sender, intervalId, bought, "");
        return left;
    }

    /// @dev A continuous ask takes the best bids it reaches, each at that bid's price.
    function _takeBids(uint256 intervalId, uint64 askId, uint256 pricePerWh, Backing backing, uint256 left)
        private
        returns (uint256)
    {
        Book storage b = _books[intervalId];
        uint64 bidId = b.bestBid;
        uint256 proceeds;
        uint256 volume;
        while (left != 0 && bidId != 0) {
            Order storage bid = _orders[bidId];
            uint256 bidPricePerWh = bid.pricePerWh;
            if (bidPricePerWh < pricePerWh + _feePerWh) break;
            uint256 q = bid.remainingWh;
            if (left < q) q = left;
            left -= q;
            volume += q;
            bid.remainingWh -= uint40(q);
            proceeds += q * (bidPricePerWh - _feePerWh);
            if (backing == Backing.Energy) _claimableEnergy[bid.owner][intervalId] += q;
            else _sellForward(intervalId, msg.sender, bid.owner, q);
            emit Traded(intervalId, bidId, askId, q, bidPricePerWh * PRICE_TICK);
            if (bid.remainingWh != 0) break;
            bidId = bid.next;
        }
        if (bidId != b.bestBid) b.bestBid = bidId;
        if (proceeds != 0) _claimable[msg.sender] += proceeds;
        if (_feePerWh != 0 && volume != 0) _claimable[_operator] += volume * _feePerWh;
        return left;
    }

    function _sellForward(uint256 intervalId, address seller, address buyer, uint256 q) private {
        _forwardSales[intervalId][seller].soldWh += uint64(q); // q < 2^40; the sum of a book's asks too
        _deliveries[intervalId][seller].push(Delivery(buyer, uint64(q)));
    }

    /// @dev Stores an order and links it into its list after every order at least as good
    /// (searching from `hint` when it is an open order of the same list ahead of it).
    function _rest(
        uint64 orderId,
        uint256 intervalId,
        Side side,
        Backing backing,
        uint64 pricePerWh,
        uint256 remainingWh,
        uint64 hint
    ) private {
        Book storage b = _books[intervalId];
        bool isBid = side == Side.Bid;
        uint64 prev;
        uint64 next = isBid ? b.bestBid : b.bestAsk;
        if (hint != 0) {
            Order storage h = _orders[hint];
            if (
                h.remainingWh != 0 && h.intervalId == intervalId && h.side == side
                    && (isBid ? h.pricePerWh >= pricePerWh : h.pricePerWh <= pricePerWh)
            ) (prev, next) = (hint, h.next);
        }
        while (next != 0) {
            uint64 p = _orders[next].pricePerWh;
            if (isBid ? pricePerWh > p : pricePerWh < p) break;
            (prev, next) = (next, _orders[next].next);
        }
        _orders[orderId] = Order({
            owner: msg.sender,
            remainingWh: uint40(remainingWh),
            intervalId: uint32(intervalId), // below 2^32: _checkOrder
            side: side,
            backing: backing,
            pricePerWh: pricePerWh,
            next: next,
            prev: prev
        });
        if (prev == 0) {
            if (isBid) b.bestBid = orderId;
            else b.bestAsk = orderId;
        } else {
            _orders[prev].next = orderId;
        }
        if (next != 0) _orders[next].prev = orderId;
    }

    /// @dev Closes an open order and returns what is left of it: money to its owner's claimable
    /// balance, an energy ask's tokens straight to its owner (`EnergyToken.release`).
    function _refund(Order storage o) private returns (uint256 remaining) {
        remaining = o.remainingWh;
        o.remainingWh = 0;
        if (o.backing == Backing.Payment) _claimable[o.owner] += remaining * o.pricePerWh;
        else if (o.backing == Backing.Collateral) _claimable[o.owner] += remaining * _retailPerWh;
        else if (remaining != 0) _energyToken.release(o.owner, o.intervalId, remaining); // no hook runs
    }

    function _openOrder(uint64 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.owner == address(0)) revert EnergyMarketUnknownOrder(orderId);
        if (o.remainingWh == 0) revert EnergyMarketOrderClosed(orderId);
    }

    function _gateClosure(uint256 intervalId) private view returns (uint256) {
        return (intervalId + 1) * _intervalSeconds + _gateClosureDelay;
    }

    /// @dev Reverts while a call auction is being cleared page by page (its orders are spoken for).
    function _tradingClosed(uint256 intervalId) private view returns (bool) {
        uint256 closes = _gateClosure(intervalId);
        if (_design == Design.ContinuousPayAsBid) return block.timestamp >= closes;
        AuctionStage stage = _books[intervalId].stage;
        if (stage == AuctionStage.Cleared) return true;
        if (stage != AuctionStage.Open) revert EnergyMarketClearing(intervalId); // being cleared: nothing else moves
        return block.timestamp >= closes + _settlementWindow;
    }

    function _view(uint64 id) private view returns (OrderView memory) {
        Order storage o = _orders[id];
        return OrderView(id, o.owner, o.side, o.backing, o.intervalId, uint256(o.pricePerWh) * PRICE_TICK, o.remainingWh);
    }
}
