// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @title IGuaranteeOfOrigin: EN 16325 / RED art. 15 guarantees of origin from verified production
/// @notice ERC-1155 certificates, one token id per certificate, amounts in Wh, so they split
/// without losing their data (ERC-1888 "transferable certificate", as energywebfoundation/origin).
/// Lifecycle: a producer (or the community operator) requests certification of one device over
/// whole UTC days; the issuing body approves (mint) or rejects; holders transfer whole or part;
/// a holder claims (cancels) for a beneficiary, consumption period and country; the issuing body
/// may revoke. Certificates expire `expiryMonths` calendar months after their production period.
/// @dev The amount is exactly the device's verified export over the period, read from the
/// `MeterRegistry` (`verifiedExportBetween`); the same device and day is never requested twice
/// unless the request was rejected.
interface IGuaranteeOfOrigin is IERC1155 {
    /// @notice Public support the device received (EN 16325).
    enum Support {
        None,
        Investment,
        Operating,
        InvestmentAndOperating
    }

    enum Status {
        None,
        Pending,
        Issued,
        Rejected
    }

    /// @notice What the requester declares about the device, checked by the issuing body.
    struct Declaration {
        bytes12 energySource; // EECS fact sheet code, e.g. "F01010100" (solar)
        bytes2 country; // ISO 3166-1 alpha-2, e.g. "FR"
        bytes6 region; // e.g. a NUTS code "FRK26"
        Support support;
    }

    /// @notice A request and, once issued, the certificate: certificate id = request id.
    struct Certificate {
        bytes32 meterId; // the production device
        uint64 amountWh; // certified: the verified export over the period
        uint64 productionStart; // unix seconds, a UTC midnight
        uint64 productionEnd; // unix seconds, a UTC midnight, exclusive
        uint64 issueDate; // 0 until issued
        uint64 expiresAt; // transferable and claimable strictly before this time
        Status status;
        bool revoked;
        address issuingBody; // the approving account; zero until issued
        Declaration declaration;
        // from the MeterRegistry (immutable there)
        bytes32 technology;
        uint64 capacityW;
        uint64 commissioningDate;
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    error GuaranteeOfOriginInvalidRegistry(address registry);
    error GuaranteeOfOriginInvalidExpiry(uint8 expiryMonths);
    /// @notice Only the meter's owner or the community operator may request its certification.
    error GuaranteeOfOriginUnauthorizedRequester(bytes32 meterId, address caller);
    /// @notice A period must end after it starts.
    error GuaranteeOfOriginInvalidPeriod(uint256 start, uint256 end);
    /// @notice A certificate's production period lies within one calendar month (UTC): days
    /// [fromDay, toDay) do not.
    error GuaranteeOfOriginPeriodAcrossMonths(uint256 fromDay, uint256 toDay);
    /// @notice The period starts before the device was registered: that production is never certified.
    error GuaranteeOfOriginBeforeRegistration(bytes32 meterId, uint256 periodStart, uint256 registeredAt);
    /// @notice This device and day is already requested or certified.
    error GuaranteeOfOriginAlreadyCertified(bytes32 meterId, uint256 day);
    /// @notice The device has no verified export over the period.
    error GuaranteeOfOriginNothingToCertify(bytes32 meterId, uint256 fromDay, uint256 toDay);
    error GuaranteeOfOriginRequestNotPending(uint256 certificateId, Status status);
    error GuaranteeOfOriginUnknownCertificate(uint256 certificateId);
    /// @notice A revoked certificate can be neither transferred nor claimed.
    error GuaranteeOfOriginRevoked(uint256 certificateId);
    /// @notice The certificate expired at `expiresAt`.
    error GuaranteeOfOriginExpired(uint256 certificateId, uint256 expiresAt, uint256 now);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    event CertificationRequested(
        uint256 indexed certificateId, bytes32 indexed meterId, address indexed requester, uint64 fromDay, uint64 toDay, uint64 amountWh
    );
    event CertificateIssued(uint256 indexed certificateId, bytes32 indexed meterId, address indexed owner, uint64 amountWh, address issuingBody);
    event CertificationRejected(uint256 indexed certificateId, bytes32 reason);
    event CertificateRevoked(uint256 indexed certificateId, bytes32 reason);
    /// @notice `amountWh` of a certificate cancelled for `beneficiary` (Origin's `ClaimSingle`):
    /// the proof a disclosure statement cites.
    event Claimed(
        uint256 indexed certificateId,
        address indexed holder,
        bytes32 indexed beneficiary,
        uint64 amountWh,
        uint64 consumptionStart,
        uint64 consumptionEnd,
        bytes2 country
    );

    // ------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------

    /// @notice Requests certification of `meterId`'s verified export over UTC days [fromDay, toDay)
    /// (day = unix time / 86400). Requirements: caller owns the meter or is the registry's operator;
    /// fromDay < toDay; the period starts at or after the meter's registration; no day of it is
    /// requested or certified already; the registry knows the verified export at both ends.
    function requestCertification(bytes32 meterId, uint64 fromDay, uint64 toDay, Declaration calldata declaration)
        external
        returns (uint256 certificateId);

    /// @notice Issues pending requests (ISSUER_ROLE): mints each amount to the meter's owner.
    function approve(uint256[] calldata certificateIds) external;

    /// @notice Rejects a pending request (ISSUER_ROLE); its days may be requested again.
    function reject(uint256 certificateId, bytes32 reason) external;

    /// @notice Revokes a certificate (ISSUER_ROLE): it can no longer move or be claimed.
    function revoke(uint256 certificateId, bytes32 reason) external;

    /// @notice Cancels `amountWh` of a certificate held by `holder` for `beneficiary`, a
    /// consumption period and a country: burns it and records it as claimed. Requirements:
    /// caller is `holder` or approved by it; certificate neither revoked nor expired.
    function claim(
        address holder,
        uint256 certificateId,
        uint64 amountWh,
        bytes32 beneficiary,
        uint64 consumptionStart,
        uint64 consumptionEnd,
        bytes2 country
    ) external;

    function certificate(uint256 certificateId) external view returns (Certificate memory);
    function certificateCount() external view returns (uint256);
    /// @notice Wh of a certificate claimed by `holder`.
    function claimedBalance(address holder, uint256 certificateId) external view returns (uint256);
    /// @notice Whether the device's production on UTC `day` is requested or certified.
    function isDayTaken(bytes32 meterId, uint256 day) external view returns (bool);
    function expiryMonths() external view returns (uint8);
    function registry() external view returns (address);
}
