"""gridshare: the toolkit of a local energy community on Ethereum.

Pure domain logic: :mod:`gridshare.reading` (signed meter readings), :mod:`gridshare.meter`
(meter ids and keys), :mod:`gridshare.allocation` (allocation keys), :mod:`gridshare.guarantee`
(guarantees of origin), :mod:`gridshare.profiles` (PV and household profiles).
Chain adapters: :mod:`gridshare.network`, :mod:`gridshare.deployment`, :mod:`gridshare.relayer`,
:mod:`gridshare.ledger`, :mod:`gridshare.certificates`. The command line: :mod:`gridshare.cli`.
"""

__version__ = "0.1.0"
