"""Zip archives of annotation folders (VOC, YOLO) for download and upload.

`read_zip` treats the archive as untrusted: absolute paths and `..` parts (zip slip) are refused,
and every member is read with a hard size cap, so a zip bomb stops at the cap instead of filling
memory. Folder entries and macOS litter (`__MACOSX/`, `.DS_Store`) are skipped.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import PurePosixPath

from core.errors import FormatError

#: Largest single member accepted, uncompressed.
MAX_MEMBER_BYTES = 20 * 1024 * 1024
#: Largest sum of all members accepted, uncompressed.
MAX_TOTAL_BYTES = 200 * 1024 * 1024
#: Most members accepted in one archive.
MAX_MEMBERS = 50_000

_DRIVE = re.compile(r"^[A-Za-z]:")
# A fixed timestamp makes the same files give the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def check_member_name(name: str, *, file: str = "archive.zip") -> str:
    """`name` with `/` separators, or FormatError if it is absolute or climbs out with `..`."""
    norm = name.replace("\\", "/")
    parts = PurePosixPath(norm).parts
    if not norm or norm.startswith("/") or _DRIVE.match(norm) or "\x00" in norm:
        raise FormatError("absolute or empty path in archive", file=file, field=name)
    if any(p == ".." for p in parts):
        raise FormatError("path with '..' in archive (zip slip)", file=file, field=name)
    return "/".join(p for p in parts if p != ".")


def _skipped(name: str) -> bool:
    parts = name.split("/")
    return name.endswith("/") or parts[0] == "__MACOSX" or parts[-1] == ".DS_Store"


def zip_files(files: dict[str, bytes]) -> bytes:
    """A deflated zip holding `files` (relative `/`-separated names -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(check_member_name(name, file="(export)"), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


def read_zip(
    data: bytes,
    *,
    file: str = "archive.zip",
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_members: int = MAX_MEMBERS,
) -> dict[str, bytes]:
    """The files in an uploaded zip as {relative name: bytes}. Raises FormatError on anything unsafe."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise FormatError(f"not a readable zip archive ({exc})", file=file) from exc
    out: dict[str, bytes] = {}
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise FormatError(f"more than {max_members} files in the archive", file=file)
        for info in infos:
            name = check_member_name(info.filename, file=file)
            if _skipped(info.filename.replace("\\", "/")) or not name:
                continue
            if name in out:
                raise FormatError("the same file appears twice in the archive", file=file, field=name)
            if info.file_size > max_member_bytes:
                raise FormatError(f"file is larger than {max_member_bytes:,} bytes", file=file, field=name)
            try:
                with zf.open(info) as fh:
                    content = fh.read(max_member_bytes + 1)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError) as exc:
                raise FormatError(f"cannot extract ({exc})", file=file, field=name) from exc
            if len(content) > max_member_bytes:
                raise FormatError(f"file is larger than {max_member_bytes:,} bytes", file=file, field=name)
            total += len(content)
            if total > max_total_bytes:
                raise FormatError(f"archive holds more than {max_total_bytes:,} bytes", file=file)
            out[name] = content
    return out
