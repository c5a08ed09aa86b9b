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
    mapping(uint256 intervalId => bool) private _settled;

    /// @dev An order of a batch, read and checked: its owner, limit per Wh, what it may still
    /// trade (capped by what backs it) and what it traded.
    struct Entry {
        address owner;
        uint256 pricePerWh;
        uint256 left;
        uint256 filled;
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
        if (intervalId > type(uint32).max) revert BatchAuctionInvalidInterval(intervalId);
        if (_settled[intervalId]) revert BatchAuctionSettled(intervalId);
        uint256 closes = _market.gateClosure(intervalId);
        if (block.timestamp < closes) revert BatchAuctionTradingOpen(intervalId, closes);
        uint256 deadline = _market.settlementDeadline(intervalId);
        if (block.timestamp >= deadline) revert BatchAuctionExpired(intervalId, deadline);
        _settled[intervalId] = true;
        Entry[] memory buying = _read(intervalId, bids, IEnergyMarket.Side.Bid);
        Entry[] memory selling = _read(intervalId, asks, IEnergyMarket.Side.Ask);
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
        return _settled[intervalId];
    }

    /// @inheritdoc IBatchAuction
    function orderDigest(uint256 intervalId, SignedOrder calldata o) external view returns (bytes32) {
        return _digest(intervalId, o);
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    /// @dev The EIP-712 digest of `o`: its struct hashed where free memory starts (nothing is
    /// allocated: a batch hashes every order). `owner` and `side` are read as the ABI decoder
    /// checked them ({_read} reads both first).
    function _digest(uint256 intervalId, SignedOrder calldata o) private view returns (bytes32) {
        bytes32 typeHash = _ORDER_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            mstore(add(p, 0x20), calldataload(o)) // owner
            mstore(add(p, 0x40), intervalId)
            calldatacopy(add(p, 0x60), add(o, 0x20), 0x80) // side, price, quantityWh, salt
            structHash := keccak256(p, 0xe0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @dev Checks one side's list (side, terms, order, signature, one order per owner) and caps
    /// each order by what backs it now ({_backed}).
    function _read(uint256 intervalId, SignedOrder[] calldata orders, IEnergyMarket.Side side)
        private
        returns (Entry[] memory entries)
    {
        entries = new Entry[](orders.length);
        (uint256 lastPrice, bytes32 lastDigest) = (0, 0);
        for (uint256 i; i < orders.length; ++i) {
            SignedOrder calldata o = orders[i];
            if (o.side != side) revert BatchAuctionWrongSide(side, i);
            address owner = o.owner; // checked by the ABI decoder: hashed raw in {_digest}
            uint256 pricePerWh = _checkTerms(o.price, o.quantityWh);
            bytes32 digest = _digest(intervalId, o);
            if (i != 0 && !_inOrder(side, lastPrice, lastDigest, pricePerWh, digest)) {
                revert BatchAuctionUnsorted(side, i);
            }
            (lastPrice, lastDigest) = (pricePerWh, digest);
            _checkSigner(digest, o, side, i);
            _markOnce(intervalId, side, i, owner);
            entries[i] = Entry(owner, pricePerWh, _backed(intervalId, side, owner, pricePerWh, o.quantityWh), 0);
        }
    }

    /// @dev The order's signature recovers to its owner.
    /// The `ecrecover` precompile called directly (as OpenZeppelin's `ECDSA.tryRecover` with
    /// EIP-2098's `vs`): `s` in the lower half of the curve order (no malleable twin), a signer that
    /// is not the zero address.
    function _checkSigner(bytes32 digest, SignedOrder calldata o, IEnergyMarket.Side side, uint256 index) private view {
        bytes32 r = o.r;
        bytes32 vs = o.vs;
        address owner = o.owner;
        bool good;
        assembly ("memory-safe") {
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            let p := mload(0x40)
            mstore(p, digest)
            mstore(add(p, 0x20), add(shr(255, vs), 27))
            mstore(add(p, 0x40), r)
            mstore(add(p, 0x60), s)
            mstore(0, 0)
            let ok := staticcall(gas(), 1, p, 0x80, 0, 0x20)
            let signer := mload(0)
            good := and(and(ok, lt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1)),
                        and(iszero(iszero(signer)), eq(signer, owner)))
        }
        if (!good) revert BatchAuctionBadSignature(side, index);
    }

    /// @dev The market's rules for an order's terms, with its errors.
    function _checkTerms(uint256 price, uint256 quantityWh) private view returns (uint256 pricePerWh) {
        if (price % _TICK != 0) revert IEnergyMarket.EnergyMarketPriceOffTick(price, _TICK);
        pricePerWh = price / _TICK;
        if (pricePerWh < _feedInPerWh || pricePerWh > _retailPerWh) {
            revert IEnergyMarket.EnergyMarketPriceOutsideBand(price, _feedInPerWh * _TICK, _retailPerWh * _TICK);
        }
        if (quantityWh == 0 || quantityWh > type(uint40).max) revert IEnergyMarket.EnergyMarketInvalidQuantity(quantityWh);
        if (quantityWh < _minOrderWh) revert IEnergyMarket.EnergyMarketOrderTooSmall(quantityWh, _minOrderWh);
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

    /// @dev What of `quantityWh` is backed now: a bid by the owner's import of the interval not
    /// yet consumed and by its claimable money at the limit, an ask by its crypto-kWh.
    function _backed(uint256 intervalId, IEnergyMarket.Side side, address owner, uint256 pricePerWh, uint256 quantityWh)
        private
        view
        returns (uint256 left)
    {
        left = quantityWh;
        if (side == IEnergyMarket.Side.Bid) {
            uint256 redeemable = _energyToken.redeemable(owner, intervalId);
            if (redeemable < left) left = redeemable;
            if (pricePerWh != 0 && _claimable[owner] / pricePerWh < left) left = _claimable[owner] / pricePerWh;
        } else {
            uint256 balance = _energyToken.balanceOf(owner, intervalId);
            if (balance < left) left = balance;
        }
    }

    /// @dev The market's call-auction walk (`EnergyMarket._findPrice`, the engine's
    /// `clear_uniform`) over the capped orders, skipping those with nothing backed: fills as they
    /// come, then the midpoint of the clearing range [max(a_k + fee, b_k+1), min(b_k, a_k+1 + fee)].
    function _match(Entry[] memory buying, Entry[] memory selling)
        private
        view
        returns (uint256 pricePerWh, uint256 volume, bytes memory fills)
    {
        (uint256 i, uint256 j, uint256 n) = (0, 0, 0);
        uint256[] memory trades = new uint256[](buying.length + selling.length);
        (uint256 lastBid, uint256 lastAsk) = (0, 0);
        while (true) {
            while (i < buying.length && buying[i].left == 0) ++i;
            while (j < selling.length && selling[j].left == 0) ++j;
            if (i == buying.length || j == selling.length) break;
            (Entry memory bid, Entry memory ask) = (buying[i], selling[j]);
            if (bid.pricePerWh < ask.pricePerWh + _feePerWh) break;
            uint256 q = bid.left < ask.left ? bid.left : ask.left;
            (bid.left, ask.left, bid.filled, ask.filled) = (bid.left - q, ask.left - q, bid.filled + q, ask.filled + q);
            (lastBid, lastAsk) = (bid.pricePerWh, ask.pricePerWh);
            trades[n++] = i | (j << 64) | (q << 128);
            volume += q;
        }
        if (volume == 0) return (0, 0, "");
        (uint256 lo, uint256 hi) = (lastAsk + _feePerWh, lastBid);
        if (i < buying.length && buying[i].pricePerWh > lo) lo = buying[i].pricePerWh;
        if (j < selling.length && selling[j].pricePerWh + _feePerWh < hi) hi = selling[j].pricePerWh + _feePerWh;
        pricePerWh = (lo + hi) / 2;
        fills = _packFills(buying, selling, trades, n);
    }

    /// @dev {BatchSettled}'s fills: buyer, seller, uint40 Wh per trade (45 bytes).
    function _packFills(Entry[] memory buying, Entry[] memory selling, uint256[] memory trades, uint256 n)
        private
        pure
        returns (bytes memory fills)
    {
        fills = new bytes(45 * n);
        for (uint256 k; k < n; ++k) {
            uint256 t = trades[k];
            uint256 buyer = uint256(uint160(buying[uint64(t)].owner)) << 96;
            uint256 rest = (uint256(uint160(selling[uint64(t >> 64)].owner)) << 96) | ((t >> 128) << 56);
            assembly ("memory-safe") {
                let at := add(add(fills, 0x20), mul(k, 45))
                mstore(at, buyer) // its last 12 bytes are overwritten next
                mstore(add(at, 20), rest) // 7 zero bytes past the fill: the next one's, or free memory
            }
        }
    }

    /// @dev Buyers pay the price from their claimable money, sellers are paid it less the fee;
    /// the energy moves from the sellers into the buyers' claims in one call to the token.
    function _pay(uint256 intervalId, Entry[] memory buying, Entry[] memory selling, uint256 pricePerWh, uint256 volume)
        private
    {
        (address[] memory buyers, uint256[] memory bought) = _traders(buying);
        (address[] memory sellers, uint256[] memory sold) = _traders(selling);
        for (uint256 k; k < buyers.length; ++k) {
            _claimable[buyers[k]] -= bought[k] * pricePerWh; // <= claimable: capped in {_backed}
        }
        for (uint256 k; k < sellers.length; ++k) {
            _claimable[sellers[k]] += sold[k] * (pricePerWh - _feePerWh);
        }
        if (_feePerWh != 0) _claimable[_operator] += volume * _feePerWh;
        _energyToken.tradeToClaims(intervalId, sellers, sold, buyers, bought);
    }

    /// @dev The owners of the entries that traded, and what each traded.
    function _traders(Entry[] memory entries) private pure returns (address[] memory owners, uint256[] memory amounts) {
        (owners, amounts) = (new address[](entries.length), new uint256[](entries.length));
        uint256 n;
        for (uint256 k; k < entries.length; ++k) {
            if (entries[k].filled != 0) (owners[n], amounts[n++]) = (entries[k].owner, entries[k].filled);
        }
        assembly ("memory-safe") {
            mstore(owners, n)
            mstore(amounts, n)
        }
    }
}
