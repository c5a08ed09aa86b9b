// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title MeterRegistry
/// @notice Participants, meters and their signer keys; verifies EIP-712 signed runs of meter
/// readings and credits verified energy to `EnergyToken`. See {IMeterRegistry} for the full contract.
/// @dev EIP-712 domain: name "gridshare", version "2", this contract; readable via EIP-5267
/// `eip712Domain()`. Roles (docs/threat-model.md): `DEFAULT_ADMIN_ROLE` sets the energy token once
/// and manages roles, transferred in two steps after a delay (`AccessControlDefaultAdminRules`);
/// `OPERATOR_ROLE` (the community operator) registers participants and meters; `ALLOCATOR_ROLE`
/// (a self-consumption operation) binds its members' meters and settles local sharing;
/// `CERTIFIER_ROLE` (the guarantees of origin) burns unspent crypto-kWh into certificates;
/// `ESCROW_ROLE` (a market) holds asks' crypto-kWh and returns them unchanged in provenance.
contract MeterRegistry is IMeterRegistry, AccessControlDefaultAdminRules, EIP712 {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");

    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER_ROLE");

    /// @notice Lets a market hold crypto-kWh in escrow (`EnergyToken.escrow` and `release`).
    bytes32 public constant ESCROW_ROLE = keccak256("ESCROW_ROLE");

    /// @notice keccak256 of the protocol's `MeterReadings` type string (docs/protocol.md).
    bytes32 public constant READINGS_TYPEHASH = keccak256(
        "MeterReadings(bytes32 meterId,uint64 previousEnd,uint64 firstIntervalStart,uint32[] importWh,uint32[] exportWh,uint64 importRegisterWh,uint64 exportRegisterWh)"
    );

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    /// @dev Laid out for the reading path: slot 0 holds all a reading checks (one cold read),
    /// `owner` is read only for readings that carry energy.
    struct Meter {
        address signer; // slot 0
        uint64 capacityW; // slot 0
        MeterKind kind; // slot 0
        bool active; // slot 0
        address owner; // slot 1
        uint48 commissioningDate; // slot 1
        uint48 registeredAt; // slot 1
        bytes32 technology; // slot 2
    }

    /// @dev The state a run writes: one slot, read and written once per run.
    struct State {
        uint64 nextIntervalStart;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint56 verifiedExportWh; // sum of the export of all verified intervals
        bool registersKnown;
    }

    uint64 private immutable _intervalSeconds;
    IEnergyToken private _energyToken;
    mapping(address account => bool) private _participants;
    mapping(bytes32 meterId => Meter) private _meters;
    mapping(bytes32 meterId => State) private _states;
    /// @dev The one meter whose export an account receives (its crypto-kWh of an interval are
    /// then that meter's production: claims on them are per meter and interval).
    mapping(address owner => bytes32 meterId) private _exportingMeter;
    /// @dev `Binding`, packed in one slot (interval ids below 2^32; 2^32 - 1: open-ended)
    struct PackedBinding {
        address operation;
        uint32 fromInterval;
        uint32 untilInterval;
    }

    mapping(bytes32 meterId => PackedBinding) private _bindings;
    /// @dev `verifiedExportWh` before the meter's first verified reading of a UTC day, plus
    /// 2^64 to tell a checkpoint at zero from none.
    mapping(bytes32 meterId => mapping(uint256 day => uint256)) private _exportCheckpoints;

    uint256 private constant _DAY = 86_400;
    uint256 private constant _CHECKPOINT_SET = 1 << 64;
    uint256 private constant _MAX_RUN_SECONDS = 31 * _DAY;

    // ------------------------------------------------------------------------------------------
    // Construction
    // ------------------------------------------------------------------------------------------

    /// @param intervalSeconds_ metering interval length: 900 (15 min) or 1800 (30 min).
    /// @param admin receives `DEFAULT_ADMIN_ROLE` and `OPERATOR_ROLE`.
    /// @param adminDelay seconds a transfer of the admin role waits between its two steps
    constructor(uint64 intervalSeconds_, address admin, uint48 adminDelay)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("gridshare", "2")
    {
        if (intervalSeconds_ != 900 && intervalSeconds_ != 1800) {
            revert MeterRegistryInvalidIntervalSeconds(intervalSeconds_);
        }
        _intervalSeconds = intervalSeconds_;
        _grantRole(OPERATOR_ROLE, admin);
    }

    /// @notice Links the `EnergyToken` that verified energy is credited to; once, by the admin.
    /// @dev The token is deployed after the registry (it needs the registry's address), hence
    /// this one-time setter rather than a constructor argument.
    function setEnergyToken(address energyToken_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_energyToken) != address(0)) revert MeterRegistryEnergyTokenAlreadySet(address(_energyToken));
        if (energyToken_ == address(0) || IEnergyToken(energyToken_).registry() != address(this)) {
            revert MeterRegistryInvalidEnergyToken(energyToken_);
        }
        _energyToken = IEnergyToken(energyToken_);
        emit EnergyTokenSet(energyToken_);
    }

    // ------------------------------------------------------------------------------------------
    // Operator functions
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IMeterRegistry
    function registerParticipant(address account) external onlyRole(OPERATOR_ROLE) {
        if (account == address(0)) revert MeterRegistryInvalidParticipant(account);
        if (_participants[account]) revert MeterRegistryParticipantAlreadyRegistered(account);
        _participants[account] = true;
        emit ParticipantRegistered(account);
    }

    /// @inheritdoc IMeterRegistry
    function registerMeter(
        bytes32 meterId,
        address signer,
        address owner,
        MeterKind kind,
        uint64 capacityW,
        bytes32 technology,
        uint64 commissioningDate
    ) external onlyRole(OPERATOR_ROLE) {
        if (_meters[meterId].signer != address(0)) revert MeterRegistryMeterAlreadyRegistered(meterId);
        if (signer == address(0)) revert MeterRegistryInvalidSignerKey(meterId, signer);
        if (!_participants[owner]) revert MeterRegistryNotParticipant(owner);
        if (capacityW == 0) revert MeterRegistryZeroCapacity(meterId);
        if (kind != MeterKind.Consumer) {
            bytes32 exporting = _exportingMeter[owner];
            if (exporting != bytes32(0)) revert MeterRegistryOwnerExports(owner, exporting);
            _exportingMeter[owner] = meterId;
        }
        _meters[meterId] = Meter({
            signer: signer,
            capacityW: capacityW,
            kind: kind,
            active: true,
            owner: owner,
            commissioningDate: SafeCast.toUint48(commissioningDate),
            registeredAt: uint48(block.timestamp), // < 2^48 for the next 8 million years
            technology: technology
        });
        // no reading before the meter's registration and commissioning: its first interval
        _states[meterId].nextIntervalStart = _firstIntervalStart(block.timestamp, commissioningDate);
        emit MeterRegistered(meterId, owner, signer, kind, capacityW, technology, commissioningDate);
    }

    /// @inheritdoc IMeterRegistry
    function rotateSigner(bytes32 meterId, address newSigner) external onlyRole(OPERATOR_ROLE) {
        Meter storage m = _activeMeter(meterId);
        if (newSigner == address(0)) revert MeterRegistryInvalidSignerKey(meterId, newSigner);
        address previous = m.signer;
        m.signer = newSigner;
        emit MeterSignerRotated(meterId, previous, newSigner);
    }

    /// @inheritdoc IMeterRegistry
    function deactivateMeter(bytes32 meterId) external onlyRole(OPERATOR_ROLE) {
        _activeMeter(meterId).active = false;
        emit MeterDeactivated(meterId);
    }

    // ------------------------------------------------------------------------------------------
    // Operations
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IMeterRegistry
    function bindOperation(bytes32 meterId, uint256 fromInterval) external {
        _checkAllocator();
        PackedBinding storage b = _bindings[meterId];
        uint64 next = _knownMeterState(meterId).nextIntervalStart;
        // a binding that ended may be replaced once every interval it covered is verified
        bool free = b.operation == address(0) || (b.untilInterval != type(uint32).max && next >= uint256(b.untilInterval) * _intervalSeconds);
        if (fromInterval >= type(uint32).max || !free || fromInterval * _intervalSeconds < next) {
            revert MeterRegistryInvalidBinding(meterId, b.operation, fromInterval, next);
        }
        (b.operation, b.fromInterval, b.untilInterval) = (msg.sender, uint32(fromInterval), type(uint32).max);
        emit MeterBound(meterId, msg.sender, fromInterval, type(uint32).max);
    }

    /// @inheritdoc IMeterRegistry
    function unbindOperation(bytes32 meterId, uint256 untilInterval) external {
        _checkAllocator();
        PackedBinding storage b = _bindings[meterId];
        uint64 next = _knownMeterState(meterId).nextIntervalStart;
        if (
            untilInterval > type(uint32).max || b.operation != msg.sender || untilInterval < b.fromInterval
                || untilInterval * _intervalSeconds < next
        ) {
            revert MeterRegistryInvalidBinding(meterId, b.operation, untilInterval, next);
        }
        b.untilInterval = uint32(untilInterval);
        emit MeterBound(meterId, msg.sender, b.fromInterval, untilInterval);
    }

    function _checkAllocator() private view {
        if (!hasRole(ALLOCATOR_ROLE, msg.sender)) revert MeterRegistryUnauthorizedAllocator(msg.sender);
    }

    function _knownMeterState(bytes32 meterId) private view returns (State storage) {
        if (_meters[meterId].signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        return _states[meterId];
    }

    // ------------------------------------------------------------------------------------------
    // Readings
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IMeterRegistry
    function submitReadings(SignedReadings[] calldata runs) external {
        uint256 n = runs.length;
        if (n == 0) revert MeterRegistryEmptyBatch();
        IEnergyToken token = _energyToken;
        if (address(token) == address(0)) revert MeterRegistryEnergyTokenNotSet();
        for (uint256 i; i < n; ++i) {
            SignedReadings calldata r = runs[i];
            bytes32 meterId = r.meterId;
            Meter storage mp = _meters[meterId];
            (address signer, uint64 capacityW, MeterKind kind) = (mp.signer, mp.capacityW, mp.kind);
            if (signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
            if (!mp.active) revert MeterRegistryMeterDeactivated(meterId);
            State memory st = _states[meterId];
            uint256 end = _checkRun(r, st);
            uint256 settleable = _checkBinding(meterId, r.previousEnd, end);
            _checkSignature(r, signer);
            (uint256 importSum, uint256 exportSum) = _checkEnergy(r, capacityW, kind);
            _checkRegisters(r, st, importSum, exportSum);
            if (kind != MeterKind.Consumer) _checkpoint(meterId, r, st.verifiedExportWh, end);
            (st.nextIntervalStart, st.importRegisterWh, st.exportRegisterWh) = (uint64(end), r.importRegisterWh, r.exportRegisterWh);
            st.verifiedExportWh += uint56(exportSum); // checked: a meter's lifetime export < 2^56 Wh
            st.registersKnown = true;
            _states[meterId] = st;
            _emitAndCredit(r, token, (importSum | exportSum) != 0 ? mp.owner : address(0), settleable);
        }
    }

    /// @dev Emits `ReadingsVerified` for the run and, if `owner` is not zero, credits its energy:
    /// `token.creditVerifiedEnergy(owner, firstIntervalId, settleable, importWh, exportWh)`. The
    /// call's arguments are built past the free memory pointer without allocating it (the two
    /// arrays copied once from calldata, every word checked clean by {_checkEnergy}), the event's
    /// data right after them: its energies packed, 8 bytes per interval (a quarter of the words
    /// two uint32[] arrays take: ~440 gas per interval of the event's data saved). The trusted
    /// energy token calls no one (it mints without acceptance hooks).
    function _emitAndCredit(SignedReadings calldata r, IEnergyToken token, address owner, uint256 settleable) private {
        uint256 seconds_ = _intervalSeconds;
        bytes32 topic = ReadingsVerified.selector;
        bytes4 selector = IEnergyToken.creditVerifiedEnergy.selector;
        assembly ("memory-safe") {
            // the struct's words: meterId, previousEnd, firstIntervalStart, then the arrays'
            // offsets from its start (checked by the decoder when {_checkRun} read them)
            let imports := add(r, calldataload(add(r, 0x60)))
            let exports := add(r, calldataload(add(r, 0x80)))
            let n := calldataload(imports)
            let p := mload(0x40)
            let arrays := shl(6, add(n, 1)) // both arrays: [n, imports...], [n, exports...]
            // ReadingsVerified(meterId, previousEnd, firstIntervalStart, energyWh): the head, then
            // per interval k importWh[k] and exportWh[k] as two big-endian uint32; each write's
            // 24 trailing zero bytes are overwritten by the next, the last's pad the data to a word
            let q := add(p, add(0xa4, arrays))
            mstore(q, calldataload(add(r, 0x20)))
            mstore(add(q, 0x20), calldataload(add(r, 0x40)))
            mstore(add(q, 0x40), 0x60)
            mstore(add(q, 0x60), shl(3, n))
            let apart := sub(exports, imports)
            let dst := add(q, 0x80)
            for {
                let src := add(imports, 0x20)
                let end := add(src, shl(5, n))
            } lt(src, end) { src := add(src, 0x20) } {
                mstore(dst, shl(192, or(shl(32, calldataload(src)), calldataload(add(src, apart)))))
                dst := add(dst, 8)
            }
            log2(q, add(0x80, shl(5, shr(2, add(n, 3)))), topic, calldataload(r))
            if owner {
                // creditVerifiedEnergy(owner, firstIntervalStart / intervalSeconds, settleable,
                // importWh, exportWh)
                calldatacopy(add(p, 0xa4), imports, add(0x20, shl(5, n)))
                calldatacopy(add(p, add(0xc4, shl(5, n))), exports, add(0x20, shl(5, n)))
                mstore(p, selector)
                mstore(add(p, 0x04), owner)
                mstore(add(p, 0x24), div(calldataload(add(r, 0x40)), seconds_))
                mstore(add(p, 0x44), settleable)
                mstore(add(p, 0x64), 0xa0)
                mstore(add(p, 0x84), add(0xc0, shl(5, n)))
                if iszero(call(gas(), token, 0, p, add(0xa4, arrays), 0, 0)) {
                    returndatacopy(p, 0, returndatasize())
                    revert(p, returndatasize())
                }
            }
        }
    }

    /// @dev The run's shape and place: well formed, aligned, continuing the meter's verified
    /// readings, ended, not too long. Returns its end.
    function _checkRun(SignedReadings calldata r, State memory st) private view returns (uint256 end) {
        uint256 count = r.importWh.length;
        (uint64 previousEnd, uint64 first) = (r.previousEnd, r.firstIntervalStart);
        if (count != r.exportWh.length || first < previousEnd || (count == 0 && first == previousEnd)) {
            revert MeterRegistryInvalidRun(r.meterId, previousEnd, first, count, r.exportWh.length);
        }
        uint64 seconds_ = _intervalSeconds;
        if (first % seconds_ != 0) revert MeterRegistryIntervalNotAligned(first, seconds_);
        if (previousEnd != st.nextIntervalStart) revert MeterRegistryNotContinuous(r.meterId, previousEnd, st.nextIntervalStart);
        end = uint256(first) + count * seconds_;
        if (end > block.timestamp) {
            uint256 last = count == 0 ? first : end - seconds_;
            revert MeterRegistryIntervalNotEnded(uint64(last), end, block.timestamp);
        }
        if (end - previousEnd > _MAX_RUN_SECONDS) revert MeterRegistryRunTooLong(r.meterId, previousEnd, end, _MAX_RUN_SECONDS);
    }

    /// @dev Refuses a run touching intervals bound to an operation, unless the operation sends it.
    /// Returns what the energy token lets the sender settle (see {_emitAndCredit}): when the
    /// sender is the meter's operation, `operation | from << 160 | until << 192`, the interval
    /// ids it is bound for; otherwise 0.
    function _checkBinding(bytes32 meterId, uint256 previousEnd, uint256 end) private view returns (uint256) {
        PackedBinding memory b = _bindings[meterId];
        if (b.operation == address(0)) return 0;
        if (b.operation == msg.sender) {
            return uint256(uint160(b.operation)) | (uint256(b.fromInterval) << 160) | (uint256(b.untilInterval) << 192);
        }
        uint256 seconds_ = _intervalSeconds;
        if (previousEnd < uint256(b.untilInterval) * seconds_ && end > uint256(b.fromInterval) * seconds_) {
            revert MeterRegistryMeterInOperation(meterId, b.operation, b.fromInterval);
        }
        return 0;
    }

    function _checkSignature(SignedReadings calldata r, address signer) private view {
        bytes32 digest = _digest(r);
        (address recovered,,) = ECDSA.tryRecover(digest, r.v, r.r, r.s);
        if (recovered != signer) revert MeterRegistryInvalidSigner(r.meterId, recovered, signer);
    }

    /// @dev The EIP-712 digest of a run: arrays are hashed as the keccak of their 32-byte words.
    function _digest(SignedReadings calldata r) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READINGS_TYPEHASH,
                    r.meterId,
                    r.previousEnd,
                    r.firstIntervalStart,
                    _hashWords(r.importWh),
                    _hashWords(r.exportWh),
                    r.importRegisterWh,
                    r.exportRegisterWh
                )
            )
        );
    }

    /// @dev keccak256 of a uint32 array's ABI words as they are in calldata. A dirty word (high
    /// bits set) hashes to what no meter signed, and {_checkEnergy} reads every element checked.
    function _hashWords(uint32[] calldata values) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let size := shl(5, values.length)
            calldatacopy(p, values.offset, size)
            h := keccak256(p, size)
        }
    }

    /// @dev Per interval: a clean uint32 (a meter signed what no honest meter signs otherwise),
    /// energy within the meter's capacity, no export from a consumer. Returns the run's sums
    /// (below 2^32 x 2,976 intervals: no overflow). One pass over the words in calldata.
    function _checkEnergy(SignedReadings calldata r, uint64 capacityW, MeterKind kind)
        private
        view
        returns (uint256 importSum, uint256 exportSum)
    {
        // capacityW * seconds_ < 2^64 * 2^64: no overflow
        uint256 maxWh = uint256(capacityW) * _intervalSeconds / 3600;
        uint32[] calldata imports = r.importWh;
        uint32[] calldata exports = r.exportWh;
        uint256 maxImport;
        uint256 maxExport;
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, imports.length) { k := add(k, 1) } {
                let i := calldataload(add(imports.offset, shl(5, k)))
                let e := calldataload(add(exports.offset, shl(5, k)))
                importSum := add(importSum, i)
                exportSum := add(exportSum, e)
                if gt(i, maxImport) { maxImport := i }
                if gt(e, maxExport) { maxExport := e }
            }
        }
        if ((maxImport | maxExport) > type(uint32).max) {
            revert MeterRegistryInvalidRun(r.meterId, r.previousEnd, r.firstIntervalStart, imports.length, exports.length);
        }
        if (maxImport > maxWh) {
            revert MeterRegistryEnergyExceedsCapacity(r.meterId, Flow.Import, _firstAbove(imports, maxWh), uint64(maxWh));
        }
        if (maxExport > maxWh) {
            revert MeterRegistryEnergyExceedsCapacity(r.meterId, Flow.Export, _firstAbove(exports, maxWh), uint64(maxWh));
        }
        if (kind == MeterKind.Consumer && exportSum != 0) {
            revert MeterRegistryExportFromConsumer(r.meterId, _firstStart(r, exports));
        }
    }

    /// @dev The start of the first interval of the run with some energy in `values`.
    function _firstStart(SignedReadings calldata r, uint32[] calldata values) private view returns (uint64) {
        uint256 k;
        while (values[k] == 0) ++k;
        return uint64(r.firstIntervalStart + k * _intervalSeconds);
    }

    function _firstAbove(uint32[] calldata values, uint256 maxWh) private pure returns (uint64) {
        uint256 k;
        while (values[k] <= maxWh) ++k;
        return values[k];
    }

    /// @dev The registers at the run's end against those at its start: never down; moved by the
    /// run's energy exactly when the run continues without an outage, at least by it otherwise.
    /// The meter's first run sets them.
    function _checkRegisters(SignedReadings calldata r, State memory st, uint256 importSum, uint256 exportSum)
        private
        pure
    {
        if (!st.registersKnown) return;
        bool contiguous = r.firstIntervalStart == r.previousEnd;
        _checkRegister(r.meterId, Flow.Import, st.importRegisterWh, r.importRegisterWh, importSum, contiguous);
        _checkRegister(r.meterId, Flow.Export, st.exportRegisterWh, r.exportRegisterWh, exportSum, contiguous);
    }

    /// @dev Writes the meter's verified export before each UTC day whose start the run reaches:
    /// the days starting in (previousEnd, end]. At most 32: a run spans at most 31 days.
    function _checkpoint(bytes32 meterId, SignedReadings calldata r, uint256 verified, uint256 end) private {
        uint256 day = uint256(r.previousEnd) / _DAY + 1;
        uint256 dayStart = day * _DAY;
        if (dayStart > end) return;
        mapping(uint256 => uint256) storage checkpoints = _exportCheckpoints[meterId];
        // days starting in the outage: nothing verified since previousEnd
        uint256 first = r.firstIntervalStart;
        for (; dayStart <= first && dayStart <= end; dayStart += _DAY) {
            checkpoints[dayStart / _DAY] = _CHECKPOINT_SET | verified;
        }
        uint32[] calldata exports = r.exportWh;
        uint256 seconds_ = _intervalSeconds;
        for (uint256 k; dayStart <= end; ++k) {
            uint256 start = first + k * seconds_;
            if (start == dayStart) {
                checkpoints[dayStart / _DAY] = _CHECKPOINT_SET | verified;
                dayStart += _DAY;
            }
            if (k < exports.length) verified += exports[k];
        }
    }

    function _checkRegister(
        bytes32 meterId,
        Flow flow,
        uint64 previousWh,
        uint64 registerWh,
        uint256 energyWh,
        bool contiguous
    ) private pure {
        if (registerWh < previousWh) revert MeterRegistryRegisterDecreased(meterId, flow, previousWh, registerWh);
        uint256 step = registerWh - previousWh; // cannot underflow: checked just above
        if (contiguous ? step != energyWh : step < energyWh) {
            // energyWh < 2^32 x 2,976: fits in uint64
            revert MeterRegistryRegisterStepMismatch(meterId, flow, uint64(step), uint64(energyWh));
        }
    }

    /// @dev The first interval start at or after both times.
    function _firstIntervalStart(uint256 registeredAt, uint256 commissioningDate) private view returns (uint64) {
        uint256 t = registeredAt > commissioningDate ? registeredAt : commissioningDate;
        uint256 seconds_ = _intervalSeconds;
        return uint64((t + seconds_ - 1) / seconds_ * seconds_); // t < 2^48: fits
    }

    function _activeMeter(bytes32 meterId) private view returns (Meter storage m) {
        m = _meters[meterId];
        if (m.signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        if (!m.active) revert MeterRegistryMeterDeactivated(meterId);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IMeterRegistry
    function intervalSeconds() external view returns (uint64) {
        return _intervalSeconds;
    }

    /// @inheritdoc IMeterRegistry
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IMeterRegistry
    function isParticipant(address account) external view returns (bool) {
        return _participants[account];
    }

    /// @inheritdoc IMeterRegistry
    function meter(bytes32 meterId) external view returns (MeterInfo memory) {
        Meter storage m = _meters[meterId];
        if (m.signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        return MeterInfo({
            signer: m.signer,
            owner: m.owner,
            kind: m.kind,
            active: m.active,
            capacityW: m.capacityW,
            technology: m.technology,
            commissioningDate: m.commissioningDate,
            registeredAt: m.registeredAt
        });
    }

    /// @inheritdoc IMeterRegistry
    function meterOwner(bytes32 meterId) external view returns (address owner, uint64 registeredAt) {
        Meter storage m = _meters[meterId];
        if (m.signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        return (m.owner, m.registeredAt);
    }

    /// @inheritdoc IMeterRegistry
    function meterState(bytes32 meterId) external view returns (MeterState memory) {
        State storage st = _knownMeterState(meterId);
        return MeterState({
            nextIntervalStart: st.nextIntervalStart,
            importRegisterWh: st.importRegisterWh,
            exportRegisterWh: st.exportRegisterWh,
            verifiedExportWh: st.verifiedExportWh,
            registersKnown: st.registersKnown
        });
    }

    /// @inheritdoc IMeterRegistry
    function binding(bytes32 meterId) external view returns (Binding memory) {
        PackedBinding memory b = _bindings[meterId];
        return Binding(b.operation, b.fromInterval, b.untilInterval);
    }

    /// @inheritdoc IMeterRegistry
    function verifiedExportAt(bytes32 meterId, uint256 day) public view returns (uint64) {
        Meter storage m = _meters[meterId];
        if (m.signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        uint256 checkpoint = _exportCheckpoints[meterId][day];
        if (checkpoint != 0) return uint64(checkpoint); // drops the presence bit
        if (m.kind == MeterKind.Consumer) return 0;
        // before (or at) the meter's first interval: nothing verified yet
        if (day * _DAY <= _firstIntervalStart(m.registeredAt, m.commissioningDate)) return 0;
        revert MeterRegistryNoCheckpoint(meterId, day, _states[meterId].nextIntervalStart);
    }

    /// @inheritdoc IMeterRegistry
    function verifiedExportBetween(bytes32 meterId, uint256 fromDay, uint256 toDay) external view returns (uint64) {
        if (fromDay >= toDay) revert MeterRegistryInvalidPeriod(fromDay, toDay);
        return verifiedExportAt(meterId, toDay) - verifiedExportAt(meterId, fromDay);
    }

    /// @inheritdoc IMeterRegistry
    function readingsDigest(SignedReadings calldata run) external view returns (bytes32) {
        return _digest(run);
    }
}
