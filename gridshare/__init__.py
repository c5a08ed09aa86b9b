"""gridshare: the toolkit of a local energy community on Ethereum.

Pure domain logic: :mod:`gridshare.protocol.readings` (signed meter readings), :mod:`gridshare.protocol.meters`
(meter ids and keys), :mod:`gridshare.domain.allocation` (allocation keys), :mod:`gridshare.protocol.guarantees`
(guarantees of origin), :mod:`gridshare.simulate.profiles` (PV and household profiles).
Chain adapters: :mod:`gridshare.chain.network`, :mod:`gridshare.chain.deployment`, :mod:`gridshare.chain.relayer`,
:mod:`gridshare.chain.ledger`, :mod:`gridshare.chain.certificates`. The command line: :mod:`gridshare.cli`.
"""

__version__ = "0.2.0"
