"""What the shell user may see of the device's file system, as on a production build.

VirtualFS knows where uid 2000 may write; these are the read-side rules (init.rc modes): the shell
user can traverse /data but not list it, and reads under /data only its own
/data/local/tmp and /data/misc/net (`mkdir /data/misc/net 0750 root shell`).
"""

from __future__ import annotations

import errno

from harness.sim.fs import FsError, VirtualFS, normalize

UNLISTABLE_FOR_SHELL = ("/data", "/data/local", "/data/misc", "/data/data", "/data/system",
                        "/data/app", "/data/user", "/data/vendor")
READABLE_DATA_FOR_SHELL = ("/data/local/tmp", "/data/misc/net")


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def check_listable(path: str, uid: int) -> None:
    if uid != 0 and normalize(path) in UNLISTABLE_FOR_SHELL:
        raise FsError(errno.EACCES, path)


def check_readable(path: str, uid: int) -> None:
    full = normalize(path)
    if uid != 0 and full.startswith("/data/") and not _under(full, READABLE_DATA_FOR_SHELL):
        raise FsError(errno.EACCES, path)


def read_file(fs: VirtualFS, path: str, *, uid: int, cwd: str = "/") -> bytes:
    """A file's bytes as `uid` may read them; FsError names `path` as given."""
    full = normalize(path, cwd)
    if not fs.exists(full):
        raise FsError(errno.ENOENT, path)
    check_readable(full, uid)
    try:
        return fs.read(full)
    except FsError as err:
        raise FsError(err.code, path) from None


def list_dir(fs: VirtualFS, path: str, *, uid: int, cwd: str = "/") -> list[str]:
    full = normalize(path, cwd)
    if not fs.exists(full):
        raise FsError(errno.ENOENT, path)
    check_listable(full, uid)
    try:
        return fs.listdir(full)
    except FsError as err:
        raise FsError(err.code, path) from None


def check_creatable(fs: VirtualFS, path: str, *, uid: int, cwd: str = "/") -> str:
    """Where a new or truncated file would go; FsError (naming `path`) when it cannot be written."""
    full = normalize(path, cwd)
    if fs.isdir(full):
        raise FsError(errno.EISDIR, path)
    parent = full.rsplit("/", 1)[0] or "/"
    if not fs.exists(parent):
        raise FsError(errno.ENOENT, path)
    if not fs.isdir(parent):
        raise FsError(errno.ENOTDIR, path)
    try:
        fs.check_writable(full, uid)
    except FsError as err:
        raise FsError(err.code, path) from None
    return full
