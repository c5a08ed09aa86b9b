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
/// write of its owner's money; per batch, two calls to the token: one reads what backs every
/// order ({IEnergyToken-tradeBacking}), one burns each seller's sold Wh and records each buyer's
/// claim in lanes its readings wrote ({IEnergyToken-tradeToClaims}). The per-order loops are
/// assembly (a batch's gas is nearly all per order); the checks they make are written once more
/// in Solidity, which names the first order refused with its error ({_refuseOrder}). No loop runs
/// over anything but the batch the sender pays for.
contract BatchAuction is IBatchAuction, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @dev keccak256("Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt)"),
    /// as a number for assembly (tests compare {orderDigest} with eth_account's EIP-712 digest).
    bytes32 private constant _ORDER_TYPEHASH = 0x9f6c3b4b5e4181cbb3563e922cc8841bb53bb216c833ddcedc9ca6fac7e43834;
    uint256 private constant _TICK = 1000; // the market's PRICE_TICK
    /// @notice The bytes of one packed order in {settleBatch}'s lists: owner (20), price (uint96),
    /// quantityWh (uint40), salt (uint64), r (32), vs (32).
    uint256 public constant ORDER_BYTES = 109;

    IEnergyMarket private immutable _market;
    IEnergyToken private immutable _energyToken;
    IERC20 private immutable _payment;
    address private immutable _operator;
    uint256 private immutable _feedInPerWh;
    uint256 private immutable _retailPerWh;
    uint256 private immutable _feePerWh;
    uint256 private immutable _minOrderWh;
    /// @dev The market's schedule, read once: interval 0's gate closure, then one interval more
    /// per interval id; the settlement deadline a window after gate closure.
    uint256 private immutable _firstGateClosure;
    uint256 private immutable _intervalSeconds;
    uint256 private immutable _settlementWindow;

    /// @dev An entry's Wh left to trade: its low 64 bits (its limit per Wh is above, `<< 64`).
    uint256 private constant _LEFT = 0xffffffffffffffff;

    mapping(address account => uint256) private _claimable;
    /// @dev Settled batches, one bit per interval: bit `id & 255` of word `id >> 8` (a batch
    /// usually sets a bit of a word its neighbours' batches already wrote).
    mapping(uint256 word => uint256 bits) private _settled;

    /// @dev One side of a batch, read and checked, in its list's order: per order its owner, what
    /// it may trade (its quantity capped by what backs it) and its entry for the walk: its limit
    /// per Wh `<< 64` | the Wh it has left to trade (the market's prices fit 64 bits, quantities 40).
    struct Book {
        address[] owners;
        uint256[] caps;
        uint256[] entries;
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
        uint256 first = market_.gateClosure(0);
        (_firstGateClosure, _intervalSeconds) = (first, market_.gateClosure(1) - first);
        _settlementWindow = market_.settlementDeadline(0) - first;
    }

    /// @inheritdoc IBatchAuction
    function settleBatch(uint256 intervalId, bytes calldata bids, bytes calldata asks)
        external
        nonReentrant
    {
        _open(intervalId);
        bytes32 domain = _domainSeparatorV4();
        Book memory buying = _read(domain, intervalId, bids, IEnergyMarket.Side.Bid);
        Book memory selling = _read(domain, intervalId, asks, IEnergyMarket.Side.Ask);
        (uint256[] memory redeemable, uint256[] memory balances) = _backing(intervalId, buying.owners, selling.owners);
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
    function orderDigest(uint256 intervalId, Order calldata o) external view returns (bytes32) {
        return _digest(_domainSeparatorV4(), intervalId, o.owner, uint256(o.side), o.price, o.quantityWh, o.salt);
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    /// @dev Between the interval's gate closure and its settlement deadline (the market's), once:
    /// marks it settled.
    function _open(uint256 intervalId) private {
        if (intervalId > type(uint32).max) revert BatchAuctionInvalidInterval(intervalId);
        uint256 bit = 1 << (intervalId & 255);
        uint256 word = _settled[intervalId >> 8];
        if (word & bit != 0) revert BatchAuctionSettled(intervalId);
        uint256 closes = _firstGateClosure + intervalId * _intervalSeconds;
        if (block.timestamp < closes) revert BatchAuctionTradingOpen(intervalId, closes);
        uint256 deadline = closes + _settlementWindow;
        if (block.timestamp >= deadline) revert BatchAuctionExpired(intervalId, deadline);
        _settled[intervalId >> 8] = word | bit;
    }

    /// @dev The EIP-712 digest of an order, its struct hashed where free memory starts (nothing
    /// is allocated).
    function _digest(
        bytes32 domain,
        uint256 intervalId,
        address owner,
        uint256 side,
        uint256 price,
        uint256 quantityWh,
        uint256 salt
    ) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, _ORDER_TYPEHASH)
            mstore(add(p, 0x20), owner)
            mstore(add(p, 0x40), intervalId)
            mstore(add(p, 0x60), side)
            mstore(add(p, 0x80), price)
            mstore(add(p, 0xa0), quantityWh)
            mstore(add(p, 0xc0), salt)
            let structHash := keccak256(p, 0xe0)
            // OpenZeppelin's MessageHashUtils.toTypedDataHash
            mstore(p, hex"1901")
            mstore(add(p, 0x02), domain)
            mstore(add(p, 0x22), structHash)
            digest := keccak256(p, 0x42)
        }
    }

    /// @dev Reads one side's packed list into its book, each order capped by its quantity only
    /// (what backs it caps it next, {_cap}). Per order, in assembly (the batch's hot path): the
    /// market's terms, the EIP-712 digest, the list's order, the signature, one order per owner.
    /// The first order refused stops the walk; {_refuseOrder} then runs the same checks in
    /// Solidity to name it with its error.
    function _read(bytes32 domain, uint256 intervalId, bytes calldata orders, IEnergyMarket.Side side)
        private
        returns (Book memory book)
    {
        if (orders.length % ORDER_BYTES != 0) revert BatchAuctionMalformed(side, orders.length);
        book = Book(new address[](orders.length / ORDER_BYTES), new uint256[](orders.length / ORDER_BYTES),
                    new uint256[](orders.length / ORDER_BYTES));
        uint256[3] memory rules = [_feedInPerWh, _retailPerWh, _minOrderWh];
        uint256 bad; // 1 + the index of the first order refused
        uint256[] memory seen; // the owners seen: an open-addressing table of 2^k >= 2n words, by address
        {
            uint256 size = 2;
            while (size < 2 * book.owners.length) size <<= 1;
            seen = new uint256[](size);
        }
        assembly ("memory-safe") {
            // {_terms} and {_inOrder} of order `i` at `at`: the tick, the band (`rules_`: feed-in and
            // retail per Wh, the minimum order), the quantity (not 0; it fits 40 bits), the minimum;
            // bids by price descending, asks ascending, equal prices by digest ascending. Its entry
            // (limit per Wh << 64), owner and quantity go to the book.
            function placed(at, i, side_, rules_, book_, lastDigest, digest) -> ok {
                let head := calldataload(at)
                let price := and(head, 0xffffffffffffffffffffffff)
                let quantity := shr(216, calldataload(add(at, 32)))
                let perWh := div(price, _TICK)
                ok := iszero(or(or(mod(price, _TICK), iszero(quantity)),
                                or(or(lt(perWh, mload(rules_)), gt(perWh, mload(add(rules_, 0x20)))),
                                   lt(quantity, mload(add(rules_, 0x40))))))
                let o := shl(5, add(i, 1))
                if i {
                    let lastPrice := shr(64, mload(add(mload(add(book_, 0x40)), sub(o, 0x20))))
                    let inOrder := gt(digest, lastDigest)
                    if iszero(eq(perWh, lastPrice)) { inOrder := xor(lt(perWh, lastPrice), side_) } // 0 bid, 1 ask
                    ok := and(ok, inOrder)
                }
                mstore(add(mload(book_), o), shr(96, head))
                mstore(add(mload(add(book_, 0x20)), o), quantity)
                mstore(add(mload(add(book_, 0x40)), o), shl(64, perWh))
            }
            // {_digestAt}, hashed at `p`
            function digestAt(p, domain_, intervalId_, side_, at) -> d {
                let head := calldataload(at)
                let tail := calldataload(add(at, 32))
                mstore(p, _ORDER_TYPEHASH)
                mstore(add(p, 0x20), shr(96, head)) // owner
                mstore(add(p, 0x40), intervalId_)
                mstore(add(p, 0x60), side_)
                mstore(add(p, 0x80), and(head, 0xffffffffffffffffffffffff)) // price
                mstore(add(p, 0xa0), shr(216, tail)) // quantityWh
                mstore(add(p, 0xc0), and(shr(152, tail), 0xffffffffffffffff)) // salt
                let structHash := keccak256(p, 0xe0)
                mstore(p, hex"1901")
                mstore(add(p, 0x02), domain_)
                mstore(add(p, 0x22), structHash)
                d := keccak256(p, 0x42)
            }
            // {_checkSigner}
            function signedBy(p, digest, at) -> ok {
                let vs := calldataload(add(at, 77))
                let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                mstore(p, digest)
                mstore(add(p, 0x20), add(shr(255, vs), 27))
                mstore(add(p, 0x40), calldataload(add(at, 45))) // r
                mstore(add(p, 0x60), s)
                mstore(0, 0)
                let called := staticcall(gas(), 1, p, 0x80, 0, 0x20) // apart: Yul evaluates right to left
                let owner := shr(96, calldataload(at))
                ok := and(and(called, lt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1)),
                          and(iszero(iszero(owner)), eq(mload(0), owner)))
            }
            // {_checkOnce}: the order's owner (not 0: signed) had no order before in this list;
            // entered in the table of owners seen (`seen_`, 2^k words, probed linearly from the
            // address's low bits)
            function firstOf(at, seen_) -> ok {
                let owner := shr(96, calldataload(at))
                let mask_ := sub(mload(seen_), 1)
                for { let k := and(owner, mask_) } 1 { k := and(add(k, 1), mask_) } {
                    let slot := add(seen_, shl(5, add(k, 1)))
                    let entry := mload(slot)
                    if iszero(entry) {
                        mstore(slot, owner)
                        ok := 1
                        break
                    }
                    if eq(entry, owner) { break }
                }
            }
            let lastDigest := 0
            for { let i := 0 } lt(mul(i, ORDER_BYTES), orders.length) { i := add(i, 1) } {
                let at := add(orders.offset, mul(i, ORDER_BYTES))
                let digest := digestAt(mload(0x40), domain, intervalId, side, at)
                if iszero(placed(at, i, side, rules, book, lastDigest, digest)) {
                    bad := add(i, 1)
                    break
                }
                if iszero(signedBy(mload(0x40), digest, at)) {
                    bad := add(i, 1)
                    break
                }
                if iszero(firstOf(at, seen)) {
                    bad := add(i, 1)
                    break
                }
                lastDigest := digest
            }
        }
        if (bad != 0) _refuseOrder(domain, intervalId, orders, side, bad - 1, book);
    }

    /// @dev Names why order `index` of `orders` was refused by {_read}'s walk (the orders before
    /// it were read into `book`): its terms, its place in the list, its signature, else a second
    /// order of its owner.
    function _refuseOrder(
        bytes32 domain,
        uint256 intervalId,
        bytes calldata orders,
        IEnergyMarket.Side side,
        uint256 index,
        Book memory book
    ) private view {
        uint256 at;
        assembly ("memory-safe") {
            at := add(orders.offset, mul(index, ORDER_BYTES))
        }
        (address owner, uint256 price, uint256 quantityWh,) = _unpack(at);
        uint256 pricePerWh = _terms(price, quantityWh);
        bytes32 digest = _digestAt(domain, intervalId, side, at);
        if (index != 0) {
            bytes32 lastDigest = _digestAt(domain, intervalId, side, at - ORDER_BYTES);
            if (!_inOrder(side, book.entries[index - 1] >> 64, lastDigest, pricePerWh, digest)) {
                revert BatchAuctionUnsorted(side, index);
            }
        }
        _checkSigner(digest, at, owner, side, index);
        _checkOnce(book.owners, index, owner, side);
    }

    /// @dev The packed order at calldata offset `at`: owner, price, quantityWh, salt.
    function _unpack(uint256 at)
        private
        pure
        returns (address owner, uint256 price, uint256 quantityWh, uint256 salt)
    {
        assembly ("memory-safe") {
            let head := calldataload(at)
            let tail := calldataload(add(at, 32))
            owner := shr(96, head)
            price := and(head, 0xffffffffffffffffffffffff)
            quantityWh := shr(216, tail)
            salt := and(shr(152, tail), 0xffffffffffffffff)
        }
    }

    /// @dev The digest of the packed order at calldata offset `at`, for `side`.
    function _digestAt(bytes32 domain, uint256 intervalId, IEnergyMarket.Side side, uint256 at)
        private
        pure
        returns (bytes32)
    {
        (address owner, uint256 price, uint256 quantityWh, uint256 salt) = _unpack(at);
        return _digest(domain, intervalId, owner, uint256(side), price, quantityWh, salt);
    }

    /// @dev An order's terms checked by the market's rules, with its errors; its price per Wh.
    function _terms(uint256 price, uint256 quantityWh) private view returns (uint256 pricePerWh) {
        if (price % _TICK != 0) revert IEnergyMarket.EnergyMarketPriceOffTick(price, _TICK);
        pricePerWh = price / _TICK;
        if (pricePerWh < _feedInPerWh || pricePerWh > _retailPerWh) {
            revert IEnergyMarket.EnergyMarketPriceOutsideBand(price, _feedInPerWh * _TICK, _retailPerWh * _TICK);
        }
        if (quantityWh == 0) revert IEnergyMarket.EnergyMarketInvalidQuantity(quantityWh);
        if (quantityWh < _minOrderWh) revert IEnergyMarket.EnergyMarketOrderTooSmall(quantityWh, _minOrderWh);
    }

    /// @dev The signature of the packed order at `at` (r at `at + 45`, vs at `at + 77`) recovers to
    /// its owner. The `ecrecover` precompile called directly (as OpenZeppelin's `ECDSA.tryRecover`
    /// with EIP-2098's `vs`): `s` in the lower half of the curve order (no malleable twin), a
    /// signer that is not the zero address.
    function _checkSigner(bytes32 digest, uint256 at, address owner, IEnergyMarket.Side side, uint256 index)
        private
        view
    {
        (address signer, uint256 s) = (address(0), 0);
        assembly ("memory-safe") {
            let vs := calldataload(add(at, 77))
            s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            let p := mload(0x40)
            mstore(p, digest)
            mstore(add(p, 0x20), add(shr(255, vs), 27))
            mstore(add(p, 0x40), calldataload(add(at, 45))) // r
            mstore(add(p, 0x60), s)
            mstore(0, 0)
            if staticcall(gas(), 1, p, 0x80, 0, 0x20) { signer := mload(0) }
        }
        if (s >= 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1 || signer == address(0)
            || signer != owner) revert BatchAuctionBadSignature(side, index);
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

    /// @dev One order per owner and side in a batch: `owner` has none before `index` in `owners`.
    function _checkOnce(address[] memory owners, uint256 index, address owner, IEnergyMarket.Side side) private pure {
        for (uint256 k; k < index; ++k) {
            if (owners[k] == owner) revert BatchAuctionDuplicateOwner(side, index, owner);
        }
    }

    /// @dev Caps each order by what backs it now (`backing`, from the token's {tradeBacking}): a
    /// bid by its owner's import of the interval not yet consumed and by its claimable money at
    /// its limit, an ask by its owner's crypto-kWh. What is left to trade starts at the cap.
    function _cap(Book memory book, uint256[] memory backing, bool bids) private view {
        assembly ("memory-safe") {
            let owners := mload(book)
            let caps := mload(add(book, 0x20))
            let entries := mload(add(book, 0x40))
            if iszero(eq(mload(backing), mload(caps))) { revert(0, 0) } // the token answers per order
            for { let o := 0x20 } iszero(gt(o, shl(5, mload(caps)))) { o := add(o, 0x20) } {
                let cap := mload(add(caps, o))
                let backed := mload(add(backing, o))
                if lt(backed, cap) { cap := backed }
                let price := shr(64, mload(add(entries, o)))
                if and(bids, iszero(iszero(price))) {
                    mstore(0, mload(add(owners, o)))
                    mstore(0x20, _claimable.slot)
                    let affordable := div(sload(keccak256(0, 0x40)), price)
                    if lt(affordable, cap) { cap := affordable }
                }
                mstore(add(caps, o), cap)
                mstore(add(entries, o), or(shl(64, price), cap))
            }
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
        uint256 fee = _feePerWh;
        uint256[] memory trades = new uint256[](buying.entries.length + selling.entries.length);
        uint256 n;
        (uint256 nextBid, uint256 nextAsk) = (type(uint256).max, type(uint256).max); // the first left out
        assembly ("memory-safe") {
            // `bp`, `ap` walk the bids' and asks' entries (up to `bEnd`, `aEnd`); each trade, at
            // `tp`, packs the bid's entry pointer, the ask's `<< 64` and the Wh `<< 128`
            function walk(bp, bEnd, ap, aEnd, fee_, tp) -> bpOut, apOut, tpOut, traded {
                for {} 1 {} {
                    for {} and(lt(bp, bEnd), iszero(and(mload(bp), _LEFT))) {} { bp := add(bp, 0x20) }
                    for {} and(lt(ap, aEnd), iszero(and(mload(ap), _LEFT))) {} { ap := add(ap, 0x20) }
                    if iszero(and(lt(bp, bEnd), lt(ap, aEnd))) { break }
                    let b := mload(bp)
                    let a := mload(ap)
                    if lt(shr(64, b), add(shr(64, a), fee_)) { break }
                    let q := and(b, _LEFT)
                    if lt(and(a, _LEFT), q) { q := and(a, _LEFT) }
                    mstore(bp, sub(b, q))
                    mstore(ap, sub(a, q))
                    mstore(tp, or(or(bp, shl(64, ap)), shl(128, q)))
                    tp := add(tp, 0x20)
                    traded := add(traded, q)
                }
                bpOut := bp
                apOut := ap
                tpOut := tp
            }
            let bids := mload(add(buying, 0x40))
            let asks := mload(add(selling, 0x40))
            let bEnd := add(bids, shl(5, add(mload(bids), 1)))
            let aEnd := add(asks, shl(5, add(mload(asks), 1)))
            let bp, ap, tp, traded := walk(add(bids, 0x20), bEnd, add(asks, 0x20), aEnd, fee, add(trades, 0x20))
            if lt(bp, bEnd) { nextBid := shr(64, mload(bp)) }
            if lt(ap, aEnd) { nextAsk := shr(64, mload(ap)) }
            n := shr(5, sub(tp, add(trades, 0x20)))
            volume := traded
        }
        if (volume == 0) return (0, 0, "");
        uint256 last = trades[n - 1]; // the marginal pair: the last matched bid and ask
        (uint256 lo, uint256 hi) = (_priceAt(last >> 64) + fee, _priceAt(last));
        if (nextBid != type(uint256).max && nextBid > lo) lo = nextBid;
        if (nextAsk != type(uint256).max && nextAsk + fee < hi) hi = nextAsk + fee;
        pricePerWh = (lo + hi) / 2;
        fills = _packFills(buying, selling, trades, n);
    }

    /// @dev The limit per Wh of the entry at memory pointer `at` (the low 64 bits of `at`).
    function _priceAt(uint256 at) private pure returns (uint256 price) {
        assembly ("memory-safe") {
            price := shr(64, mload(and(at, _LEFT)))
        }
    }

    /// @dev {BatchSettled}'s fills: buyer, seller, uint40 Wh per trade (45 bytes).
    function _packFills(Book memory buying, Book memory selling, uint256[] memory trades, uint256 n)
        private
        pure
        returns (bytes memory fills)
    {
        fills = new bytes(45 * n);
        assembly ("memory-safe") {
            // an entry's owner: at the same offset in the owners' array
            let buyers := sub(mload(buying), mload(add(buying, 0x40)))
            let sellers := sub(mload(selling), mload(add(selling, 0x40)))
            let out := add(fills, 0x20)
            for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                let t := mload(add(trades, shl(5, add(k, 1))))
                let buyer := mload(add(and(t, _LEFT), buyers))
                let seller := mload(add(and(shr(64, t), _LEFT), sellers))
                mstore(out, shl(96, buyer)) // its last 12 bytes are overwritten next
                mstore(add(out, 20), or(shl(96, seller), shl(56, shr(128, t)))) // 7 zero bytes past: the next fill's, or free memory
                out := add(out, 45)
            }
        }
    }

    /// @dev Buyers pay the price from their claimable money, sellers are paid it less the fee;
    /// the energy moves from the sellers into the buyers' claims in one call to the token.
    function _pay(uint256 intervalId, Book memory buying, Book memory selling, uint256 pricePerWh, uint256 volume)
        private
    {
        (address[] memory buyers, uint256[] memory bought) = _settleMoney(buying, pricePerWh, true);
        (address[] memory sellers, uint256[] memory sold) = _settleMoney(selling, pricePerWh - _feePerWh, false);
        if (_feePerWh != 0) _claimable[_operator] += volume * _feePerWh;
        _tradeToClaims(intervalId, sellers, sold, buyers, bought);
    }

    /// @dev `EnergyToken.tradeBacking(intervalId, buyers, sellers)`, encoded and decoded by hand
    /// (the arrays copied whole with `mcopy`; the token is this contract's own, its answer trusted
    /// as to its shape: one figure per order, its size checked).
    function _backing(uint256 intervalId, address[] memory buyers, address[] memory sellers)
        private
        view
        returns (uint256[] memory redeemable, uint256[] memory balances)
    {
        (address token, bytes4 selector) = (address(_energyToken), IEnergyToken.tradeBacking.selector);
        assembly ("memory-safe") {
            let p := mload(0x40)
            let b := shl(5, add(mload(buyers), 1)) // a list's bytes, its length word included
            let s := shl(5, add(mload(sellers), 1))
            mstore(p, selector)
            mstore(add(p, 0x04), intervalId)
            mstore(add(p, 0x24), 0x60)
            mstore(add(p, 0x44), add(0x60, b))
            mcopy(add(p, 0x64), buyers, b)
            mcopy(add(add(p, 0x64), b), sellers, s)
            if iszero(staticcall(gas(), token, p, add(0x64, add(b, s)), 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
            if iszero(eq(returndatasize(), add(0x40, add(b, s)))) { revert(0, 0) }
            returndatacopy(p, 0, returndatasize())
            mstore(0x40, add(p, returndatasize()))
            redeemable := add(p, 0x40) // the ABI's offsets: 0x40, then 0x40 + b
            balances := add(redeemable, b)
        }
    }

    /// @dev `EnergyToken.tradeToClaims(intervalId, sellers, sold, buyers, bought)`, encoded by hand
    /// (the arrays copied whole); a refusal's revert data passed on.
    function _tradeToClaims(
        uint256 intervalId,
        address[] memory sellers,
        uint256[] memory sold,
        address[] memory buyers,
        uint256[] memory bought
    ) private {
        (address token, bytes4 selector) = (address(_energyToken), IEnergyToken.tradeToClaims.selector);
        assembly ("memory-safe") {
            let p := mload(0x40)
            let s := shl(5, add(mload(sellers), 1))
            let b := shl(5, add(mload(buyers), 1))
            mstore(p, selector)
            mstore(add(p, 0x04), intervalId)
            mstore(add(p, 0x24), 0xa0)
            mstore(add(p, 0x44), add(0xa0, s))
            mstore(add(p, 0x64), add(0xa0, shl(1, s)))
            mstore(add(p, 0x84), add(add(0xa0, shl(1, s)), b))
            let q := add(p, 0xa4)
            mcopy(q, sellers, s)
            mcopy(add(q, s), sold, s)
            mcopy(add(q, shl(1, s)), buyers, b)
            mcopy(add(add(q, shl(1, s)), b), bought, b)
            if iszero(call(gas(), token, 0, p, add(0xa4, add(shl(1, s), shl(1, b))), 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
        }
    }

    /// @dev Each order that traded (its cap less what is left): its owner's claimable money less
    /// (buyers) or plus (sellers) what it traded at `perWh`. Returns the owners and what each
    /// traded, in the book's own arrays (compacted in place: the book is spent). A buyer pays at
    /// most its claimable money ({_cap}); a seller is paid out of the buyers' payments: no sum
    /// overflows.
    function _settleMoney(Book memory book, uint256 perWh, bool buyers)
        private
        returns (address[] memory owners, uint256[] memory amounts)
    {
        (owners, amounts) = (book.owners, book.caps);
        uint256[] memory entries = book.entries;
        assembly ("memory-safe") {
            let n := 0
            for { let o := 0x20 } iszero(gt(o, shl(5, mload(owners)))) { o := add(o, 0x20) } {
                let traded := sub(mload(add(amounts, o)), and(mload(add(entries, o)), _LEFT))
                if traded {
                    let owner := mload(add(owners, o))
                    mstore(0, owner)
                    mstore(0x20, _claimable.slot)
                    let slot := keccak256(0, 0x40)
                    let money := sload(slot)
                    switch buyers
                    case 0 { sstore(slot, add(money, mul(traded, perWh))) }
                    default {
                        if lt(money, mul(traded, perWh)) { revert(0, 0) } // cannot happen: capped by {_cap}
                        sstore(slot, sub(money, mul(traded, perWh)))
                    }
                    n := add(n, 1)
                    mstore(add(owners, shl(5, n)), owner)
                    mstore(add(amounts, shl(5, n)), traded)
                }
            }
            mstore(owners, n)
            mstore(amounts, n)
        }
    }
}
