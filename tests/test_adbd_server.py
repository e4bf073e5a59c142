"""The virtual adbd over real loopback sockets, driven by a minimal host written from the spec.

Transport tests run commands through a small fake (`FakeShell`: exact byte counts, a command
that hangs until cancelled); the shell service tests use the device's real interpreter.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from harness.sim.adbd import shell_protocol as sp
from harness.sim.adbd import sync_protocol as sync
from harness.sim.adbd.protocol import (A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_WRTE, Message,
                                       MessageReader, encode)
from harness.sim.adbd.server import EMULATOR_PORTS, AdbdServer, reserve_port, serve_device
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import load_sim_profile
from harness.sim.shell.api import Input, Output

TIMEOUT = 10.0


class FakeShell:
    """Stands in for the shell interpreter: a handful of fixed command lines."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(self, cmdline: str, stdin: Input, stdout: Output, stderr: Output, *,
                       uid: int | None = None) -> int:
        self.started.set()
        if cmdline == "echo hi":
            stdout.write(b"hi\n")
            return 0
        if cmdline == "echo out; echo err >&2; exit 3":
            stdout.write(b"out\n")
            stderr.write(b"err\n")
            return 3
        if cmdline == "cat":
            while data := await stdin.read():
                stdout.write(data)
                await stdout.drain()
            return 0
        if cmdline.startswith("bytes "):
            stdout.write(bytes(i % 251 for i in range(int(cmdline.split()[1]))))
            await stdout.drain()
            return 0
        if cmdline == "hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        name = cmdline.split()[0] if cmdline.split() else cmdline
        stderr.write(f"/system/bin/sh: {name}: not found\n".encode())
        return 127


class Refused(Exception):
    pass


