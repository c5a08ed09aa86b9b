"""The one exception type the command line turns into a readable line and a non-zero exit."""


class GridshareError(Exception):
    """A problem the user can act on; its message says what went wrong and what to do next."""
