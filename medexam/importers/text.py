"""Decoding of question files and the check for characters no question may contain."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.messages import alternatives, quoted

# Tab, line feed and carriage return are the only control characters a stem
# or an option may contain. Any other character in category Cc means a broken
# export, and so does U+FFFD, the mark a previous tool left where it could not decode.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class DecodeFailure(ValueError):
    """The file is not valid text in the encoding tried.

    offset is the position of the first undecodable byte in the file, line and
    column (in bytes) are 1-based. suggestion names an encoding in which the
    whole file decodes, or is empty.
    """

    def __init__(
        self,
        *,
        data: bytes,
        offset: int,
        tried: list[str],
        suggestion: str,
    ) -> None:
        self.offset = offset
        self.line, self.column = _position(data, offset)
        self.bad_byte = data[offset : offset + 1]
        self.tried = tried
        self.suggestion = suggestion
        super().__init__(self.describe())

    def describe(self, place: str = "") -> str:
        """Build the message; place names the table column or JSON key of the bad byte."""
        if place:
            where = _("line %(line)s, byte %(byte)s (%(place)s)") % {
                "line": self.line,
                "byte": self.column,
                "place": place,
            }
        else:
            where = _("line %(line)s, byte %(byte)s") % {"line": self.line, "byte": self.column}
        values = {
            "value": self.bad_byte.hex().upper(),
            "where": where,
            "tried": alternatives([_ENCODING_NAMES.get(name, name) for name in self.tried]),
        }
        if self.suggestion:
            values["name"] = _ENCODING_NAMES.get(self.suggestion, self.suggestion)
            values["code"] = self.suggestion
            return (
                _(
                    "Byte 0x%(value)s at %(where)s cannot be decoded as %(tried)s, but the whole "
                    "file decodes as %(name)s: run the import again with --encoding %(code)s "
                    "(the encoding field of the upload form), or leave the encoding empty to "
                    "detect it."
                )
                % values
            )
        return (
            _(
                "Byte 0x%(value)s at %(where)s cannot be decoded as %(tried)s. The file is in "
                "another encoding (for example Big5) or is damaged at that place. Pass its "
                'encoding with --encoding, or open it in Excel or WPS and save it as "CSV UTF-8".'
            )
            % values
        )


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030"}
# Tried, in order, for a suggestion when the encoding given (or detected) fails.
_SUGGESTIONS = ("utf-8-sig", "gb18030", "utf-16")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _suggest_encoding(data: bytes, tried: list[str]) -> str:
    """Return the first other common encoding in which all of data decodes, or ""."""
    folded = {codecs.lookup(name).name for name in tried}
    for candidate in _SUGGESTIONS:
        if codecs.lookup(candidate).name in folded:
            continue
        # UTF-16 decodes most byte strings of even length; only trust it with a byte-order mark.
        if candidate == "utf-16" and not data.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        ):
            continue
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return ""


def decode_bytes(data: bytes, encoding: str = "") -> tuple[str, str]:
    """Decode data and return (text, encoding used).

    With no encoding given, UTF-8 (with or without a byte-order mark) is tried
    first, then GB18030, which is what Chinese Excel and WPS save as "ANSI" text.
    Decoding is strict: nothing is replaced or dropped. Raises DecodeFailure,
    with an encoding in which the file does decode where there is one.
    """
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ValueError(
                _("Unknown encoding %(encoding)s; use utf-8, utf-8-sig or gb18030.")
                % {"encoding": quoted(encoding)}
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
    raise DecodeFailure(
        data=data,
        offset=first_failure.start,
        tried=candidates,
        suggestion=_suggest_encoding(data, candidates),
    )


def line_text(data: bytes, failure: DecodeFailure, *, number: int = 0) -> str:
    """Decode one line of data leniently, to name the place of a decode failure.

    The line is line number (1-based), or by default the failing line up to
    the bad byte. Bad bytes become U+FFFD; the text is only shown, never stored.
    """
    encoding = failure.suggestion or failure.tried[0]
    if number:
        lines = data.split(b"\n")
        raw = lines[number - 1] if number <= len(lines) else b""
    else:
        raw = data[data.rfind(b"\n", 0, failure.offset) + 1 : failure.offset]
    return raw.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")


def json_key_before(prefix: str) -> str:
    """Return the last JSON object key in prefix (a line cut before a bad byte), or ""."""
    keys = re.findall(r'"([^"\\]+)"\s*:', prefix)
    return keys[-1] if keys else ""


def read_text(path: Path, encoding: str = "") -> str:
    """Read and decode a whole file (see decode_bytes)."""
    text, _used = decode_bytes(path.read_bytes(), encoding)
    return text


def find_invalid_character(text: str) -> str | None:
    """Describe the first character a question must not contain, and the fix, or return None."""
    for index, char in enumerate(text):
        if char == "\ufffd":
            return _(
                "contains U+FFFD (the mark a failed decode leaves) at character %(position)s; "
                "copy the text again from the original file, read in its real encoding"
            ) % {"position": index + 1}
        if unicodedata.category(char) in {"Cc", "Cs"} and char not in _ALLOWED_CONTROLS:
            return _(
                "contains control character U+%(code)s at character %(position)s; delete it "
                "from the file"
            ) % {"code": f"{ord(char):04X}", "position": index + 1}
    return None
