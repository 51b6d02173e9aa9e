"""File helpers: atomic_write, which replaces a file only once its new content is complete on disk."""
from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write"]


class atomic_write:
    """Context manager giving a binary file that replaces `path` only when the block succeeds.

        with atomic_write("model.dlc") as f:
            f.write(...)

    The temporary file lives in the same folder (os.replace is atomic only within a file system);
    it is flushed and fsync'ed before the rename, and the folder is fsync'ed after it.
    """

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))

    def __enter__(self):
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"cannot save to {self.path}: folder {folder} does not exist")
        fd, self.tmp = tempfile.mkstemp(prefix="." + os.path.basename(self.path) + ".", suffix=".tmp", dir=folder)
        self.file = os.fdopen(fd, "w+b")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if exc_type is None:
                os.chmod(self.tmp, 0o644 & ~_umask())
                os.replace(self.tmp, self.path)
                _fsync_dir(os.path.dirname(self.path))
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder):
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
