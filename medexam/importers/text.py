"""Decoding of question files and the check for characters no question may contain."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

# Tab, line feed and carriage return are the only control characters a stem
# or an option may contain. Any other character in category Cc means a broken
# export, and so does U+FFFD, the mark a previous tool left where it could not decode.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class DecodeFailure(ValueError):
    """The file is not valid text in the encoding tried."""

    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode_bytes(data: bytes, encoding: str = "") -> tuple[str, str]:
    """Decode data and return (text, encoding used).

    With no encoding given, UTF-8 (with or without a byte-order mark) is tried
    first, then GB18030, which is what Chinese Excel and WPS save as "ANSI" text.
    Decoding is strict: nothing is replaced or dropped.
    """
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ValueError(
                f"Unknown encoding {encoding!r}; use utf-8, utf-8-sig or gb18030."
            ) from exc
        candidates = [encoding]
    else:
        candidates = ["utf-8-sig", "gb18030"]

    first_failure: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError as exc:
            first_failure = first_failure or exc
    assert first_failure is not None
    line, column = _position(data, first_failure.start)
    tried = " or ".join(candidates)
    raise DecodeFailure(
        f"Byte {data[first_failure.start : first_failure.start + 1]!r} at line {line}, byte "
        f"{column} cannot be decoded as {tried}; re-save the file as UTF-8 or pass --encoding.",
        line=line,
        column=column,
    )


def read_text(path: Path, encoding: str = "") -> str:
    """Read and decode a whole file (see decode_bytes)."""
    text, _used = decode_bytes(path.read_bytes(), encoding)
    return text


def find_invalid_character(text: str) -> str | None:
    """Describe the first character a question must not contain, or return None."""
    for index, char in enumerate(text):
        if char == "\ufffd":
            return f"contains U+FFFD (the mark a failed decode leaves) at character {index + 1}"
        if unicodedata.category(char) in {"Cc", "Cs"} and char not in _ALLOWED_CONTROLS:
            return f"contains control character U+{ord(char):04X} at character {index + 1}"
    return None
