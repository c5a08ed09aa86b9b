// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMeterRegistry: participants, meters and signed meter readings of one energy community
/// @notice The root of trust of a gridshare deployment. Meters (or their gateways) sign runs of
/// consecutive intervals (`MeterReadings`, EIP-712 version "2"); anyone relays them in batches; the
/// registry verifies them and credits the verified energy to the meter owner's `EnergyToken`
/// account. A meter's intervals form one unbroken chain from its registration on: a run is
/// verified only if it starts where the meter's verified readings end (`previousEnd`), and the only
/// gaps are outages the meter itself signed (intervals `[previousEnd, firstIntervalStart)`).
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
        uint64 capacityW;
        bytes32 technology;
        uint64 commissioningDate;
        uint64 registeredAt;
    }

    /// @notice Where a meter's verified readings stand.
    struct MeterState {
        /// End of the meter's verified intervals (and signed outages): the `previousEnd` its next
        /// run must carry. Set at registration to the first interval start at or after both the
        /// registration time and the commissioning date: no reading can come before.
        uint64 nextIntervalStart;
        uint64 importRegisterWh; // the registers at `nextIntervalStart`, once a run was verified
        uint64 exportRegisterWh;
        uint64 verifiedExportWh; // sum of the export of all verified intervals
        bool registersKnown; // false until the meter's first run (its registers' start is unknown)
    }

    /// @notice A run of readings as relayed on-chain: the EIP-712 `MeterReadings` fields followed
    /// by the meter's secp256k1 signature (v, r, s) over its typed-data digest. The run covers the
    /// outage `[previousEnd, firstIntervalStart)` (empty when they are equal) and then
    /// `importWh.length` consecutive intervals from `firstIntervalStart`, the k-th importing
    /// `importWh[k]` and exporting `exportWh[k]` Wh; the registers are the meter's at the run's end.
    struct SignedReadings {
        bytes32 meterId;
        uint64 previousEnd;
        uint64 firstIntervalStart;
        uint32[] importWh;
        uint32[] exportWh;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice The operation a meter's readings go through: from interval `fromInterval` until
    /// (before) `untilInterval`, only `operation` may submit them (`operation` zero: none).
    struct Binding {
        address operation;
        uint256 fromInterval;
        uint256 untilInterval; // 2^32 - 1: open-ended
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
    /// @notice The run does not continue the meter's verified readings: it says they end at
    /// `previousEnd`, they end at `nextIntervalStart`. Before: the run's intervals are already
    /// verified (or were declared an outage); after: an earlier run of the meter must come first.
    error MeterRegistryNotContinuous(bytes32 meterId, uint64 previousEnd, uint64 nextIntervalStart);
    /// @notice A malformed run: `firstIntervalStart` before `previousEnd`, import and export
    /// series of different lengths (`imports`, `exports`), or nothing at all (no outage, no interval).
    error MeterRegistryInvalidRun(bytes32 meterId, uint64 previousEnd, uint64 firstIntervalStart, uint256 imports, uint256 exports);
    /// @notice A run (its outage and intervals) may span at most `maxSeconds` (31 days): a longer
    /// outage is declared in several runs.
    error MeterRegistryRunTooLong(bytes32 meterId, uint64 previousEnd, uint256 end, uint256 maxSeconds);
    /// @notice The meter's readings from interval `fromInterval` on go through the operation
    /// `operation` (a collective self-consumption operation shares them as they are verified).
    /// @notice An account receives the production of one meter at most (so that its crypto-kWh of
    /// an interval are that meter's): `owner` already owns the exporting meter `meterId`.
    error MeterRegistryOwnerExports(address owner, bytes32 meterId);
    error MeterRegistryMeterInOperation(bytes32 meterId, address operation, uint256 fromInterval);
    /// @notice A binding to an operation that cannot be made or changed: the meter is bound to
    /// `operation` (zero: none), or readings after `fromInterval`'s start are already verified.
    error MeterRegistryInvalidBinding(bytes32 meterId, address operation, uint256 fromInterval, uint64 nextIntervalStart);
    /// @notice Only an account with `ALLOCATOR_ROLE` (a self-consumption operation) binds meters.
    error MeterRegistryUnauthorizedAllocator(address caller);
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
        uint64 capacityW,
        bytes32 technology,
        uint64 commissioningDate
    );
    event MeterSignerRotated(bytes32 indexed meterId, address previousSigner, address newSigner);
    event MeterDeactivated(bytes32 indexed meterId);
    /// @notice A run of readings was verified: the outage `[previousEnd, firstIntervalStart)`, then
    /// the intervals from `firstIntervalStart` on; the k-th interval's energy is credited to the
    /// meter owner's account in `EnergyToken` under the interval id
    /// `firstIntervalStart / intervalSeconds + k`. `energyWh` packs the run's energies, 8 bytes per
    /// interval: bytes [8k, 8k + 4) its importWh[k], bytes [8k + 4, 8k + 8) its exportWh[k], both
    /// big-endian uint32 (empty for an outage alone).
    event ReadingsVerified(bytes32 indexed meterId, uint64 previousEnd, uint64 firstIntervalStart, bytes energyWh);
    event MeterBound(bytes32 indexed meterId, address indexed operation, uint256 fromInterval, uint256 untilInterval);

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
        uint64 capacityW,
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

    /// @notice Verifies a batch of signed runs and credits their energy; callable by anyone, except
    /// for the intervals of a meter bound to an operation, which only that operation submits.
    /// @dev Batch semantics: all or nothing. If any run is refused, the whole transaction reverts
    /// with the custom error of the first refused run, which names its meter, and no run of the
    /// batch is applied. Runs of one meter must follow each other in order. A refused run leaves
    /// the meter's state as it was: the same intervals, signed correctly, are verified later.
    function submitReadings(SignedReadings[] calldata runs) external;

    /// @notice Binds a meter's readings from `fromInterval` on to the calling operation (caller:
    /// `ALLOCATOR_ROLE`). Requirements: the meter is not bound to another operation (a binding that
    /// ended, with every bound interval verified, may be replaced); no reading at or after
    /// `fromInterval`'s start is verified yet.
    function bindOperation(bytes32 meterId, uint256 fromInterval) external;

    /// @notice Ends the calling operation's binding of a meter at `untilInterval` (its first
    /// interval no longer bound). Requirements: the meter is bound to the caller;
    /// `untilInterval >= fromInterval`; no reading at or after `untilInterval`'s start verified.
    function unbindOperation(bytes32 meterId, uint256 untilInterval) external;

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
    /// @notice The operation a meter's readings go through, if any.
    function binding(bytes32 meterId) external view returns (Binding memory);
    /// @notice The meter's total verified export before UTC day `day` (day = unix time / 86400):
    /// the sum of the export of its verified intervals before that day. Final: it is known once
    /// the meter's verified readings (or a signed outage) reach the day's start, whatever day the
    /// next run comes, and later runs only add later intervals. Zero for a consumer meter and for
    /// days before the meter's first interval. Reverts with `MeterRegistryNoCheckpoint` while it
    /// is not known.
    function verifiedExportAt(bytes32 meterId, uint256 day) external view returns (uint64);
    /// @notice Verified export of the meter over the UTC days [fromDay, toDay), in Wh: what a
    /// guarantee of origin for that period may certify.
    function verifiedExportBetween(bytes32 meterId, uint256 fromDay, uint256 toDay) external view returns (uint64);
    /// @notice The EIP-712 digest a meter signs for this run on this deployment (the signature
    /// fields of `run` are ignored).
    function readingsDigest(SignedReadings calldata run) external view returns (bytes32);
}
