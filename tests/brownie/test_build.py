"""brownie-config.yaml must compile exactly like gridshare.chain.compiler (same solc, settings, sources)."""

import brownie

from gridshare.chain.compiler import DEPLOYABLE, compile_contracts


def test_bytecode_matches_gridshare_compiler():
    artifacts = compile_contracts()  # cached in build/gridshare-compile.json while the sources are unchanged
    for name in DEPLOYABLE:
        container = getattr(brownie, name)
        assert container.bytecode == artifacts[name].bytecode.removeprefix("0x"), name
