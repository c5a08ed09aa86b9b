"""brownie-config.yaml must compile exactly like gridshare.compiler (same solc, settings, sources)."""

from gridshare.compiler import compile_contracts


def test_bytecode_matches_gridshare_compiler(MeterRegistry, EnergyToken):
    artifacts = compile_contracts()  # cached in build/contracts.json while the sources are unchanged
    assert MeterRegistry.bytecode == artifacts["MeterRegistry"].bytecode.removeprefix("0x")
    assert EnergyToken.bytecode == artifacts["EnergyToken"].bytecode.removeprefix("0x")
