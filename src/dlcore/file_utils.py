"""Downloading files once, safely: `get_file` (Keras's), its hashes, its lock and its archive extraction.

A download goes to a temporary file beside its destination, is hashed while it arrives, checked
against the expected hash, and only then renamed over the destination (os.replace is atomic): an
interrupted transfer, a truncated one or a wrong file never leaves anything that a later call would
trust. A lock file beside the destination serialises processes that want the same file, so two
processes loading a data set at once download it once. Archives are extracted into a temporary
folder that is renamed into place, member by member checked to stay inside it.

The cache lives in `~/.dlcore/` (`$DLCORE_HOME` overrides it), data sets in its `datasets/` folder.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from ._version import __version__

__all__ = ["get_file", "hash_file", "validate_file", "extract_archive", "dlcore_home", "DownloadError"]

TIMEOUT_S = 60          # seconds without a byte before a download is given up
CHUNK_BYTES = 1 << 16


class DownloadError(OSError):
    """A file could not be downloaded (no network, an HTTP error, a transfer cut short)."""


def dlcore_home() -> str:
    """dlcore's cache folder: `$DLCORE_HOME` if set, else `~/.dlcore` (data sets go to its `datasets/`).

    Example:
    ```python
    import os
    import dlcore as dl
    assert dl.utils.dlcore_home() == os.path.expanduser(os.environ.get("DLCORE_HOME") or "~/.dlcore")
    ```
    """
    return os.path.expanduser(os.environ.get("DLCORE_HOME") or os.path.join("~", ".dlcore"))


# --------------------------------------------------------------------------------------------
# hashes
# --------------------------------------------------------------------------------------------

def _algorithm(file_hash, hash_algorithm, where="get_file"):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"{where}: 'hash_algorithm' must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}")
    if file_hash is None:
        return None
    if not isinstance(file_hash, str) or any(c not in "0123456789abcdefABCDEF" for c in file_hash):
        raise ValueError(f"{where}: 'file_hash' must be a hexadecimal sha256 (64 digits) or md5 (32 digits) "
                         f"string, got {file_hash!r}")
    n = {"sha256": 64, "md5": 32}
    algo = hash_algorithm if hash_algorithm != "auto" else {64: "sha256", 32: "md5"}.get(len(file_hash))
    if algo is None or len(file_hash) != n[algo]:
        raise ValueError(f"{where}: 'file_hash' has {len(file_hash)} hex digits; a sha256 has 64, an md5 32 "
                         f"(hash_algorithm={hash_algorithm!r})")
    return algo


def hash_file(fpath, algorithm: str = "sha256", chunk_size: int = CHUNK_BYTES) -> str:
    """The hex digest of a file's content ('sha256' or 'md5'), read in chunks.

    Args:
        fpath: path of the file.
        algorithm: 'sha256' (default) or 'md5'.
        chunk_size: bytes read at a time.

    Returns:
        The lowercase hexadecimal digest.

    Example:
    ```python
    import os, tempfile
    import dlcore as dl
    path = os.path.join(tempfile.mkdtemp(), "empty.bin")
    open(path, "wb").close()
    assert dl.utils.hash_file(path) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    ```
    """
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"hash_file: 'algorithm' must be 'sha256' or 'md5', got {algorithm!r}")
    h = hashlib.new(algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def validate_file(fpath, file_hash: str, algorithm: str = "auto") -> bool:
    """True when the file's sha256 (64 hex digits) or md5 (32) equals `file_hash`.

    Example:
    ```python
    import os, tempfile
    import dlcore as dl
    path = os.path.join(tempfile.mkdtemp(), "empty.bin")
    open(path, "wb").close()
    assert dl.utils.validate_file(path, "d41d8cd98f00b204e9800998ecf8427e")  # the md5 of nothing
    ```
    """
    algo = _algorithm(file_hash, algorithm, "validate_file")
    if algo is None:
        raise ValueError("validate_file: give the expected 'file_hash'")
    return hash_file(fpath, algo) == file_hash.lower()


# --------------------------------------------------------------------------------------------
# the lock: one process downloads, the others wait and then find the file in the cache
# --------------------------------------------------------------------------------------------

class _FileLock:
    """An exclusive lock on `path` between processes (fcntl.flock; msvcrt on Windows). The OS releases it
    when the process dies, so a killed download never blocks the next one."""

    def __init__(self, path, what):
        self.path, self.what = path, what

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not self._try():
                print(f"Waiting for another process to finish downloading {self.what} ...", flush=True)
                self._wait()
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *exc):
        try:
            if os.name == "nt":
                import msvcrt
                os.lseek(self.fd, 0, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False

    def _try(self) -> bool:
        if os.name == "nt":
            import msvcrt
            try:
                msvcrt.locking(self.fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                return False
        import fcntl
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _wait(self):
        if os.name == "nt":
            while not self._try():
                time.sleep(0.1)
            return
        import fcntl
        fcntl.flock(self.fd, fcntl.LOCK_EX)


# --------------------------------------------------------------------------------------------
# the transfer
# --------------------------------------------------------------------------------------------

def _size(n) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class _Progress:
    """A byte-count progress bar, redrawn in place on a terminal; silent when the stream is not one."""

    def __init__(self, total, stream, width=30):
        self.total, self.stream, self.width = total, stream, width
        self.live = bool(getattr(stream, "isatty", None) and stream.isatty())
        self.start = self.last = time.perf_counter()

    def update(self, done, final=False):
        if not self.live:
            return
        now = time.perf_counter()
        if not final and now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            filled = int(self.width * min(done / self.total, 1.0))
            bar = "=" * filled + (">" if filled < self.width else "") + "." * (self.width - filled - 1)
            line = f"{_size(done)}/{_size(self.total)} [{bar[:self.width]}] {_size(rate)}/s"
        else:
            line = f"{_size(done)} {_size(rate)}/s"
        self.stream.write("\r" + line + ("\n" if final else ""))
        self.stream.flush()


def _offline_help(fname, origin, target, file_hash, algo, reason):
    hash_text = f" with {algo} {file_hash}" if file_hash else ""
    return (f"get_file: could not download {fname!r} from {origin}: {reason}. dlcore expects the file at "
            f"{target}{hash_text}. Without a network: download {origin} on a machine that has one and copy it to "
            f"that path (its hash is checked before use), or point DLCORE_HOME (or cache_dir=) at a folder that "
            f"holds it in '{os.path.basename(os.path.dirname(target))}/'.")


def _download(origin, target, fname, file_hash, algo):
    """origin -> target through a temporary file: hashed on the way, checked, then renamed into place."""
    def failed(reason):
        return DownloadError(_offline_help(fname, origin, target, file_hash, algo, reason))

    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".part", dir=folder)
    hasher = hashlib.new(algo) if algo else None
    try:
        with os.fdopen(fd, "wb") as f:
            request = urllib.request.Request(origin, headers={"User-Agent": f"dlcore/{__version__}"})
            try:
                response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
            except urllib.error.HTTPError as e:
                raise failed(f"the server answered HTTP {e.code} {e.reason}") from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
                raise failed(getattr(e, "reason", None) or e) from None
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = _Progress(total, sys.stdout)
                done = 0
                while True:
                    try:
                        chunk = response.read(CHUNK_BYTES)
                    except http.client.IncompleteRead as e:
                        done += len(e.partial)
                        chunk = b""
                    except (OSError, http.client.HTTPException) as e:
                        raise failed(f"the transfer broke off after {done} bytes ({e})") from None
                    if not chunk:
                        break
                    f.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    done += len(chunk)
                    bar.update(done)
                bar.update(done, final=True)
            if total is not None and done != total:
                raise failed(f"the transfer ended after {done} of {total} bytes")
            f.flush()
            os.fsync(f.fileno())
        if hasher is not None and hasher.hexdigest() != file_hash.lower():
            raise ValueError(f"get_file: the file downloaded from {origin} has {algo} {hasher.hexdigest()}, expected "
                             f"{file_hash.lower()}: it is corrupted, or the file at the origin changed. Nothing was "
                             f"cached; call again to retry.")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _remove_stale_parts(target):
    """Temporary files a killed download left beside `target` (only ever called under the lock)."""
    folder, base = os.path.dirname(target), "." + os.path.basename(target) + "."
    for name in os.listdir(folder):
        if name.startswith(base) and name.endswith(".part"):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


# --------------------------------------------------------------------------------------------
# archives
# --------------------------------------------------------------------------------------------

def _inside(root, name) -> bool:
    root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, name))
    return path == root or path.startswith(root + os.sep)


def _safe_tar_members(tar, dest, archive):
    for m in tar.getmembers():
        if not (m.isfile() or m.isdir()):
            raise ValueError(f"extract_archive: {archive} holds {m.name!r}, which is neither a file nor a folder "
                             f"(links and devices are refused)")
        if os.path.isabs(m.name) or not _inside(dest, m.name):
            raise ValueError(f"extract_archive: {archive} holds {m.name!r}, a path outside the extraction folder")
        yield m


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Extract a tar (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) or zip archive into folder `path`.

    Only regular files and folders are extracted, and only inside `path`: an archive member with an
    absolute path, a '..' that climbs out, a link or a device file raises ValueError before anything
    is written. The members go to a temporary folder that is renamed to `path` once complete (an
    existing `path` is replaced).

    Args:
        file_path: the archive.
        path: the folder to create.
        archive_format: 'auto' (try tar, then zip), 'tar', 'zip', or a list of those.

    Returns:
        True if the archive was extracted, False if it is none of the formats tried.

    Example:
    ```python
    import os, tarfile, tempfile
    import dlcore as dl
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "a.txt"), "w") as f:
        f.write("hello")
    with tarfile.open(os.path.join(folder, "a.tar.gz"), "w:gz") as tar:
        tar.add(os.path.join(folder, "a.txt"), arcname="a.txt")
    assert dl.utils.extract_archive(os.path.join(folder, "a.tar.gz"), os.path.join(folder, "out"))
    assert open(os.path.join(folder, "out", "a.txt")).read() == "hello"
    ```
    """
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format or []))
    if any(f not in ("tar", "zip") for f in formats):
        raise ValueError(f"extract_archive: 'archive_format' must be 'auto', 'tar', 'zip' or a list of those, "
                         f"got {archive_format!r}")
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            opener = tarfile.open
        elif fmt == "zip" and zipfile.is_zipfile(file_path):
            opener = zipfile.ZipFile
        else:
            continue
        tmp = tempfile.mkdtemp(prefix="." + os.path.basename(path) + ".", suffix=".part", dir=parent)
        try:
            with opener(file_path) as archive:
                if fmt == "tar":
                    members = list(_safe_tar_members(archive, tmp, file_path))
                    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    archive.extractall(tmp, members=members, **kwargs)
                else:
                    for name in archive.namelist():
                        if os.path.isabs(name) or not _inside(tmp, name):
                            raise ValueError(f"extract_archive: {file_path} holds {name!r}, a path outside the "
                                             f"extraction folder")
                    archive.extractall(tmp)
            if os.path.isdir(path):
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        return True
    return False


