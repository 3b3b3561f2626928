import pytest

from medexam.importers.text import DecodeFailure, decode_bytes, find_invalid_character


def test_decode_utf8_with_bom():
    text, used = decode_bytes("\ufeff题干".encode())
    assert text == "题干"
    assert used == "utf-8-sig"


def test_decode_falls_back_to_gb18030():
    text, used = decode_bytes("题干,答案\n心力衰竭,A\n".encode("gb18030"))
    assert text.startswith("题干")
    assert used == "gb18030"


def test_decode_given_encoding_strict():
    with pytest.raises(DecodeFailure) as info:
        decode_bytes("题干\n心衰".encode("gb18030"), "utf-8")
    assert info.value.line == 1


def test_decode_reports_line_of_bad_byte():
    data = b"stem,answer\nok,A\n\xff\xfe\xfd,B\n"
    with pytest.raises(DecodeFailure) as info:
        decode_bytes(data, "utf-8")
    assert info.value.line == 3
    assert info.value.column == 1


def test_decode_unknown_encoding_named():
    with pytest.raises(ValueError, match="latin-9x"):
        decode_bytes(b"x", "latin-9x")


@pytest.mark.parametrize("text", ["心衰\x07", "替换\ufffd字", "\x00"])
def test_invalid_character_found(text):
    assert find_invalid_character(text) is not None


def test_tab_and_newline_allowed():
    assert find_invalid_character("第一行\n\t第二行\r\n") is None


def test_forced_utf8_on_gb18030_suggests_gb18030():
    with pytest.raises(DecodeFailure) as info:
        decode_bytes("题干,答案\n心衰,A\n".encode("gb18030"), "utf-8")
    assert info.value.suggestion == "gb18030"
    message = str(info.value)
    assert "--encoding gb18030" in message
    assert "re-save" not in message


def test_forced_gb18030_on_utf8_suggests_utf8():
    data = "题干,答案\n𠀋心衰,A\n".encode()
    with pytest.raises(DecodeFailure) as info:
        decode_bytes(b"\x80" + data, "gb18030")
    assert info.value.suggestion == ""
    assert "Big5" in str(info.value)


def test_utf16_with_bom_suggested():
    data = "题干,答案\n心衰,A\n".encode("utf-16")
    with pytest.raises(DecodeFailure) as info:
        decode_bytes(data)
    assert info.value.suggestion == "utf-16"
