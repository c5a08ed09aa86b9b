// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Tests only: reads many views in one `eth_call` (tests/test_invariants.py reads the
/// whole ledger after every step of its campaign). Deployed by the tests, never by `deploy`.
contract TestMulticall {
    /// @notice Static-calls `targets[i]` with `data[i]`, in order, and returns the block's
    /// timestamp followed by their return data, concatenated (the callers know each view's size:
    /// static return types only). Reverts with the first failing call's revert data.
    function read(address[] calldata targets, bytes[] calldata data) external view returns (bytes memory) {
        assembly {
            let out := mload(0x40)
            mstore(add(out, 0x40), timestamp())
            let p := add(out, 0x60) // after the ABI head of the returned bytes (offset, length) and the time
            for { let i := 0 } lt(i, data.length) { i := add(i, 1) } {
                let target := calldataload(add(targets.offset, shl(5, i)))
                let d := add(data.offset, calldataload(add(data.offset, shl(5, i))))
                let len := calldataload(d)
                calldatacopy(p, add(d, 0x20), len) // the call's input, overwritten by its output
                if iszero(staticcall(gas(), target, p, len, 0, 0)) {
                    returndatacopy(out, 0, returndatasize())
                    revert(out, returndatasize())
                }
                returndatacopy(p, 0, returndatasize())
                p := add(p, returndatasize())
            }
            let size := sub(p, add(out, 0x40))
            mstore(out, 0x20)
            mstore(add(out, 0x20), size)
            mstore(p, 0) // zero padding to a whole word
            return(out, add(0x40, and(add(size, 31), not(31))))
        }
    }
}