class Host:
    """The adb server's side of one TCP connection, reduced to what the tests need."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = MessageReader()
        self.pending: list[Message] = []
        self.next_id = 8
        self.banner = b""

    @classmethod
    async def connect(cls, port: int, maxdata: int = 0x100000) -> "Host":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        host = cls(reader, writer)
        host.send(Message(A_CNXN, 0x01000001, maxdata, b"host::features=shell_v2,cmd"))
        reply = await host.recv()
        assert reply.command == A_CNXN and reply.arg0 == 0x01000001
        host.banner = reply.data
        host.device_maxdata = reply.arg1
        return host

    def send(self, message: Message) -> None:
        self.writer.write(encode(message))

    async def recv(self) -> Message:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            if not data:
                raise EOFError("device closed the connection")
            self.pending += self.decoder.feed(data)
        return self.pending.pop(0)

    async def open(self, service: str) -> tuple[int, int]:
        host_id = self.next_id
        self.next_id += 1
        self.send(Message(A_OPEN, host_id, 0, service.encode() + b"\0"))
        reply = await self.recv()
        if reply.command == A_CLSE:
            assert (reply.arg0, reply.arg1) == (0, host_id)
            raise Refused(service)
        assert reply.command == A_OKAY and reply.arg1 == host_id and reply.arg0 != 0
        return host_id, reply.arg0

    async def read_to_close(self, ids: tuple[int, int], max_seen: list[int] | None = None) -> bytes:
        host_id, dev_id = ids
        data = bytearray()
        while True:
            m = await self.recv()
            if m.command == A_WRTE:
                assert (m.arg0, m.arg1) == (dev_id, host_id)
                if max_seen is not None:
                    max_seen.append(len(m.data))
                data += m.data
                self.send(Message(A_OKAY, host_id, dev_id))
            elif m.command == A_CLSE:
                assert (m.arg0, m.arg1) == (dev_id, host_id)
                self.send(Message(A_CLSE, host_id, dev_id))      # the echo real hosts send
                return bytes(data)
            elif m.command == A_OKAY:
                continue                                         # ack of one of our WRTEs
            else:
                raise AssertionError(f"unexpected {m}")

    def write(self, ids: tuple[int, int], data: bytes) -> None:
        self.send(Message(A_WRTE, ids[0], ids[1], data))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def wait_until(predicate, what: str) -> None:
    for _ in range(int(TIMEOUT / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def run_with_device(test, *, build_type: str | None = None, fake_shell: bool = True):
    """Run `await test(device, server, shell)` on a fresh loop with one booted device; `shell`
    is the FakeShell, or None when the device runs its real shell interpreter."""

    async def main():
        profile = load_sim_profile("sim-android-8.1-buggy")
        if build_type is not None:
            profile = profile.model_copy(update={"product": profile.product.model_copy(
                update={"build_type": build_type})})
        scheduler = Scheduler(realtime=True, scale=0.05)
        server = AdbdServer()
        device = VirtualDevice(profile, index=0, scheduler=scheduler, transport=server)
        server.attach(device)
        shell = FakeShell() if fake_shell else None
        if shell is not None:
            device.run_shell = shell
        try:
            await wait_until(lambda: server.listening, "adbd to listen")
            await asyncio.wait_for(test(device, server, shell), TIMEOUT * 3)
        finally:
            server.close()
            await server.wait_closed()
            scheduler.close()

    asyncio.run(main())


# -- transport ------------------------------------------------------------------------------
def test_port_is_never_an_emulator_port_and_refuses_until_adbd_is_up():
    async def main():
        profile = load_sim_profile("sim-android-8.1-buggy")
        scheduler = Scheduler(realtime=True, scale=1.0)
        device = VirtualDevice(profile, index=0, scheduler=scheduler)
        server = serve_device(device)
        try:
            assert server.port not in EMULATOR_PORTS
            assert not server.listening and refused(server.port)
        finally:
            server.close()
            scheduler.close()

    asyncio.run(main())


def test_adbd_started_inside_the_device_constructor_is_not_lost():
    # With a very fast clock, the boot's "adbd up" event can run while VirtualDevice() is still
    # constructing; the transport given to the constructor must receive it.
    async def main():
        profile = load_sim_profile("sim-android-8.1-buggy")
        profile = profile.model_copy(update={"sim": profile.sim.model_copy(
            update={"boot": profile.sim.boot.model_copy(update={"adbd_ms": 0.0})})})
        scheduler = Scheduler(realtime=True, scale=0.001)
        server = AdbdServer()
        await asyncio.sleep(0.01)                      # device time runs ahead of the boot events
        device = VirtualDevice(profile, index=0, scheduler=scheduler, transport=server)
        server.attach(device)
        try:
            await wait_until(lambda: server.listening, "adbd to listen")
        finally:
            server.close()
            scheduler.close()

    asyncio.run(main())


def test_reserve_port_rejects_emulator_ports():
    with pytest.raises(ValueError, match="5555-5585"):
        reserve_port("127.0.0.1", 5555)


def test_banner_and_maxdata():
    async def test(device, server, shell):
        host = await Host.connect(server.port, maxdata=0x40000)
        assert host.banner == device.banner().encode()
        assert host.banner.startswith(b"device::ro.product.name=redroid_x86_64;")
        assert host.banner.endswith(b";features=shell_v2,cmd")
        assert host.device_maxdata == 0x100000
        await host.close()

    run_with_device(test)


def test_early_close_and_messages_before_cnxn_are_tolerated():
    async def test(device, server, shell):
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(Message(A_OPEN, 5, 0, b"shell:echo hi\0")))
        writer.write(encode(Message(A_CNXN, 0x01000001, 0x100000, b"host::")))
        m = MessageReader().feed(await asyncio.wait_for(reader.read(65536), TIMEOUT))
        assert [x.command for x in m] == [A_CNXN]          # the early OPEN got no answer
        writer.close()
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("shell:echo hi")) == b"hi\n"
        await host.close()

    run_with_device(test)


def test_bad_magic_closes_the_connection():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        host.writer.write(struct.pack("<6I", A_OKAY, 1, 2, 0, 0, 0))
        with pytest.raises(EOFError):
            await host.recv()

    run_with_device(test)


def test_unknown_service_is_refused():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        for service in ("framebuffer:", "jdwp", "shell", "tcpip:abc", "nosuch:"):
            with pytest.raises(Refused):
                await host.open(service)
        await host.close()

    run_with_device(test)


def test_one_unacknowledged_wrte_at_a_time_and_never_over_maxdata():
    async def test(device, server, shell):
        host = await Host.connect(server.port, maxdata=4096)
        ids = await host.open("exec:bytes 20000")
        first = await host.recv()
        assert first.command == A_WRTE and len(first.data) == 4096
        with pytest.raises(asyncio.TimeoutError):     # nothing more until we acknowledge
            await asyncio.wait_for(host.reader.read(1), 0.3)
        host.send(Message(A_OKAY, ids[0], ids[1]))
        sizes: list[int] = []
        rest = await host.read_to_close(ids, sizes)
        assert first.data + rest == bytes(i % 251 for i in range(20000))
        assert max(sizes) <= 4096
        await host.close()

    run_with_device(test)


def test_host_clse_cancels_the_command():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        host_id, dev_id = await host.open("shell:hang")
        await asyncio.wait_for(shell.started.wait(), TIMEOUT)
        host.send(Message(A_CLSE, host_id, dev_id))
        echo = await host.recv()
        assert (echo.command, echo.arg0, echo.arg1) == (A_CLSE, dev_id, host_id)
        await wait_until(lambda: shell.cancelled, "the command to be cancelled")
        await host.close()

    run_with_device(test)


def test_set_listening_really_closes_and_rebinds_the_same_port():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        port = server.port
        server.set_listening(False)
        assert refused(port)
        server.drop_all()
        with pytest.raises(EOFError):
            await host.recv()
        server.set_listening(True)
        assert server.port == port and server.listening
        host = await Host.connect(port)
        assert await host.read_to_close(await host.open("shell:echo hi")) == b"hi\n"
        await host.close()

    run_with_device(test)


# -- shell (the device's real interpreter) ------------------------------------------------------
def test_shell_v1_merges_output_and_feeds_stdin():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        out = await host.read_to_close(await host.open("shell:echo out; echo err >&2; exit 3"))
        assert out == b"out\nerr\n"
        ids = await host.open("shell:cat")
        host.write(ids, b"\x00\xff binary\n")
        m = await host.recv()
        assert m.command == A_OKAY                   # our WRTE acknowledged
        echo = await host.recv()
        assert echo.command == A_WRTE and echo.data == b"\x00\xff binary\n"
        await host.close()

    run_with_device(test, fake_shell=False)


def test_shell_v2_separates_streams_and_ends_with_the_exit_packet():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        raw = await host.read_to_close(await host.open("shell,v2,TERM=xterm,raw:echo out; echo err >&2; exit 3"))
        assert sp.ShellPacketReader().feed(raw) == [
            sp.ShellPacket(1, b"out\n"), sp.ShellPacket(2, b"err\n"), sp.ShellPacket(3, b"\x03")]
        raw = await host.read_to_close(await host.open("shell,v2:nosuchcmd"))
        assert sp.ShellPacketReader().feed(raw) == [
            sp.ShellPacket(2, b"/system/bin/sh: nosuchcmd: not found\n"), sp.ShellPacket(3, b"\x7f")]
        await host.close()

    run_with_device(test, fake_shell=False)


def test_shell_v2_stdin_packets_and_close_stdin_split_across_wrtes():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("shell,v2,raw:cat")
        stream = sp.encode_packet(sp.PacketId.STDIN, b"hello ") + sp.encode_packet(sp.PacketId.STDIN, b"world") \
            + sp.encode_packet(sp.PacketId.WINDOW_SIZE_CHANGE, b"24x80,0x0\0") + sp.encode_packet(sp.PacketId.CLOSE_STDIN)
        for i in range(0, len(stream), 4):
            host.write(ids, stream[i:i + 4])
        raw = await host.read_to_close(ids)
        packets = sp.ShellPacketReader().feed(raw)
        assert b"".join(p.data for p in packets if p.id == 1) == b"hello world"
        assert packets[-1] == sp.ShellPacket(3, b"\x00")
        await host.close()

    run_with_device(test, fake_shell=False)


def test_pty_shell_translates_newlines():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        raw = await host.read_to_close(await host.open("shell,v2,pty:echo out; echo err >&2; exit 3"))
        assert sp.ShellPacketReader().feed(raw) == [
            sp.ShellPacket(1, b"out\r\n"), sp.ShellPacket(1, b"err\r\n"), sp.ShellPacket(3, b"\x03")]
        await host.close()

    run_with_device(test, fake_shell=False)


def test_interactive_pty_shell_prompts_echoes_and_exits():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("shell,v2,TERM=xterm,pty:")
        host.write(ids, sp.encode_packet(sp.PacketId.STDIN, b"nosuchcmd\necho hi\nexit 5\n"))
        packets = sp.ShellPacketReader().feed(await host.read_to_close(ids))
        assert b"".join(p.data for p in packets if p.id == 1) == (
            b"redroid_x86_64:/ $ nosuchcmd\r\n/system/bin/sh: nosuchcmd: not found\r\n"
            b"127|redroid_x86_64:/ $ echo hi\r\nhi\r\nredroid_x86_64:/ $ exit 5\r\n")
        assert packets[-1] == sp.ShellPacket(3, b"\x05")
        await host.close()

    run_with_device(test, fake_shell=False)


def test_shell_without_command_on_a_pipe_runs_stdin_line_by_line():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("shell,v2,raw:")
        host.write(ids, sp.encode_packet(sp.PacketId.STDIN, b"echo hi\n") + sp.encode_packet(sp.PacketId.CLOSE_STDIN))
        packets = sp.ShellPacketReader().feed(await host.read_to_close(ids))
        assert packets == [sp.ShellPacket(1, b"hi\n"), sp.ShellPacket(3, b"\x00")]
        await host.close()

    run_with_device(test, fake_shell=False)


def test_commands_run_as_adbd_uid():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        out = await host.read_to_close(await host.open("shell:id"))
        assert out.startswith(b"uid=2000(shell) gid=2000(shell)")
        device.adbd_root = True
        out = await host.read_to_close(await host.open("exec:id"))
        assert out.startswith(b"uid=0(root) gid=0(root)")
        await host.close()

    run_with_device(test, fake_shell=False)


# -- sync ---------------------------------------------------------------------------------------
def test_sync_stat_push_list_pull_over_one_stream():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("sync:")
        payload = bytes(range(256)) * 1000                    # 256000 bytes
        blocks = b"".join(sync.data_block(payload[i:i + 65536]) for i in range(0, len(payload), 65536))
        host.write(ids, sync.request(sync.ID_STAT, "/data/local/tmp/nope"))
        host.write(ids, sync.request(sync.ID_SEND, "/data/local/tmp/f.bin,33188") + blocks[:100000])
        host.write(ids, blocks[100000:] + sync.done_block(1700000000))
        host.write(ids, sync.request(sync.ID_STAT, "/data/local/tmp/f.bin"))
        host.write(ids, sync.request(sync.ID_RECV, "/data/local/tmp/f.bin") + sync.request(sync.ID_QUIT, ""))
        raw = await host.read_to_close(ids)
        assert raw[:16] == sync.stat_reply(0, 0, 0)
        assert raw[16:24] == sync.okay_reply()
        assert raw[24:40] == sync.stat_reply(0o100666, len(payload), 1700000000)
        body, pos = bytearray(), 40
        while raw[pos:pos + 4] == b"DATA":
            size = int.from_bytes(raw[pos + 4:pos + 8], "little")
            assert size <= 65536
            body += raw[pos + 8:pos + 8 + size]
            pos += 8 + size
        assert raw[pos:] == sync.recv_done_reply()
        assert bytes(body) == payload
        assert device.fs.node("/data/local/tmp/f.bin").uid == 2000
        await host.close()

    run_with_device(test)


def test_sync_refusals():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("sync:")
        host.write(ids, sync.request(sync.ID_SEND, "/system/bin/evil,33261") + sync.data_block(b"x")
                   + sync.done_block(1) + sync.request(sync.ID_STAT, "/"))
        assert await host.read_to_close(ids) == sync.fail_reply("couldn't create file: Read-only file system")
        ids = await host.open("sync:")
        host.write(ids, sync.request(sync.ID_RECV, "/data/local/tmp/missing"))
        assert await host.read_to_close(ids) == sync.fail_reply("open failed: No such file or directory")
        ids = await host.open("sync:")
        host.write(ids, sync.request(b"STA2", "/"))
        assert await host.read_to_close(ids) == sync.fail_reply("unknown command 32415453")
        await host.close()

    run_with_device(test)


def test_sync_send_creates_parents_and_respects_the_shell_uid():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("sync:")
        host.write(ids, sync.request(sync.ID_SEND, "/data/local/tmp/a/b/c.txt,420") + sync.data_block(b"deep")
                   + sync.done_block(9) + sync.request(sync.ID_SEND, "/data/secret,420")
                   + sync.data_block(b"x") + sync.done_block(9))
        assert await host.read_to_close(ids) == sync.okay_reply() + sync.fail_reply(
            "couldn't create file: Permission denied")
        assert device.fs.read("/data/local/tmp/a/b/c.txt") == b"deep"
        assert device.fs.node("/data/local/tmp/a/b/c.txt").mode == 0o100666
        assert not device.fs.exists("/data/secret")
        device.adbd_root = True                      # as root the same push works, owned by root
        ids = await host.open("sync:")
        host.write(ids, sync.request(sync.ID_SEND, "/data/secret,384") + sync.data_block(b"x") + sync.done_block(9))
        host.write(ids, sync.request(sync.ID_QUIT, ""))
        assert await host.read_to_close(ids) == sync.okay_reply()
        assert device.fs.node("/data/secret").uid == 0 and device.fs.node("/data/secret").mode == 0o100666
        await host.close()

    run_with_device(test)


def test_sync_list():
    async def test(device, server, shell):
        device.fs.write("/data/local/tmp/a.txt", b"abc", mtime=5)
        host = await Host.connect(server.port)
        ids = await host.open("sync:")
        host.write(ids, sync.request(sync.ID_LIST, "/data/local/tmp") + sync.request(sync.ID_QUIT, ""))
        raw = await host.read_to_close(ids)
        names, pos = [], 0
        while raw[pos:pos + 4] == b"DENT":
            mode, size, mtime, namelen = struct.unpack_from("<4I", raw, pos + 4)
            names.append((raw[pos + 20:pos + 20 + namelen], size, mtime))
            pos += 20 + namelen
        assert raw[pos:] == sync.list_done_reply()
        assert [n[0] for n in names] == [b".", b"..", b"a.txt"]
        assert names[2][1:] == (3, 5)
        await host.close()

    run_with_device(test)


# -- root, tcpip, reboot, install ------------------------------------------------------------
def test_root_restarts_adbd_and_unroot_goes_back():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("root:")) == b"restarting adbd as root\n"
        with pytest.raises(EOFError):                 # adbd exits: the TCP link drops
            while True:
                await host.recv()
        await wait_until(lambda: server.listening, "adbd to come back")
        assert device.adbd_root and device.props.get("service.adb.root") == "1"
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("root:")) == b"adbd is already running as root\n"
        assert await host.read_to_close(await host.open("unroot:")) == b"restarting adbd as non root\n"
        await wait_until(lambda: not device.adbd_root and server.listening, "adbd as shell")
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("unroot:")) == b"adbd not running as root\n"
        await host.close()

    run_with_device(test)


def test_root_is_refused_on_a_user_build():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("root:")) == \
            b"adbd cannot run as root in production builds\n"
        assert await host.read_to_close(await host.open("shell:echo hi")) == b"hi\n"   # link still up
        await host.close()

    run_with_device(test, build_type="user")


def test_tcpip_restarts_adbd_on_the_same_port():
    async def test(device, server, shell):
        port = server.port
        host = await Host.connect(port)
        assert await host.read_to_close(await host.open("tcpip:5555")) == b"restarting in TCP mode port: 5555\n"
        with pytest.raises(EOFError):
            while True:
                await host.recv()
        await wait_until(lambda: server.listening, "adbd to come back")
        assert server.port == port
        await (await Host.connect(port)).close()

    run_with_device(test)


def test_reboot_closes_the_stream_then_reboots():
    async def test(device, server, shell):
        boots = device.boot_count
        host = await Host.connect(server.port)
        assert await host.read_to_close(await host.open("reboot:")) == b""
        with pytest.raises(EOFError):
            while True:
                await host.recv()
        await wait_until(lambda: device.boot_count == boots + 1 and server.listening, "the reboot")

    run_with_device(test)


def test_streamed_install_consumes_the_apk_and_answers_success():
    async def test(device, server, shell):
        host = await Host.connect(server.port)
        ids = await host.open("exec:cmd package 'install' '-r' -S 10000")
        host.write(ids, bytes(6000))
        host.write(ids, bytes(4000))
        assert await host.read_to_close(ids) == b"Success\n"
        await host.close()

    run_with_device(test)
