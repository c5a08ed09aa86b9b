"""`python -m gridshare`: the same as the `gridshare` command."""

import sys

from gridshare.cli.app import main

sys.exit(main())
