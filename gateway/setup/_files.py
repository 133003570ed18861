"""Files the setup writes in the home: atomically (temp file, fsync, rename), with backups.

A reader, or a Ctrl-C at any moment, sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from pathlib import Path

from gateway.errors import ConfigError

__all__ = ["backup_file", "write_atomic"]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> Path:
    """Replace ``path`` with ``data`` (file mode ``mode``) in one rename.

    Raises:
        ConfigError: the file cannot be written (one line naming it).
    """
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the file ({exc.strerror})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the file ({exc.strerror})") from None
    finally:
        # Also on KeyboardInterrupt: the temp file never outlives a failed or cancelled write.
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def backup_file(path: Path) -> Path | None:
    """Copy ``path`` to ``<name>.bak-<UTC time>`` (same mode) before it is replaced.

    Returns:
        The backup's path, or None when ``path`` does not exist.
    """
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file to back it up ({exc.strerror})") from None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backup = path.with_name(f"{path.name}.bak-{stamp}-{secrets.token_hex(2)}")
    return write_atomic(backup, data, mode=mode)
