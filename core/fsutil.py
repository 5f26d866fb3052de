"""Atomic writes, safe names and natural sort order."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, TypeGuard

from core.errors import WorkspaceError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically: a temporary file in the same folder, fsync, rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = _DEFAULT_MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600 files; keep the usual permissions
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)
    return target


def _default_mode() -> int:
    """0o666 less the process umask (read once at import, as os.umask can only be set to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_DEFAULT_MODE = _default_mode()


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; skipped where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write JSON atomically (pretty-printed, UTF-8, NaN refused)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_UNICODE = re.compile(r"[^\w.-]+")


def safe_name(name: str, *, fallback: str = "unnamed") -> str:
    """A file/folder name made from user text: no separators, no dot-dot, no markup.

    `../x` -> `x`, `<b>x</b>` -> `b_x_b`, `no mask` -> `no_mask`, `grün` -> `grun`. A name
    with no Latin letter or digit keeps its Unicode letters (`маска`, `口罩`, NFC).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = _clean(_UNSAFE, text)
    if not text:
        text = _clean(_UNSAFE_UNICODE, unicodedata.normalize("NFC", str(name)))
    if not text or text in {".", ".."}:
        return fallback
    return text[:100]


def _clean(unsafe: re.Pattern[str], text: str) -> str:
    text = unsafe.sub("_", text).strip("._-")
    text = re.sub(r"_+", "_", text)
    return "" if text in {".", ".."} else text


def ensure_inside(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Resolve `path` and make sure it lies inside `root`; raise WorkspaceError otherwise."""
    root_r = Path(root).resolve()
    p = Path(path)
    if not p.is_absolute():
        p = root_r / p
    p_r = p.resolve()
    if p_r != root_r and root_r not in p_r.parents:
        raise WorkspaceError(f"{path} is outside {root_r}")
    return p_r


_NUM = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key for natural file order: IMG_2 before IMG_10, case-insensitive."""
    parts = _NUM.split(str(name).lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def natural_sorted(names: list[str]) -> list[str]:
    """`names` in natural order."""
    return sorted(names, key=natural_key)


def finite_number(value: Any) -> TypeGuard[float]:
    """True for an int/float that is not bool, NaN or infinite (for the checker: a float)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
