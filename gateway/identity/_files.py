"""Private files in the home: folders 0700, files 0600, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from gateway.errors import KeystoreError

__all__ = ["ensure_private_dir", "write_private"]


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700, tightening it if it is looser."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot create the folder ({exc.strerror})") from None
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes, *, exclusive: bool) -> None:
    """Write ``data`` to ``path`` (mode 0600) so that readers see the old file or the new one.

    With ``exclusive`` the write fails if ``path`` already exists, even against a concurrent
    writer: the file is published with ``link``, which never replaces an existing name.

    Raises:
        KeystoreError: the file exists (``exclusive``) or cannot be written.
    """
    folder = ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
        _fsync_dir(folder)
    except FileExistsError:
        raise KeystoreError(f"{path} already exists") from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot write the file ({exc.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
