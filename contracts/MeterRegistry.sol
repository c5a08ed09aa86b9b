// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title MeterRegistry
/// @notice Participants, meters and their signer keys; verifies EIP-712 signed meter readings and
/// credits verified energy to `EnergyToken`. See {IMeterRegistry} for the full contract.
/// @dev EIP-712 domain: name "gridshare", version "1", this contract; readable via EIP-5267
/// `eip712Domain()`. Roles: `DEFAULT_ADMIN_ROLE` sets the energy token once and manages roles;
/// `OPERATOR_ROLE` (the community operator) registers participants and meters.
contract MeterRegistry is IMeterRegistry, AccessControl, EIP712 {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice keccak256 of the protocol's fixed `MeterReading` type string.
    bytes32 public constant READING_TYPEHASH = keccak256(
        "MeterReading(bytes32 meterId,uint64 intervalStart,uint64 importWh,uint64 exportWh,uint64 importRegisterWh,uint64 exportRegisterWh)"
    );

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    /// @dev Laid out for the reading path: slot 0 holds all a reading checks (one cold read),
    /// `owner` is read only for readings that carry energy.
    struct Meter {
        address signer; // slot 0
        uint32 capacityW; // slot 0
        MeterKind kind; // slot 0
        bool active; // slot 0
        address owner; // slot 1
        uint48 commissioningDate; // slot 1
        uint48 registeredAt; // slot 1
        bytes32 technology; // slot 2
    }

    /// @dev The state a reading writes: one slot, read and written once per run of consecutive
    /// readings of the same meter in a batch (plus one checkpoint per meter and UTC day).
    struct State {
        uint64 nextIntervalStart;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint64 verifiedExportWh; // sum of the exportWh of all verified readings
    }

    /// @dev What the reading loop keeps in memory of the meter it is on.
    struct Checked {
        address signer;
        uint32 capacityW;
        MeterKind kind;
        address owner; // loaded lazily
    }

    uint64 private immutable _intervalSeconds;
    IEnergyToken private _energyToken;
    mapping(address account => bool) private _participants;
    mapping(bytes32 meterId => Meter) private _meters;
    mapping(bytes32 meterId => State) private _states;
    /// @dev `verifiedExportWh` before the meter's first verified reading of a UTC day, plus
    /// 2^64 to tell a checkpoint at zero from none.
    mapping(bytes32 meterId => mapping(uint256 day => uint256)) private _exportCheckpoints;

    uint256 private constant _DAY = 86_400;
    uint256 private constant _CHECKPOINT_SET = 1 << 64;

    // ------------------------------------------------------------------------------------------
    // Construction
    // ------------------------------------------------------------------------------------------

    /// @param intervalSeconds_ metering interval length: 900 (15 min) or 1800 (30 min).
    /// @param admin receives `DEFAULT_ADMIN_ROLE` and `OPERATOR_ROLE`.
    constructor(uint64 intervalSeconds_, address admin) EIP712("gridshare", "1") {
        if (intervalSeconds_ != 900 && intervalSeconds_ != 1800) {
            revert MeterRegistryInvalidIntervalSeconds(intervalSeconds_);
        }
        _intervalSeconds = intervalSeconds_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
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
        uint32 capacityW,
        bytes32 technology,
        uint64 commissioningDate
    ) external onlyRole(OPERATOR_ROLE) {
        if (_meters[meterId].signer != address(0)) revert MeterRegistryMeterAlreadyRegistered(meterId);
        if (signer == address(0)) revert MeterRegistryInvalidSignerKey(meterId, signer);
        if (!_participants[owner]) revert MeterRegistryNotParticipant(owner);
        if (capacityW == 0) revert MeterRegistryZeroCapacity(meterId);
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
    // Readings
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IMeterRegistry
    function submitReadings(SignedReading[] calldata readings) external {
        uint256 n = readings.length;
        if (n == 0) revert MeterRegistryEmptyBatch();
        IEnergyToken token = _energyToken;
        if (address(token) == address(0)) revert MeterRegistryEnergyTokenNotSet();

        // The meter whose state is cached in memory; written back when the batch moves to another
        // meter and at the end. The only external call, to the trusted energy token (which calls
        // no one: it mints without acceptance hooks), comes after every state write.
        bytes32 cachedId;
        bool loaded;
        // Credits for the energy token, sent in one call at the end (no external call in the loop).
        IEnergyToken.Credit[] memory credits = new IEnergyToken.Credit[](n);
        uint256 nCredits;
        Meter storage mp = _meters[0];
        Checked memory m;
        State memory st;
        for (uint256 i; i < n; ++i) {
            SignedReading calldata r = readings[i];
            if (!loaded || r.meterId != cachedId) {
                if (loaded) _states[cachedId] = st;
                cachedId = r.meterId;
                loaded = true;
                mp = _meters[cachedId];
                // slot 0 only: the owner (slot 1) is read below, for readings carrying energy
                (m.signer, m.capacityW, m.kind, m.owner) = (mp.signer, mp.capacityW, mp.kind, address(0));
                if (m.signer == address(0)) revert MeterRegistryUnknownMeter(cachedId);
                if (!mp.active) revert MeterRegistryMeterDeactivated(cachedId);
                st = _states[cachedId];
            }
            uint256 previousEnd = st.nextIntervalStart;
            _verify(r, m, st);
            // the first verified reading of a UTC day checkpoints the export total before it
            uint256 day = r.intervalStart / _DAY;
            if (previousEnd == 0 || (previousEnd - 1) / _DAY < day) {
                _exportCheckpoints[cachedId][day] = _CHECKPOINT_SET | (st.verifiedExportWh - r.exportWh);
            }
            if ((r.importWh | r.exportWh) != 0) {
                if (m.owner == address(0)) m.owner = mp.owner;
                IEnergyToken.Credit memory credit = credits[nCredits++]; // fill the preallocated struct
                credit.account = m.owner;
                credit.intervalId = r.intervalStart / _intervalSeconds; // < intervalStart: fits in uint64
                credit.importWh = r.importWh;
                credit.exportWh = r.exportWh;
            }
            emit ReadingVerified(cachedId, r.intervalStart, r.importWh, r.exportWh);
        }
        _states[cachedId] = st;
        if (nCredits != 0) {
            // shrink the array to the credits actually written (nCredits <= n: memory stays valid)
            assembly ("memory-safe") {
                mstore(credits, nCredits)
            }
            token.creditVerifiedEnergy(credits);
        }
    }

    /// @dev Checks one reading against its meter and the meter's last state, then advances the
    /// state in memory. Reverts with the first problem found.
    function _verify(SignedReading calldata r, Checked memory m, State memory st) private view {
        uint64 seconds_ = _intervalSeconds;
        uint64 start = r.intervalStart;
        if (start % seconds_ != 0) revert MeterRegistryIntervalNotAligned(start, seconds_);
        uint256 end = uint256(start) + seconds_;
        if (end > block.timestamp) revert MeterRegistryIntervalNotEnded(start, end, block.timestamp);

        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH,
                    r.meterId,
                    start,
                    r.importWh,
                    r.exportWh,
                    r.importRegisterWh,
                    r.exportRegisterWh
                )
            )
        );
        (address recovered,,) = ECDSA.tryRecover(digest, r.v, r.r, r.s);
        if (recovered != m.signer) revert MeterRegistryInvalidSigner(r.meterId, recovered, m.signer);

        if (st.nextIntervalStart != 0) {
            if (start < st.nextIntervalStart) {
                revert MeterRegistryIntervalNotAfterLast(r.meterId, start, st.nextIntervalStart - seconds_);
            }
            bool contiguous = start == st.nextIntervalStart;
            _checkRegister(r.meterId, Flow.Import, st.importRegisterWh, r.importRegisterWh, r.importWh, contiguous);
            _checkRegister(r.meterId, Flow.Export, st.exportRegisterWh, r.exportRegisterWh, r.exportWh, contiguous);
        }
        // capacityW * seconds_ < 2^32 * 2^11: no overflow in uint256; energy * 3600 < 2^76.
        uint256 capacityWs = uint256(m.capacityW) * seconds_;
        if (uint256(r.importWh) * 3600 > capacityWs) {
            revert MeterRegistryEnergyExceedsCapacity(r.meterId, Flow.Import, r.importWh, uint64(capacityWs / 3600));
        }
        if (uint256(r.exportWh) * 3600 > capacityWs) {
            revert MeterRegistryEnergyExceedsCapacity(r.meterId, Flow.Export, r.exportWh, uint64(capacityWs / 3600));
        }
        if (m.kind == MeterKind.Consumer && r.exportWh != 0) {
            revert MeterRegistryExportFromConsumer(r.meterId, r.exportWh);
        }

        st.nextIntervalStart = uint64(end); // end <= block.timestamp, which fits in uint64
        st.importRegisterWh = r.importRegisterWh;
        st.exportRegisterWh = r.exportRegisterWh;
        // the total stays below the export register's range: each step is bounded by capacity
        st.verifiedExportWh += r.exportWh;
    }

    function _checkRegister(
        bytes32 meterId,
        Flow flow,
        uint64 previousWh,
        uint64 registerWh,
        uint64 energyWh,
        bool contiguous
    ) private pure {
        if (registerWh < previousWh) revert MeterRegistryRegisterDecreased(meterId, flow, previousWh, registerWh);
        uint64 step = registerWh - previousWh; // cannot underflow: checked just above
        if (contiguous ? step != energyWh : step < energyWh) {
            revert MeterRegistryRegisterStepMismatch(meterId, flow, step, energyWh);
        }
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
        if (_meters[meterId].signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        State storage st = _states[meterId];
        return MeterState({
            nextIntervalStart: st.nextIntervalStart,
            importRegisterWh: st.importRegisterWh,
            exportRegisterWh: st.exportRegisterWh,
            verifiedExportWh: st.verifiedExportWh
        });
    }

    /// @inheritdoc IMeterRegistry
    function verifiedExportAt(bytes32 meterId, uint256 day) public view returns (uint64) {
        if (_meters[meterId].signer == address(0)) revert MeterRegistryUnknownMeter(meterId);
        uint256 checkpoint = _exportCheckpoints[meterId][day];
        if (checkpoint != 0) return uint64(checkpoint); // drops the presence bit
        State storage st = _states[meterId];
        // no reading in `day` yet: the total is final for that day's start only if the meter's
        // verified readings end exactly there (later ones can only come after)
        if (st.nextIntervalStart == day * _DAY) return st.verifiedExportWh;
        revert MeterRegistryNoCheckpoint(meterId, day, st.nextIntervalStart);
    }

    /// @inheritdoc IMeterRegistry
    function verifiedExportBetween(bytes32 meterId, uint256 fromDay, uint256 toDay) external view returns (uint64) {
        if (fromDay >= toDay) revert MeterRegistryInvalidPeriod(fromDay, toDay);
        return verifiedExportAt(meterId, toDay) - verifiedExportAt(meterId, fromDay);
    }

    /// @inheritdoc IMeterRegistry
    function readingDigest(
        bytes32 meterId,
        uint64 intervalStart,
        uint64 importWh,
        uint64 exportWh,
        uint64 importRegisterWh,
        uint64 exportRegisterWh
    ) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH, meterId, intervalStart, importWh, exportWh, importRegisterWh, exportRegisterWh
                )
            )
        );
    }
}
