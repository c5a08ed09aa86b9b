"""Reading the text files people give gridshare (readings, signed runs, grid operator exports): line
by line, in bounded memory, with one-line errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from gridshare.errors import GridshareError

#: the longest line read: a readings file's line is a few hundred bytes; anything longer is not one
MAX_LINE_BYTES = 1 << 20


def text_lines(path: Path, what: str) -> Iterator[str]:
    """``path``'s lines (UTF-8, a byte order mark dropped), read one at a time; ``what`` says what
    the file should be, for the errors: a missing file, a line that is not UTF-8 or longer than
    :data:`MAX_LINE_BYTES` (a file of one huge line is refused at its first MiB, not loaded)."""
    if not path.exists():
        raise GridshareError(f"{path} not found")
    if path.is_dir():
        raise GridshareError(f"{path} is a folder: give {what}")
    with path.open("rb") as f:
        for number, raw in enumerate(iter(lambda: f.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise GridshareError(f"{path} line {number}: longer than {MAX_LINE_BYTES >> 20} MiB: not {what}")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise GridshareError(f"{path} line {number}: not UTF-8 text; save {what} as CSV UTF-8") from None
            yield text.removeprefix("\ufeff") if number == 1 else text
