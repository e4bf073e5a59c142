"""Opening what a redirection names: files of the device (with Android's permissions),
/dev/null, and duplicated descriptors. mksh's messages: `can't create X: <strerror>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.fs import normalize
from harness.sim.shell.api import Input, Output
from harness.sim.shell.fsaccess import check_creatable, read_file
from harness.sim.shell.streams import FileOutput, NullOutput, empty_input

if TYPE_CHECKING:
    from harness.sim.fs import VirtualFS

DEV_NULL = "/dev/null"


class BadDescriptor(Exception):
    """`>&5` with nothing open on 5, `<&name`: mksh's text without the shell prefix."""


def open_redirect(fds: dict[int, Input | Output], op: str, fd: int, target: str, *,
                  fs: "VirtualFS", cwd: str, uid: int) -> None:
    """Apply one redirection (here-documents excepted) to `fds`; FsError or BadDescriptor."""
    if op in (">&", "<&"):
        _duplicate(fds, op, fd, target, fs=fs, cwd=cwd, uid=uid)
    elif op in ("<", "<>"):
        if normalize(target, cwd) == DEV_NULL:
            fds[fd] = empty_input()
            return
        if op == "<>" and not fs.exists(normalize(target, cwd)):
            open_output(fs, target, cwd=cwd, uid=uid, append=True)
        fds[fd] = Input.of(read_file(fs, target, uid=uid, cwd=cwd))
    else:
        stream = open_output(fs, target, cwd=cwd, uid=uid, append=op == ">>")
        if op == "&>":
            fds[1] = fds[2] = stream
        else:
            fds[fd] = stream


def _duplicate(fds: dict[int, Input | Output], op: str, fd: int, target: str, *,
               fs: "VirtualFS", cwd: str, uid: int) -> None:
    if target == "-":
        fds.pop(fd, None)
        return
    if not target.isdigit():
        if op == ">&":                  # `>&file` is `&>file`
            fds[1] = fds[2] = open_output(fs, target, cwd=cwd, uid=uid, append=False)
            return
        raise BadDescriptor(f"{target}: illegal file descriptor name")
    source = fds.get(int(target))
    if source is None:
        raise BadDescriptor(f"{target}: bad file descriptor")
    fds[fd] = source


def open_output(fs: "VirtualFS", target: str, *, cwd: str, uid: int, append: bool) -> Output:
    """A file opened for writing (created, truncated unless appending) as `uid` may."""
    if normalize(target, cwd) == DEV_NULL:
        return NullOutput()
    full = check_creatable(fs, target, uid=uid, cwd=cwd)
    if not append or not fs.exists(full):
        fs.write(full, b"", uid=uid)
    return FileOutput(fs, full, uid)