# --------------------------------------------------------------------------------------------
# get_file
# --------------------------------------------------------------------------------------------

def _targets(datadir, fname, origin, extract, provided):
    """(download target, extraction folder or None), named as Keras names them."""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"get_file: cannot tell the file name from origin {origin!r}; give fname=")
    if not extract:
        return os.path.join(datadir, fname), None
    if provided and "." in fname:
        return os.path.join(datadir, fname), os.path.join(datadir, fname[:fname.find(".")] + "_extracted")
    return os.path.join(datadir, fname + "_archive"), os.path.join(datadir, fname)


def get_file(fname=None, origin=None, file_hash=None, cache_dir=None, cache_subdir="datasets", extract=False,
             hash_algorithm="auto", force_download=False, archive_format="auto"):
    """Download a file from a URL unless the cache holds it already, and return its path (Keras's get_file).

    The file is saved as `cache_dir/cache_subdir/fname` (by default `~/.dlcore/datasets/fname`;
    `$DLCORE_HOME` replaces `~/.dlcore`). With `file_hash`, a cached file is used only when its hash
    matches (else it is downloaded again), and a download only once its hash matches: a wrong file
    raises ValueError and nothing is cached. Downloads are written to a temporary file and renamed
    into place when complete, so an interrupted one leaves nothing a later call would use; a lock
    beside the file makes concurrent processes download it once. A progress bar is drawn when
    standard output is a terminal. Without a network, the error names the URL, the expected path and
    hash, and how to place the file by hand.

    Args:
        fname: the file's name in the cache (no folders); None takes the last part of `origin`.
            With `extract=True`, the folder the archive is extracted to is named after it.
        origin: the URL (http, https or file).
        file_hash: the expected sha256 (64 hex digits) or md5 (32 hex digits) of the file.
        cache_dir: the cache folder (default `$DLCORE_HOME` or `~/.dlcore`).
        cache_subdir: the sub-folder of `cache_dir` (an absolute path is used as is).
        extract: extract the archive (tar or zip) and return the folder it was extracted to.
        hash_algorithm: 'auto' (from the hash's length), 'sha256' or 'md5'.
        force_download: download even when a valid file is cached.
        archive_format: with `extract`: 'auto', 'tar', 'zip' or a list of those.

    Returns:
        The path of the file, or of the extraction folder with `extract=True`.

    Raises:
        DownloadError (an OSError): no network, an HTTP error, or a transfer cut short.
        ValueError: the downloaded file does not have the expected hash, or a bad argument.

    Example:
    ```python
    import hashlib, os, pathlib, tempfile
    import dlcore as dl
    src = pathlib.Path(tempfile.mkdtemp()) / "numbers.csv"
    src.write_text("1,2,3\\n")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    path = dl.utils.get_file("numbers.csv", origin=src.as_uri(), file_hash=sha, cache_dir=tempfile.mkdtemp())
    assert open(path).read() == "1,2,3\\n"
    ```
    """
    if not isinstance(origin, str) or not origin:
        raise ValueError(f"get_file: 'origin' must be the URL of the file, got {origin!r}")
    scheme = urllib.parse.urlsplit(origin).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"get_file: 'origin' must be an http, https or file URL, got {origin!r}")
    if fname is not None:
        fname = os.fspath(fname)
        if not isinstance(fname, str) or os.sep in fname or "/" in fname or fname in (".", ".."):
            raise ValueError(f"get_file: 'fname' must be a file name without folders (use cache_dir= / "
                             f"cache_subdir= for the folder), got {fname!r}")
    algo = _algorithm(file_hash, hash_algorithm)
    if archive_format != "auto" and not extract:
        raise ValueError("get_file: 'archive_format' is used only with extract=True")
    cache_dir = dlcore_home() if cache_dir is None else os.path.expanduser(os.fspath(cache_dir))
    datadir = os.path.join(cache_dir, cache_subdir)
    try:
        os.makedirs(datadir, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"get_file: cannot create the cache folder {datadir} ({e}); set DLCORE_HOME or pass "
                              f"cache_dir= to a writable folder") from None
    target, extract_dir = _targets(datadir, fname, origin, extract, fname is not None)
    shown = fname or os.path.basename(target)

    def cached_ok():
        return os.path.isfile(target) and (algo is None or hash_file(target, algo) == file_hash.lower())

    def finish(downloaded):
        if extract_dir is None:
            return target
        if downloaded or not os.path.isdir(extract_dir):
            if not extract_archive(target, extract_dir, archive_format):
                raise ValueError(f"get_file: {target} is not a {archive_format} archive; cannot extract it")
        return extract_dir

    if not force_download and cached_ok() and (extract_dir is None or os.path.isdir(extract_dir)):
        return finish(False)
    with _FileLock(target + ".lock", shown):
        if not force_download and cached_ok():  # another process may have finished it while we waited
            return finish(False)
        if os.path.isfile(target) and algo is not None:
            print(f"The cached {target} does not have the expected {algo} {file_hash}: downloading it again.")
        _remove_stale_parts(target)
        print(f"Downloading data from {origin}", flush=True)
        _download(origin, target, shown, file_hash, algo)
        return finish(True)
