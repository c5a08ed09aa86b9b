// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMeterRegistry: participants, meters and signed meter readings of one energy community
/// @notice The root of trust of a gridshare deployment. Meters (or their gateways) sign one
/// `MeterReading` per interval with EIP-712; anyone relays them in batches; the registry verifies
/// them and credits the verified energy to the meter owner's `EnergyToken` account.
/// @dev Units: energy in Wh, power in W, time in unix seconds (see docs/protocol.md).
interface IMeterRegistry {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice What a meter measures: a producer exports (and may import for auxiliaries), a
    /// consumer only imports, a prosumer does both.
    enum MeterKind {
        Producer,
        Consumer,
        Prosumer
    }

    /// @notice Which register of a meter an error is about.
    enum Flow {
        Import,
        Export
    }

    /// @notice A meter's static description, as registered by the operator.
    struct MeterInfo {
        address signer;
        address owner;
        MeterKind kind;
        bool active;
        uint32 capacityW;
        bytes32 technology;
        uint64 commissioningDate;
        uint64 registeredAt;
    }

    /// @notice A meter's last verified reading (all zero before the first one).
    struct MeterState {
        uint64 nextIntervalStart; // end of the last verified interval; 0 before the first reading
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint64 verifiedExportWh; // sum of the export of all verified readings
    }

    /// @notice One signed reading as relayed on-chain: the EIP-712 `MeterReading` fields followed
    /// by the meter's secp256k1 signature (v, r, s) over its typed-data digest.
    struct SignedReading {
        bytes32 meterId;
        uint64 intervalStart;
        uint64 importWh;
        uint64 exportWh;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice The deployment's interval length is not one the protocol allows (900 or 1800 s).
    error MeterRegistryInvalidIntervalSeconds(uint64 intervalSeconds);
    /// @notice `setEnergyToken` was called a second time, or with the zero address.
    error MeterRegistryEnergyTokenAlreadySet(address energyToken);
    error MeterRegistryInvalidEnergyToken(address energyToken);
    /// @notice Readings were submitted before the energy token was set.
    error MeterRegistryEnergyTokenNotSet();

    error MeterRegistryParticipantAlreadyRegistered(address account);
    error MeterRegistryInvalidParticipant(address account);
    /// @notice The account is not a registered participant.
    error MeterRegistryNotParticipant(address account);

    error MeterRegistryMeterAlreadyRegistered(bytes32 meterId);
    error MeterRegistryInvalidSignerKey(bytes32 meterId, address signer);
    error MeterRegistryZeroCapacity(bytes32 meterId);
    /// @notice No meter with this id was ever registered.
    error MeterRegistryUnknownMeter(bytes32 meterId);
    /// @notice The meter was deactivated by the operator and accepts no more readings.
    error MeterRegistryMeterDeactivated(bytes32 meterId);

    /// @notice The signature does not recover to the meter's signer key (`recovered` is zero for a
    /// malformed signature).
    error MeterRegistryInvalidSigner(bytes32 meterId, address recovered, address expected);
    /// @notice `intervalStart` is not a multiple of the deployment's interval length.
    error MeterRegistryIntervalNotAligned(uint64 intervalStart, uint64 intervalSeconds);
    /// @notice The interval ends at `intervalEnd`, after the current block's timestamp `now`.
    error MeterRegistryIntervalNotEnded(uint64 intervalStart, uint256 intervalEnd, uint256 now);
    /// @notice The interval does not come after the meter's last verified one.
    error MeterRegistryIntervalNotAfterLast(bytes32 meterId, uint64 intervalStart, uint64 lastIntervalStart);
    /// @notice A cumulative register went down from `previousWh` to `registerWh`.
    error MeterRegistryRegisterDecreased(bytes32 meterId, Flow flow, uint64 previousWh, uint64 registerWh);
    /// @notice The register moved by `stepWh` since the last reading but the interval claims
    /// `energyWh`: the step must be at least the energy, and equal to it when the interval directly
    /// follows the last one.
    error MeterRegistryRegisterStepMismatch(bytes32 meterId, Flow flow, uint64 stepWh, uint64 energyWh);
    /// @notice More energy than the meter's capacity can carry in one interval.
    error MeterRegistryEnergyExceedsCapacity(bytes32 meterId, Flow flow, uint64 energyWh, uint64 maxWh);
    /// @notice A consumer meter reported export.
    error MeterRegistryExportFromConsumer(bytes32 meterId, uint64 exportWh);
    /// @notice An empty batch was submitted.
    error MeterRegistryEmptyBatch();
    /// @notice The meter's verified export at the start of UTC day `day` is not known (yet): no
    /// reading of that day is verified and the meter's readings do not end exactly at its start.
    error MeterRegistryNoCheckpoint(bytes32 meterId, uint256 day, uint64 nextIntervalStart);
    /// @notice A period of days must end after it starts.
    error MeterRegistryInvalidPeriod(uint256 fromDay, uint256 toDay);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    event EnergyTokenSet(address indexed energyToken);
    event ParticipantRegistered(address indexed account);
    event MeterRegistered(
        bytes32 indexed meterId,
        address indexed owner,
        address signer,
        MeterKind kind,
        uint32 capacityW,
        bytes32 technology,
        uint64 commissioningDate
    );
    event MeterSignerRotated(bytes32 indexed meterId, address previousSigner, address newSigner);
    event MeterDeactivated(bytes32 indexed meterId);
    /// @notice A signed reading was verified; its energy is credited to the meter owner's account
    /// in `EnergyToken` under the interval id `intervalStart / intervalSeconds`.
    event ReadingVerified(bytes32 indexed meterId, uint64 intervalStart, uint64 importWh, uint64 exportWh);

