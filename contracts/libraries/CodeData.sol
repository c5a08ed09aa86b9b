// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CodeData: immutable bytes kept as the code of a data contract
/// @notice Reading n bytes back costs one cold account access (2,600 gas) and 3 gas per 32-byte
/// word, where storage costs 2,100 gas per cold slot; writing costs a contract creation (32,000
/// gas) plus 200 gas per byte. Worth it for data read far more often than it changes.
/// @dev The pattern of Solady's SSTORE2. The code starts with a STOP byte, so calling the data
/// contract does nothing; the data follows it. Code cannot change and, since EIP-6780, cannot be
/// destroyed: an address returned by {write} reads the same bytes for good.
library CodeData {
    /// @notice Deploys `data` as code; returns the data contract's address, or zero if the
    /// creation failed (out of gas, or data above the 24,575-byte code size limit).
    function write(bytes memory data) internal returns (address pointer) {
        assembly ("memory-safe") {
            let n := mload(data)
            let code := mload(0x40) // scratch: nothing is allocated
            // initcode (12 bytes): PUSH2 n+1, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN;
            // then the runtime code: STOP, data
            mstore(code, or(shl(232, or(0x610000, add(n, 1))), shl(152, 0x80600c6000396000f300)))
            mcopy(add(code, 13), add(data, 0x20), n)
            pointer := create(0, code, add(n, 13))
        }
    }

    /// @notice The bytes {write} stored at `pointer` (empty for an account without code).
    function read(address pointer) internal view returns (bytes memory data) {
        assembly ("memory-safe") {
            let size := extcodesize(pointer)
            let n := sub(size, iszero(iszero(size))) // without the STOP byte
            data := mload(0x40)
            mstore(data, n)
            extcodecopy(pointer, add(data, 0x20), 1, n)
            mstore(0x40, add(add(data, 0x20), and(add(n, 31), not(31))))
        }
    }
}
