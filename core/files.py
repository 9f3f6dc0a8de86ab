"""Atomic file writes: a temporary file in the destination's folder, then os.replace.

A failure (disk full, read-only folder, Ctrl-C) leaves neither a partial file nor a temporary
one, and whatever was at the destination stays as it was.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
from collections.abc import Iterator

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_path(path: PathLike, *, fsync: bool = False) -> Iterator[pathlib.Path]:
    """Yield a temporary path next to `path` (same folder, same suffix); on success move it onto
    `path` with os.replace, on any exception delete it and re-raise. The folder must exist."""
    path = pathlib.Path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")
        try:
            # O_EXCL: never clobber someone else's file; mode 0o666 so the umask applies as for
            # a plain open() (mkstemp would leave the result 0600).
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(f"could not create a temporary file next to {path}")
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file + fsync + os.replace)."""
    with atomic_path(path, fsync=True) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
