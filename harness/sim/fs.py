"""An in-memory file system for the virtual device (shell redirections, `cat`, `ls`, adb sync).

Regular files hold bytes. Dynamic files (`/proc/net/dev`, `/data/misc/net/rt_tables`, ...) are
produced on read by a callback into the model, so they always show its current state.
"""

from __future__ import annotations

import errno
import posixpath
import stat as st
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Node:
    mode: int
    mtime: int
    data: bytearray = field(default_factory=bytearray)
    children: dict[str, "Node"] | None = None
    producer: Callable[[], bytes] | None = None
    uid: int = 0
    gid: int | None = None          # None: the owner's group (uid)

    @property
    def group(self) -> int:
        return self.uid if self.gid is None else self.gid

    @property
    def is_dir(self) -> bool:
        return self.children is not None

    def content(self) -> bytes:
        return self.producer() if self.producer else bytes(self.data)


class FsError(OSError):
    def __init__(self, code: int, path: str) -> None:
        super().__init__(code, _STRERROR.get(code, "I/O error"), path)
        self.code = code
        self.path = path


_STRERROR = {
    errno.ENOENT: "No such file or directory",
    errno.EACCES: "Permission denied",
    errno.ENOTDIR: "Not a directory",
    errno.EISDIR: "Is a directory",
    errno.EEXIST: "File exists",
    errno.EROFS: "Read-only file system",
    errno.ENOTEMPTY: "Directory not empty",
}

# Where uid 2000 (shell) may write, as on a production build.
SHELL_WRITABLE = ("/data/local/tmp", "/sdcard", "/storage/emulated/0")
READ_ONLY = ("/system", "/vendor", "/proc", "/sys")


def normalize(path: str, cwd: str = "/") -> str:
    return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")


class VirtualFS:
    def __init__(self) -> None:
        self.root = Node(st.S_IFDIR | 0o755, int(time.time()), children={})

    # -- lookup -------------------------------------------------------------------------------
    def _walk(self, path: str) -> Node | None:
        node = self.root
        for part in [p for p in normalize(path).split("/") if p]:
            if node.children is None:
                return None
            nxt = node.children.get(part)
            if nxt is None:
                return None
            node = nxt
        return node

    def node(self, path: str) -> Node:
        node = self._walk(path)
        if node is None:
            raise FsError(errno.ENOENT, path)
        return node

    def exists(self, path: str) -> bool:
        return self._walk(path) is not None

    def isdir(self, path: str) -> bool:
        node = self._walk(path)
        return node is not None and node.is_dir

    def stat(self, path: str) -> tuple[int, int, int] | None:
        """(mode, size, mtime) or None when missing."""
        node = self._walk(path)
        if node is None:
            return None
        size = 4096 if node.is_dir else len(node.content())
        return node.mode, size, node.mtime

    def listdir(self, path: str) -> list[str]:
        node = self.node(path)
        if node.children is None:
            raise FsError(errno.ENOTDIR, path)
        return sorted(node.children)

    def read(self, path: str) -> bytes:
        node = self.node(path)
        if node.is_dir:
            raise FsError(errno.EISDIR, path)
        return node.content()

    # -- changes ------------------------------------------------------------------------------
    def check_writable(self, path: str, uid: int) -> None:
        path = normalize(path)
        if path.startswith(READ_ONLY) and not self._is_dynamic_writable(path):
            raise FsError(errno.EROFS if path.startswith(("/system", "/vendor")) else errno.EACCES, path)
        if uid != 0 and not any(path == p or path.startswith(p + "/") for p in SHELL_WRITABLE):
            raise FsError(errno.EACCES, path)

    def _is_dynamic_writable(self, path: str) -> bool:
        return False

    def mkdir(self, path: str, mode: int = 0o755, parents: bool = True) -> Node:
        node = self.root
        for part in [p for p in normalize(path).split("/") if p]:
            assert node.children is not None
            nxt = node.children.get(part)
            if nxt is None:
                if not parents and node is not self._walk(posixpath.dirname(normalize(path))):
                    raise FsError(errno.ENOENT, path)
                nxt = Node(st.S_IFDIR | mode, int(time.time()), children={})
                node.children[part] = nxt
            elif not nxt.is_dir:
                raise FsError(errno.ENOTDIR, path)
            node = nxt
        return node

    def _parent(self, path: str) -> tuple[Node, str]:
        path = normalize(path)
        parent = self._walk(posixpath.dirname(path))
        if parent is None:
            raise FsError(errno.ENOENT, path)
        if not parent.is_dir:
            raise FsError(errno.ENOTDIR, path)
        return parent, posixpath.basename(path)

    def write(self, path: str, data: bytes, *, append: bool = False, mode: int = 0o644,
              mtime: int | None = None, uid: int = 0) -> None:
        parent, name = self._parent(path)
        assert parent.children is not None
        node = parent.children.get(name)
        if node is not None and node.is_dir:
            raise FsError(errno.EISDIR, path)
        if node is None or node.producer is not None:
            node = Node(st.S_IFREG | (mode & 0o7777), int(time.time()), uid=uid)
            parent.children[name] = node
        if not append:
            node.data = bytearray()
        node.data += data
        node.mtime = int(time.time()) if mtime is None else mtime

    def add_dynamic(self, path: str, producer: Callable[[], bytes], mode: int = 0o444) -> None:
        self.mkdir(posixpath.dirname(normalize(path)))
        parent, name = self._parent(path)
        assert parent.children is not None
        parent.children[name] = Node(st.S_IFREG | mode, int(time.time()), producer=producer)

    def add_socket(self, path: str, *, uid: int, gid: int, mode: int = 0o660,
                   mtime: int | None = None) -> None:
        """A UNIX socket bound at `path` (init's `socket NAME stream MODE USER GROUP`)."""
        parent, name = self._parent(path)
        assert parent.children is not None
        parent.children[name] = Node(st.S_IFSOCK | (mode & 0o7777),
                                     int(time.time()) if mtime is None else mtime, uid=uid, gid=gid)

    def remove(self, path: str) -> None:
        parent, name = self._parent(path)
        assert parent.children is not None
        node = parent.children.get(name)
        if node is None:
            raise FsError(errno.ENOENT, path)
        if node.is_dir and node.children:
            raise FsError(errno.ENOTEMPTY, path)
        del parent.children[name]
