// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IBatchAuction} from "./interfaces/IBatchAuction.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title BatchAuction: orders signed off-chain, an interval's batch cleared and settled in one call
/// @notice See {IBatchAuction}. Holds the registry's `ESCROW_ROLE` (for
/// `EnergyToken.tradeToClaims`); holds no energy and no order: only buyers' and sellers' money.
/// @dev Gas, per order: its calldata, its digest and `ecrecover`, one read of what backs it, one
/// write of its owner's money; per batch, one call to the token, which burns each seller's sold
/// Wh and records each buyer's claim in lanes its readings wrote. No loop runs over anything but
/// the batch the sender pays for.
contract BatchAuction is IBatchAuction, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 private constant _ORDER_TYPEHASH =
        keccak256("Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt)");
    uint256 private constant _TICK = 1000; // the market's PRICE_TICK

    IEnergyMarket private immutable _market;
    IEnergyToken private immutable _energyToken;
    IERC20 private immutable _payment;
    address private immutable _operator;
    uint256 private immutable _feedInPerWh;
    uint256 private immutable _retailPerWh;
    uint256 private immutable _feePerWh;
    uint256 private immutable _minOrderWh;

    mapping(address account => uint256) private _claimable;
    /// @dev Settled batches, one bit per interval: bit `id & 255` of word `id >> 8` (a batch
    /// usually sets a bit of a word its neighbours' batches already wrote).
    mapping(uint256 word => uint256 bits) private _settled;

    /// @dev One side of a batch, read and checked, in its list's order: per order its owner, its
    /// limit per Wh, what it may trade (its quantity capped by what backs it) and, as the walk
    /// goes, what is left of that.
    struct Book {
        address[] owners;
        uint256[] prices;
        uint256[] caps;
        uint256[] left;
    }

    /// @param market_ the community's `EnergyMarket`: its token, payment token, prices, fee,
    /// operator, schedule and minimum order are this auction's
    constructor(IEnergyMarket market_) EIP712("gridshare BatchAuction", "1") {
        if (address(market_) == address(0) || market_.energyToken() == address(0)) {
            revert BatchAuctionInvalidMarket(address(market_));
        }
        _market = market_;
        _energyToken = IEnergyToken(market_.energyToken());
        _payment = IERC20(market_.paymentToken());
        _operator = market_.operator();
        (uint256 feedIn, uint256 retail, uint256 fee) = market_.prices();
        (_feedInPerWh, _retailPerWh, _feePerWh) = (feedIn / _TICK, retail / _TICK, fee / _TICK);
        _minOrderWh = market_.minOrderWh();
    }

    /// @inheritdoc IBatchAuction
    function settleBatch(uint256 intervalId, SignedOrder[] calldata bids, SignedOrder[] calldata asks)
        external
        nonReentrant
    {
        _open(intervalId);
        bytes32 domain = _domainSeparatorV4();
        Book memory buying = _read(domain, intervalId, bids, IEnergyMarket.Side.Bid);
        Book memory selling = _read(domain, intervalId, asks, IEnergyMarket.Side.Ask);
        (uint256[] memory redeemable, uint256[] memory balances) =
            _energyToken.tradeBacking(intervalId, buying.owners, selling.owners);
        _cap(buying, redeemable, true);
        _cap(selling, balances, false);
        (uint256 pricePerWh, uint256 volume, bytes memory fills) = _match(buying, selling);
        if (volume == 0) revert BatchAuctionEmpty(intervalId);
        _pay(intervalId, buying, selling, pricePerWh, volume);
        emit BatchSettled(intervalId, pricePerWh * _TICK, volume, fills);
    }

    /// @inheritdoc IBatchAuction
    function deposit(uint256 amount) external nonReentrant {
        _claimable[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
        _payment.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IBatchAuction
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert BatchAuctionNothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _payment.safeTransfer(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------------------
    // Views

    function market() external view returns (address) {
        return address(_market);
    }

    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @inheritdoc IBatchAuction
    function batchSettled(uint256 intervalId) external view returns (bool) {
        return (_settled[intervalId >> 8] >> (intervalId & 255)) & 1 == 1;
    }

    /// @inheritdoc IBatchAuction
    function orderDigest(uint256 intervalId, SignedOrder calldata o) external view returns (bytes32) {
        uint256 at;
        assembly ("memory-safe") {
            at := o
        }
        return _digest(_domainSeparatorV4(), intervalId, at);
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    /// @dev Between the interval's gate closure and its settlement deadline, once: marks it settled.
    function _open(uint256 intervalId) private {
        if (intervalId > type(uint32).max) revert BatchAuctionInvalidInterval(intervalId);
        uint256 bit = 1 << (intervalId & 255);
        uint256 word = _settled[intervalId >> 8];
        if (word & bit != 0) revert BatchAuctionSettled(intervalId);
        uint256 closes = _market.gateClosure(intervalId);
        if (block.timestamp < closes) revert BatchAuctionTradingOpen(intervalId, closes);
        uint256 deadline = _market.settlementDeadline(intervalId);
        if (block.timestamp >= deadline) revert BatchAuctionExpired(intervalId, deadline);
        _settled[intervalId >> 8] = word | bit;
    }

    /// @dev The EIP-712 digest of the order at calldata offset `at` (a `SignedOrder`: owner, side,
    /// price, quantityWh, salt, r, vs, a word each), hashed where free memory starts (nothing is
    /// allocated: a batch hashes every order). Its owner and side are hashed as they are in
    /// calldata: {_read} checks both first.
    function _digest(bytes32 domain, uint256 intervalId, uint256 at) private pure returns (bytes32 digest) {
        bytes32 typeHash = _ORDER_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            mstore(add(p, 0x20), calldataload(at)) // owner
            mstore(add(p, 0x40), intervalId)
            calldatacopy(add(p, 0x60), add(at, 0x20), 0x80) // side, price, quantityWh, salt
            let structHash := keccak256(p, 0xe0)
            // OpenZeppelin's MessageHashUtils.toTypedDataHash
            mstore(p, hex"1901")
            mstore(add(p, 0x02), domain)
            mstore(add(p, 0x22), structHash)
            digest := keccak256(p, 0x42)
        }
    }

    /// @dev Checks one side's list (side, terms, order, signature, one order per owner): its
    /// book, each order capped by its quantity only (what backs it caps it next, {_cap}).
    function _read(bytes32 domain, uint256 intervalId, SignedOrder[] calldata orders, IEnergyMarket.Side side)
        private
        returns (Book memory book)
    {
        book = Book(new address[](orders.length), new uint256[](orders.length), new uint256[](orders.length),
                    new uint256[](orders.length));
        bytes32 lastDigest;
        for (uint256 i; i < orders.length; ++i) {
            uint256 at; // the order's calldata offset: the decoder checked that the list fits
            assembly ("memory-safe") {
                at := add(orders.offset, mul(i, 0xe0))
            }
            (address owner, uint256 pricePerWh, uint256 quantityWh) = _terms(at, side, i);
            (book.owners[i], book.prices[i], book.caps[i]) = (owner, pricePerWh, quantityWh);
            bytes32 digest = _digest(domain, intervalId, at);
            if (i != 0 && !_inOrder(side, book.prices[i - 1], lastDigest, pricePerWh, digest)) {
                revert BatchAuctionUnsorted(side, i);
            }
            lastDigest = digest;
            _checkSigner(digest, at, owner, side, i);
            _markOnce(intervalId, side, i, owner);
        }
    }

    /// @dev The order at calldata offset `at`: its owner, and its terms checked by the market's
    /// rules (with its errors): price per Wh, quantity.
    function _terms(uint256 at, IEnergyMarket.Side side, uint256 index)
        private
        view
        returns (address owner, uint256 pricePerWh, uint256 quantityWh)
    {
        uint256 price;
        bool sideOk;
        assembly ("memory-safe") {
            let word := calldataload(at)
            if shr(160, word) { revert(0, 0) } // not an address: as the ABI decoder
            owner := word
            sideOk := eq(calldataload(add(at, 0x20)), side)
            price := calldataload(add(at, 0x40))
            quantityWh := calldataload(add(at, 0x60))
        }
        if (!sideOk) revert BatchAuctionWrongSide(side, index);
        if (price % _TICK != 0) revert IEnergyMarket.EnergyMarketPriceOffTick(price, _TICK);
        pricePerWh = price / _TICK;
        if (pricePerWh < _feedInPerWh || pricePerWh > _retailPerWh) {
            revert IEnergyMarket.EnergyMarketPriceOutsideBand(price, _feedInPerWh * _TICK, _retailPerWh * _TICK);
        }
        if (quantityWh == 0 || quantityWh > type(uint40).max) revert IEnergyMarket.EnergyMarketInvalidQuantity(quantityWh);
        if (quantityWh < _minOrderWh) revert IEnergyMarket.EnergyMarketOrderTooSmall(quantityWh, _minOrderWh);
    }

    /// @dev The order's signature (`r`, `vs` at `at + 0xa0`) recovers to its owner.
    /// The `ecrecover` precompile called directly (as OpenZeppelin's `ECDSA.tryRecover` with
    /// EIP-2098's `vs`): `s` in the lower half of the curve order (no malleable twin), a signer that
    /// is not the zero address.
    function _checkSigner(bytes32 digest, uint256 at, address owner, IEnergyMarket.Side side, uint256 index)
        private
        view
    {
        bool good;
        assembly ("memory-safe") {
            let vs := calldataload(add(at, 0xc0))
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            let p := mload(0x40)
            mstore(p, digest)
            mstore(add(p, 0x20), add(shr(255, vs), 27))
            mstore(add(p, 0x40), calldataload(add(at, 0xa0))) // r
            mstore(add(p, 0x60), s)
            mstore(0, 0)
            let ok := staticcall(gas(), 1, p, 0x80, 0, 0x20)
            let signer := mload(0)
            good := and(and(ok, lt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1)),
                        and(iszero(iszero(signer)), eq(signer, owner)))
        }
        if (!good) revert BatchAuctionBadSignature(side, index);
    }

    /// @dev Best first: bids by price descending, asks ascending; equal prices by digest ascending
    /// (strictly: the same order twice is out of place).
    function _inOrder(IEnergyMarket.Side side, uint256 lastPrice, bytes32 lastDigest, uint256 price, bytes32 digest)
        private
        pure
        returns (bool)
    {
        if (price == lastPrice) return digest > lastDigest;
        return side == IEnergyMarket.Side.Bid ? price < lastPrice : price > lastPrice;
    }

    /// @dev One order per owner and side in an interval's batch: a transient mark per owner
    /// (keyed by the interval too: two batches in one transaction do not see each other's).
    function _markOnce(uint256 intervalId, IEnergyMarket.Side side, uint256 index, address owner) private {
        uint256 seen;
        assembly ("memory-safe") {
            // keyed by owner, side and interval (scratch space): no other transient slot of this
            // contract (the reentrancy guard's) is such a hash
            mstore(0, owner)
            mstore(0x20, or(shl(32, intervalId), add(side, 1)))
            let key := keccak256(0, 0x40)
            seen := tload(key)
            tstore(key, 1)
        }
        if (seen != 0) revert BatchAuctionDuplicateOwner(side, index, owner);
    }

    /// @dev Caps each order by what backs it now (`backing`, from the token's {tradeBacking}): a
    /// bid by its owner's import of the interval not yet consumed and by its claimable money at
    /// its limit, an ask by its owner's crypto-kWh. What is left to trade starts at the cap.
    function _cap(Book memory book, uint256[] memory backing, bool bids) private view {
        for (uint256 i; i < backing.length; ++i) {
            uint256 cap = book.caps[i];
            if (backing[i] < cap) cap = backing[i];
            if (bids) {
                uint256 price = book.prices[i];
                if (price != 0) {
                    uint256 affordable = _claimable[book.owners[i]] / price;
                    if (affordable < cap) cap = affordable;
                }
            }
            (book.caps[i], book.left[i]) = (cap, cap);
        }
    }

    /// @dev The market's call-auction walk (`EnergyMarket._findPrice`, the engine's
    /// `clear_uniform`) over the capped orders, skipping those with nothing backed: fills as they
    /// come, then the midpoint of the clearing range [max(a_k + fee, b_k+1), min(b_k, a_k+1 + fee)].
    function _match(Book memory buying, Book memory selling)
        private
        view
        returns (uint256 pricePerWh, uint256 volume, bytes memory fills)
    {
        (uint256[] memory bidLeft, uint256[] memory askLeft) = (buying.left, selling.left);
        (uint256[] memory bidPrices, uint256[] memory askPrices) = (buying.prices, selling.prices);
        uint256 fee = _feePerWh;
        uint256[] memory trades = new uint256[](bidLeft.length + askLeft.length);
        (uint256 i, uint256 j, uint256 n) = (0, 0, 0);
        while (true) {
            while (i < bidLeft.length && bidLeft[i] == 0) ++i;
            while (j < askLeft.length && askLeft[j] == 0) ++j;
            if (i == bidLeft.length || j == askLeft.length || bidPrices[i] < askPrices[j] + fee) break;
            uint256 q = bidLeft[i] < askLeft[j] ? bidLeft[i] : askLeft[j];
            (bidLeft[i], askLeft[j]) = (bidLeft[i] - q, askLeft[j] - q);
            trades[n++] = i | (j << 64) | (q << 128);
            volume += q;
        }
        if (volume == 0) return (0, 0, "");
        {
            uint256 last = trades[n - 1]; // the marginal pair: the last matched bid and ask
            (uint256 lo, uint256 hi) = (askPrices[uint64(last >> 64)] + fee, bidPrices[uint64(last)]);
            if (i < bidLeft.length && bidPrices[i] > lo) lo = bidPrices[i];
            if (j < askLeft.length && askPrices[j] + fee < hi) hi = askPrices[j] + fee;
            pricePerWh = (lo + hi) / 2;
        }
        fills = _packFills(buying.owners, selling.owners, trades, n);
    }

    /// @dev {BatchSettled}'s fills: buyer, seller, uint40 Wh per trade (45 bytes).
    function _packFills(address[] memory buyers, address[] memory sellers, uint256[] memory trades, uint256 n)
        private
        pure
        returns (bytes memory fills)
    {
        fills = new bytes(45 * n);
        for (uint256 k; k < n; ++k) {
            uint256 t = trades[k];
            uint256 buyer = uint256(uint160(buyers[uint64(t)])) << 96;
            uint256 rest = (uint256(uint160(sellers[uint64(t >> 64)])) << 96) | ((t >> 128) << 56);
            assembly ("memory-safe") {
                let at := add(add(fills, 0x20), mul(k, 45))
                mstore(at, buyer) // its last 12 bytes are overwritten next
                mstore(add(at, 20), rest) // 7 zero bytes past the fill: the next one's, or free memory
            }
        }
    }

    /// @dev Buyers pay the price from their claimable money, sellers are paid it less the fee;
    /// the energy moves from the sellers into the buyers' claims in one call to the token.
    function _pay(uint256 intervalId, Book memory buying, Book memory selling, uint256 pricePerWh, uint256 volume)
        private
    {
        (address[] memory buyers, uint256[] memory bought) = _traded(buying);
        (address[] memory sellers, uint256[] memory sold) = _traded(selling);
        for (uint256 k; k < buyers.length; ++k) {
            _claimable[buyers[k]] -= bought[k] * pricePerWh; // <= claimable: capped in {_cap}
        }
        uint256 sellerPrice = pricePerWh - _feePerWh;
        for (uint256 k; k < sellers.length; ++k) {
            _claimable[sellers[k]] += sold[k] * sellerPrice;
        }
        if (_feePerWh != 0) _claimable[_operator] += volume * _feePerWh;
        _energyToken.tradeToClaims(intervalId, sellers, sold, buyers, bought);
    }

    /// @dev The owners of the book's orders that traded, and what each traded (its cap less what
    /// is left), in the book's own arrays (overwritten: the book is spent).
    function _traded(Book memory book) private pure returns (address[] memory owners, uint256[] memory amounts) {
        (owners, amounts) = (book.owners, book.caps);
        uint256[] memory left = book.left;
        uint256 n;
        for (uint256 k; k < owners.length; ++k) {
            uint256 traded = amounts[k] - left[k];
            if (traded != 0) {
                (owners[n], amounts[n]) = (owners[k], traded);
                ++n;
            }
        }
        assembly ("memory-safe") {
            mstore(owners, n)
            mstore(amounts, n)
        }
    }
}
