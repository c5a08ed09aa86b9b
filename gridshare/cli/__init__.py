"""The `gridshare` command line: :mod:`gridshare.cli.app` (the group and ``main``), one module per
command group, :mod:`gridshare.cli.context` (the chain and consoles every command shares) and
:mod:`gridshare.cli.params` (the domain's parameter types)."""
