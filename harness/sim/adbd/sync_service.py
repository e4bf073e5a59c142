"""`sync:` over the device's VirtualFS, as adbd's file_sync_service does (v1 requests only;
the banner does not advertise stat_v2/ls_v2/sendrecv_v2, so real clients never send the v2 ones).

- STAT: mode/size/mtime, all zeros when the path is missing (never FAIL).
- LIST: DENT for `.`, `..` and each entry, then the DONE dent; an unreadable path gives only DONE.
- SEND `path,mode`: DATA blocks then DONE mtime; OKAY after DONE. Writes happen as adbd's shell
  uid (shell_uid()), so only /data/local/tmp and /sdcard are writable unless adbd runs as root.
  Missing parent directories are created. On failure: FAIL, discard DATA up to DONE, end.
- RECV: DATA blocks of at most 64 KiB then DONE, or FAIL `open failed: <strerror>`.
- QUIT, an unknown request or a framing error ends the service (the stream closes).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat as st
from typing import TYPE_CHECKING

from harness.sim.adbd import sync_protocol as sp
from harness.sim.adbd.stream import ServiceStream
from harness.sim.fs import FsError, normalize

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice


async def sync_service(device: "VirtualDevice", stream: ServiceStream) -> None:
    parser = sp.SyncParser()
    session = _SyncSession(device, stream)
    while data := await stream.inbound.read():
        for event in parser.feed(data):
            if not await session.handle(event):
                return


class _Upload:
    def __init__(self, path: str, mode: int, uid: int) -> None:
        self.path = path
        self.mode = mode
        self.uid = uid
        self.data = bytearray()


class _SyncSession:
    def __init__(self, device: "VirtualDevice", stream: ServiceStream) -> None:
        self.device = device
        self.fs = device.fs
        self.stream = stream
        self.upload: _Upload | None = None
        self.discarding = False        # a SEND failed: swallow its DATA until DONE, then end

    async def handle(self, event: sp.SyncEvent) -> bool:
        """Serve one event; False ends the service."""
        if isinstance(event, sp.SendData):
            if self.upload is not None:
                self.upload.data += event.data
            return True
        if isinstance(event, sp.SendDone):
            return not self.discarding and self._finish_upload(event.mtime)
        if isinstance(event, sp.SyncFailure):
            if not self.discarding:
                self.stream.write(sp.fail_reply(event.message))
            return False
        return await self._request(event)

    async def _request(self, request: sp.SyncRequest) -> bool:
        if request.id == sp.ID_STAT:
            self.stream.write(self._stat(request.path))
        elif request.id == sp.ID_LIST:
            self._list(request.path)
        elif request.id == sp.ID_SEND:
            return self._start_upload(request.path)
        elif request.id == sp.ID_RECV:
            return await self._download(request.path)
        elif request.id == sp.ID_QUIT:
            return False
        else:
            self.stream.write(sp.fail_reply(f"unknown command {request.code:08x}"))
            return False
        return True

    # -- STAT / LIST ------------------------------------------------------------------------
    def _stat(self, path: str) -> bytes:
        found = self.fs.stat(path) if path else None
        return sp.stat_reply(*found) if found else sp.stat_reply(0, 0, 0)

    def _list(self, path: str) -> None:
        try:
            names = [".", ".."] + self.fs.listdir(path) if path else []
        except FsError:
            names = []
        for name in names:
            found = self.fs.stat(posixpath.join(path, name))
            if found is not None:
                self.stream.write(sp.dent_reply(*found, sp.encode_path(name)))
        self.stream.write(sp.list_done_reply())

    # -- SEND -------------------------------------------------------------------------------
    def _start_upload(self, spec: str) -> bool:
        path, comma, mode_text = spec.rpartition(",")
        if not comma:
            self.stream.write(sp.fail_reply("missing , in ID_SEND_V1"))
            return False
        mode = _strtoul(mode_text)
        if mode is None:
            self.stream.write(sp.fail_reply("bad mode"))
            return False
        uid = self.device.shell_uid()
        if st.S_ISLNK(mode):
            return self._refuse_upload(f"symlink failed: {os.strerror(errno.EOPNOTSUPP)}")
        try:
            self._prepare(path, uid)
        except _UploadRefused as refused:
            return self._refuse_upload(str(refused))
        self.upload = _Upload(path, _pushed_permissions(mode), uid)
        return True

    def _prepare(self, path: str, uid: int) -> None:
        """The checks of adbd's open(O_CREAT) + secure_mkdirs, on the virtual file system."""
        path = normalize(path)
        if self.fs.isdir(path):
            raise _UploadRefused(f"couldn't create file: {os.strerror(errno.EISDIR)}")
        parent = posixpath.dirname(path)
        if not self.fs.exists(parent):
            try:
                self.fs.check_writable(parent, uid)
                self.fs.mkdir(parent)
            except FsError as exc:
                raise _UploadRefused(f"secure_mkdirs() failed: {exc.strerror}") from None
        elif not self.fs.isdir(parent):
            raise _UploadRefused(f"couldn't create file: {os.strerror(errno.ENOTDIR)}")
        try:
            self.fs.check_writable(path, uid)
        except FsError as exc:
            raise _UploadRefused(f"couldn't create file: {exc.strerror}") from None

    def _refuse_upload(self, message: str) -> bool:
        self.stream.write(sp.fail_reply(message))
        self.discarding = True
        return True

    def _finish_upload(self, mtime: int) -> bool:
        upload, self.upload = self.upload, None
        assert upload is not None, "the parser emits DONE only inside a SEND"
        if self.fs.exists(upload.path):
            self.fs.remove(upload.path)          # adbd unlinks first: the new mode applies
        self.fs.write(upload.path, bytes(upload.data), mode=upload.mode, mtime=mtime, uid=upload.uid)
        self.stream.write(sp.okay_reply())
        return True

    # -- RECV -------------------------------------------------------------------------------
    async def _download(self, path: str) -> bool:
        try:
            content = self.fs.read(path)
        except FsError as exc:
            reason = "read failed" if exc.code == errno.EISDIR else "open failed"
            self.stream.write(sp.fail_reply(f"{reason}: {exc.strerror}"))
            return False
        for i in range(0, len(content), sp.SYNC_DATA_MAX):
            self.stream.write(sp.data_reply(content[i:i + sp.SYNC_DATA_MAX]))
            await self.stream.drain()
        self.stream.write(sp.recv_done_reply())
        return True


class _UploadRefused(Exception):
    pass


def _pushed_permissions(mode: int) -> int:
    """adbd keeps the permission bits and copies the user's to group and other (0644 -> 0666)."""
    mode &= 0o777
    mode |= (mode >> 3) & 0o070
    mode |= (mode >> 3) & 0o007
    return mode


def _strtoul(text: str) -> int | None:
    """C strtoul(text, NULL, 0): leading digits in base 16 (0x), 8 (0) or 10; None on overflow."""
    text = text.lstrip()
    negative = text.startswith("-")
    text = text.lstrip("+-")
    if text[:2].lower() == "0x":
        base, digits, text = 16, "0123456789abcdef", text[2:]
    elif text.startswith("0"):
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    value = 0
    for ch in text.lower():
        if ch not in digits:
            break
        value = value * base + digits.index(ch)
    if value >= 1 << 64:
        return None
    return (-value) & 0xFFFFFFFFFFFFFFFF if negative else value
