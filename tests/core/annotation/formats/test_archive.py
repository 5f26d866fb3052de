"""Zip download/upload: round trip, zip slip, size caps."""

from __future__ import annotations

import io
import zipfile

import pytest

from core.annotation.formats.archive import read_zip, zip_files
from core.errors import FormatError
from tests.images import raw_zip


def test_round_trip_is_deterministic() -> None:
    files = {"classes.txt": b"None\nmask\n", "labels/IMG_1.txt": b"1 0.5 0.5 0.1 0.1\n", "empty.txt": b""}
    data = zip_files(files)
    assert read_zip(data) == files
    assert zip_files(dict(reversed(files.items()))) == data


def test_folders_and_macos_litter_are_skipped() -> None:
    data = raw_zip(
        {"voc/": b"", "voc/a.xml": b"<a/>", "__MACOSX/voc/._a.xml": b"junk", "voc/.DS_Store": b"junk"}
    )
    assert read_zip(data) == {"voc/a.xml": b"<a/>"}


def test_windows_separators_are_normalised() -> None:
    assert read_zip(raw_zip({"voc\\a.xml": b"x", "./b.xml": b"y"})) == {"voc/a.xml": b"x", "b.xml": b"y"}


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "voc/../../evil.txt", "/etc/passwd", "..\\evil.txt", "C:/evil.txt", "c:\\evil.txt"],
)
def test_zip_slip_is_refused(name: str) -> None:
    with pytest.raises(FormatError) as info:
        read_zip(raw_zip({"ok.txt": b"x", name: b"x"}), file="up.zip")
    assert (info.value.file, info.value.field) == ("up.zip", name)


@pytest.mark.parametrize("name", ["../evil.txt", "/abs.txt"])
def test_zip_files_refuses_bad_names(name: str) -> None:
    with pytest.raises(FormatError):
        zip_files({name: b"x"})


def test_member_size_cap() -> None:
    bomb = raw_zip({"big.txt": b"\0" * 100_000})
    assert len(bomb) < 1_000
    with pytest.raises(FormatError) as info:
        read_zip(bomb, max_member_bytes=50_000)
    assert info.value.field == "big.txt"
    assert read_zip(bomb, max_member_bytes=100_000)["big.txt"] == b"\0" * 100_000


def test_lying_header_does_not_pass_the_cap() -> None:
    data = bytearray(raw_zip({"big.txt": b"\0" * 100_000}))
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size fields
        at = data.index(header) + offset
        data[at : at + 4] = (10).to_bytes(4, "little")
    with pytest.raises(FormatError):
        read_zip(bytes(data), max_member_bytes=50_000)


def test_total_size_and_member_count_caps() -> None:
    data = raw_zip({f"{i}.txt": b"x" * 1000 for i in range(10)})
    with pytest.raises(FormatError):
        read_zip(data, max_total_bytes=5_000)
    with pytest.raises(FormatError):
        read_zip(data, max_members=5)
    assert len(read_zip(data)) == 10


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04" + b"\0" * 40])
def test_not_a_zip(data: bytes) -> None:
    with pytest.raises(FormatError) as info:
        read_zip(data, file="up.zip")
    assert info.value.file == "up.zip"


def test_duplicate_member_names_are_refused() -> None:
    with pytest.warns(UserWarning):
        data = _dup_zip()
    with pytest.raises(FormatError) as info:
        read_zip(data)
    assert info.value.field == "a.txt"


def _dup_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"1")
        zf.writestr("a.txt", b"2")
    return buf.getvalue()


def test_corrupt_member_is_reported() -> None:
    data = bytearray(raw_zip({"a.txt": b"hello world" * 100}))
    at = data.index(b"PK\x01\x02")
    data[at - 20 : at - 10] = b"\xff" * 10  # damage the compressed stream
    with pytest.raises(FormatError):
        read_zip(bytes(data))