    // ------------------------------------------------------------------------------------------
    // Operator functions
    // ------------------------------------------------------------------------------------------

    /// @notice Admits an account as a participant of the community (it may own meters and hold
    /// energy tokens). Requirements: caller has `OPERATOR_ROLE`; account is new and non-zero.
    function registerParticipant(address account) external;

    /// @notice Registers a meter. Requirements: caller has `OPERATOR_ROLE`; `meterId` is new;
    /// `owner` is a participant; `signer` is non-zero; `capacityW` is non-zero.
    /// @param meterId keccak256(abi.encodePacked(communitySalt, meterPointNumber)), computed off-chain.
    function registerMeter(
        bytes32 meterId,
        address signer,
        address owner,
        MeterKind kind,
        uint32 capacityW,
        bytes32 technology,
        uint64 commissioningDate
    ) external;

    /// @notice Replaces a meter's signer key (a new gateway, a compromised key). Readings signed by
    /// the previous key are refused from now on. Requirements: `OPERATOR_ROLE`; known, active meter.
    function rotateSigner(bytes32 meterId, address newSigner) external;

    /// @notice Deactivates a meter for good: it accepts no more readings. Its verified energy stays.
    /// Requirements: `OPERATOR_ROLE`; known, active meter.
    function deactivateMeter(bytes32 meterId) external;

    // ------------------------------------------------------------------------------------------
    // Readings
    // ------------------------------------------------------------------------------------------

    /// @notice Verifies a batch of signed readings and credits their energy; callable by anyone.
    /// @dev Batch semantics: all or nothing. If any reading is refused, the whole transaction
    /// reverts with the custom error of the first refused reading, which names its meter and
    /// interval, and no reading of the batch is applied. Relayers simulate first (`eth_call`), set
    /// a refused reading aside with its error, and resubmit the rest. Readings of one meter must
    /// appear in increasing interval order; batching consecutive readings of the same meter next
    /// to each other is cheapest (the meter's state is read and written once per run).
    function submitReadings(SignedReading[] calldata readings) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    function intervalSeconds() external view returns (uint64);
    function energyToken() external view returns (address);
    function isParticipant(address account) external view returns (bool);
    function meter(bytes32 meterId) external view returns (MeterInfo memory);
    /// @notice A meter's owner and registration time only (cheaper than {meter} for contracts).
    function meterOwner(bytes32 meterId) external view returns (address owner, uint64 registeredAt);
    function meterState(bytes32 meterId) external view returns (MeterState memory);
    /// @notice The meter's total verified export before UTC day `day` (day = unix time / 86400):
    /// the sum of the export of its verified readings of intervals before that day. Final: later
    /// readings can only be for later intervals. Reverts with `MeterRegistryNoCheckpoint` while
    /// it is not known.
    function verifiedExportAt(bytes32 meterId, uint256 day) external view returns (uint64);
    /// @notice Verified export of the meter over the UTC days [fromDay, toDay), in Wh: what a
    /// guarantee of origin for that period may certify.
    function verifiedExportBetween(bytes32 meterId, uint256 fromDay, uint256 toDay) external view returns (uint64);
    /// @notice The EIP-712 digest a meter signs for this reading on this deployment.
    function readingDigest(
        bytes32 meterId,
        uint64 intervalStart,
        uint64 importWh,
        uint64 exportWh,
        uint64 importRegisterWh,
        uint64 exportRegisterWh
    ) external view returns (bytes32);
}
