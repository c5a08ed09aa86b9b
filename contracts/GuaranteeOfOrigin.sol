// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IGuaranteeOfOrigin} from "./interfaces/IGuaranteeOfOrigin.sol";
import {CalendarMonths} from "./libraries/CalendarMonths.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title GuaranteeOfOrigin
/// @notice Guarantees of origin issued from a community's verified production. See
/// {IGuaranteeOfOrigin}.
/// @dev Roles: `ISSUER_ROLE` (the issuing body) approves, rejects and revokes;
/// `DEFAULT_ADMIN_ROLE` manages roles, transferred in two steps after a delay. Requesters are meter
/// owners or the registry's operator. Issuing burns the producer's unspent crypto-kWh of the
/// period (the registry grants this contract `CERTIFIER_ROLE`): one Wh, one claim.
contract GuaranteeOfOrigin is IGuaranteeOfOrigin, ERC1155, AccessControlDefaultAdminRules {
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @dev The MeterRegistry's operator role, which may request on a producer's behalf.
    bytes32 private constant _OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    uint256 private constant _DAY = 86_400;
    /// @notice The reason of a request {approve} rejects because none of the producer's
    /// crypto-kWh of the period were left: "nothing unspent".
    bytes32 public constant NOTHING_UNSPENT = "nothing unspent";

    /// @dev A request and then its certificate, in three slots. Device data the registry holds
    /// immutably (technology, capacity, commissioning date) is read from it, not copied.
    struct Record {
        bytes32 meterId; // slot 0
        uint64 amountWh; // slot 1
        uint32 fromDay; // slot 1
        uint32 toDay; // slot 1
        uint40 issueDate; // slot 1
        Status status; // slot 1
        bool revoked; // slot 1
        Support support; // slot 1
        bytes2 country; // slot 1
        bytes6 region; // slot 1
        address issuingBody; // slot 2
        bytes12 energySource; // slot 2
    }

    IMeterRegistry private immutable _registry;
    uint8 private immutable _expiryMonths;
    uint256 private _count;
    mapping(uint256 certificateId => Record) private _records;
    /// @dev Requested or certified days of each device, 256 days per word.
    mapping(bytes32 meterId => mapping(uint256 word => uint256 days_)) private _taken;
    /// @dev A holder's balance and claimed amount of one certificate share a slot, so that a
    /// claim updates the slot its burn just touched. OpenZeppelin's `_balances` is not used.
    struct Holding {
        uint128 balance;
        uint128 claimed;
    }

    mapping(address holder => mapping(uint256 certificateId => Holding)) private _holdings;

    /// @param expiryMonths_ months after the production period during which a certificate can be
    /// transferred and claimed (12 under RED art. 19; 18 in Germany, Hungary, Estonia).
    /// @param adminDelay seconds a transfer of the admin role waits between its two steps
    constructor(
        IMeterRegistry registry_,
        address admin,
        address issuingBody,
        uint8 expiryMonths_,
        string memory uri_,
        uint48 adminDelay
    ) ERC1155(uri_) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (address(registry_) == address(0)) revert GuaranteeOfOriginInvalidRegistry(address(registry_));
        if (expiryMonths_ == 0) revert GuaranteeOfOriginInvalidExpiry(expiryMonths_);
        _registry = registry_;
        _expiryMonths = expiryMonths_;
        _grantRole(ISSUER_ROLE, issuingBody);
    }

    // ------------------------------------------------------------------------------------------
    // Lifecycle
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IGuaranteeOfOrigin
    function requestCertification(bytes32 meterId, uint64 fromDay, uint64 toDay, Declaration calldata declaration)
        external
        returns (uint256 certificateId)
    {
        (address owner, uint64 registeredAt) = _registry.meterOwner(meterId); // reverts for an unknown meter
        if (msg.sender != owner && !IAccessControl(address(_registry)).hasRole(_OPERATOR_ROLE, msg.sender)) {
            revert GuaranteeOfOriginUnauthorizedRequester(meterId, msg.sender);
        }
        if (fromDay >= toDay || toDay > type(uint32).max) {
            revert GuaranteeOfOriginInvalidPeriod(uint256(fromDay) * _DAY, uint256(toDay) * _DAY);
        }
        {
            (uint256 y0, uint256 m0,) = CalendarMonths.civilFromDays(fromDay);
            (uint256 y1, uint256 m1,) = CalendarMonths.civilFromDays(toDay - 1);
            if (y0 != y1 || m0 != m1) revert GuaranteeOfOriginPeriodAcrossMonths(fromDay, toDay);
        }
        if (uint256(fromDay) * _DAY < registeredAt) {
            revert GuaranteeOfOriginBeforeRegistration(meterId, uint256(fromDay) * _DAY, registeredAt);
        }
        uint64 amount = _registry.verifiedExportBetween(meterId, fromDay, toDay); // final or reverts
        if (amount == 0) revert GuaranteeOfOriginNothingToCertify(meterId, fromDay, toDay);
        _setDays(meterId, fromDay, toDay, true);

        certificateId = ++_count;
        Record storage r = _records[certificateId];
        r.meterId = meterId;
        (r.amountWh, r.fromDay, r.toDay, r.status) = (amount, uint32(fromDay), uint32(toDay), Status.Pending);
        (r.support, r.country, r.region) = (declaration.support, declaration.country, declaration.region);
        r.energySource = declaration.energySource;
        emit CertificationRequested(certificateId, meterId, msg.sender, fromDay, toDay, amount);
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function approve(uint256[] calldata certificateIds) external onlyRole(ISSUER_ROLE) {
        IEnergyToken token = IEnergyToken(_registry.energyToken());
        uint256 intervals = _DAY / _registry.intervalSeconds();
        for (uint256 i; i < certificateIds.length; ++i) {
            uint256 id = certificateIds[i];
            Record storage r = _records[id];
            if (r.status != Status.Pending) revert GuaranteeOfOriginRequestNotPending(id, r.status);
            (address owner,) = _registry.meterOwner(r.meterId);
            // the producer's crypto-kWh of the period still unspent become the certificate
            uint256 amount = token.certify(owner, uint256(r.fromDay) * intervals,
                                           uint256(r.toDay - r.fromDay) * intervals, r.amountWh);
            if (amount == 0) {
                // all of it was shared, sold or consumed since the request
                r.status = Status.Rejected;
                _setDays(r.meterId, r.fromDay, r.toDay, false);
                emit CertificationRejected(id, NOTHING_UNSPENT);
                continue;
            }
            (r.amountWh, r.status, r.issueDate, r.issuingBody) =
                (uint64(amount), Status.Issued, uint40(block.timestamp), msg.sender); // amount <= r.amountWh
            emit CertificateIssued(id, r.meterId, owner, uint64(amount), msg.sender);
            // effects are done; the receiver hook of a contract owner is the last thing to run
            _mint(owner, id, amount, "");
        }
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function reject(uint256 certificateId, bytes32 reason) external onlyRole(ISSUER_ROLE) {
        Record storage r = _records[certificateId];
        if (r.status != Status.Pending) revert GuaranteeOfOriginRequestNotPending(certificateId, r.status);
        r.status = Status.Rejected;
        _setDays(r.meterId, r.fromDay, r.toDay, false);
        emit CertificationRejected(certificateId, reason);
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function revoke(uint256 certificateId, bytes32 reason) external onlyRole(ISSUER_ROLE) {
        Record storage r = _issued(certificateId);
        if (r.revoked) revert GuaranteeOfOriginRevoked(certificateId);
        r.revoked = true;
        emit CertificateRevoked(certificateId, reason);
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function claim(
        address holder,
        uint256 certificateId,
        uint64 amountWh,
        bytes32 beneficiary,
        uint64 consumptionStart,
        uint64 consumptionEnd,
        bytes2 country
    ) external {
        if (holder != msg.sender && !isApprovedForAll(holder, msg.sender)) {
            revert ERC1155MissingApprovalForAll(msg.sender, holder);
        }
        if (consumptionStart >= consumptionEnd) revert GuaranteeOfOriginInvalidPeriod(consumptionStart, consumptionEnd);
        _burn(holder, certificateId, amountWh); // checks revocation, expiry and the balance
        // claimed <= the certificate's uint64 amount: no overflow of uint128
        _holdings[holder][certificateId].claimed += amountWh;
        emit Claimed(certificateId, holder, beneficiary, amountWh, consumptionStart, consumptionEnd, country);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IGuaranteeOfOrigin
    function certificate(uint256 certificateId) external view returns (Certificate memory c) {
        Record storage r = _records[certificateId];
        if (r.status == Status.None) revert GuaranteeOfOriginUnknownCertificate(certificateId);
        IMeterRegistry.MeterInfo memory info = _registry.meter(r.meterId);
        c.meterId = r.meterId;
        c.amountWh = r.amountWh;
        c.productionStart = uint64(r.fromDay) * uint64(_DAY);
        c.productionEnd = uint64(r.toDay) * uint64(_DAY);
        c.issueDate = r.issueDate;
        c.expiresAt = uint64(_expiresAt(r));
        c.status = r.status;
        c.revoked = r.revoked;
        c.issuingBody = r.issuingBody;
        c.declaration = Declaration(r.energySource, r.country, r.region, r.support);
        (c.technology, c.capacityW, c.commissioningDate) = (info.technology, info.capacityW, info.commissioningDate);
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function certificateCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function claimedBalance(address holder, uint256 certificateId) external view returns (uint256) {
        return _holdings[holder][certificateId].claimed;
    }

    /// @inheritdoc ERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        return _holdings[account][id].balance;
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function isDayTaken(bytes32 meterId, uint256 day) external view returns (bool) {
        return _taken[meterId][day >> 8] & (1 << (day & 255)) != 0;
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function expiryMonths() external view returns (uint8) {
        return _expiryMonths;
    }

    /// @inheritdoc IGuaranteeOfOrigin
    function registry() external view returns (address) {
        return address(_registry);
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControlDefaultAdminRules, IERC165)
        returns (bool)
    {
        return ERC1155.supportsInterface(interfaceId) || AccessControlDefaultAdminRules.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// @dev OpenZeppelin's `_update` with balances in {Holding}; transfers and burns (claims) only
    /// while the certificate is neither revoked nor expired.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i; i < ids.length; ++i) {
            (uint256 id, uint256 value) = (ids[i], values[i]);
            if (from != address(0)) {
                Record storage r = _records[id];
                if (r.revoked) revert GuaranteeOfOriginRevoked(id);
                uint256 expiresAt = _expiresAt(r);
                if (block.timestamp >= expiresAt) revert GuaranteeOfOriginExpired(id, expiresAt, block.timestamp);
                Holding storage h = _holdings[from][id];
                uint256 balance = h.balance;
                if (balance < value) revert ERC1155InsufficientBalance(from, balance, value, id);
                h.balance = uint128(balance - value); // value <= balance < 2^128
            }
            if (to != address(0)) {
                // a certificate's whole amount is a uint64: balances never reach 2^128
                _holdings[to][id].balance += uint128(value);
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }

    function _issued(uint256 certificateId) private view returns (Record storage r) {
        r = _records[certificateId];
        if (r.status != Status.Issued) revert GuaranteeOfOriginUnknownCertificate(certificateId);
    }

    /// @dev Counted from the production period's start, so that no unit of it stays tradable
    /// longer than `expiryMonths` after its production (RED II art. 19(3)).
    function _expiresAt(Record storage r) private view returns (uint256) {
        return CalendarMonths.add(uint256(r.fromDay) * _DAY, _expiryMonths);
    }

    /// @dev Marks (or releases) the days [fromDay, toDay) of a device; marking refuses a day
    /// already taken, naming the first one.
    function _setDays(bytes32 meterId, uint256 fromDay, uint256 toDay, bool take) private {
        mapping(uint256 => uint256) storage taken = _taken[meterId];
        for (uint256 word = fromDay >> 8; word <= (toDay - 1) >> 8; ++word) {
            uint256 lo = word == fromDay >> 8 ? fromDay & 255 : 0;
            uint256 hi = word == (toDay - 1) >> 8 ? ((toDay - 1) & 255) + 1 : 256;
            // bits lo..hi-1 set; hi - lo is in 1..256, so the shift stays in range
            uint256 mask = hi - lo == 256 ? type(uint256).max : ((1 << (hi - lo)) - 1) << lo;
            uint256 bits = taken[word];
            if (take) {
                uint256 clash = bits & mask;
                if (clash != 0) {
                    uint256 bit;
                    while (clash & (1 << bit) == 0) ++bit;
                    revert GuaranteeOfOriginAlreadyCertified(meterId, (word << 8) + bit);
                }
                taken[word] = bits | mask;
            } else {
                taken[word] = bits & ~mask;
            }
        }
    }
}
