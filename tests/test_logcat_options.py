"""`logcat` on the virtual device: liblog formats, filters, buffers, tail, streaming, logd."""

from __future__ import annotations

import asyncio

import pytest

from harness.sim.android.logd import Logd
from harness.sim.shell.api import REGISTRY, BufferOutput, Input, Proc
from model_helpers import BUGGY, EPOCH, boot, run_tool

T0 = 0.123          # device seconds: 04-30 09:25:47.123 on the device clock


@pytest.fixture
def device():
    """A device whose logd holds exactly the records the tests write (logd up, nothing else)."""
    dev = boot(BUGGY, until=0.05)
    logd = dev.android.logd
    logd.clear("main")
    logd.clear("system")

    def write(buffer, at, pid, tid, prio, tag, msg, uid=1000):
        return logd.write(buffer, time=at, pid=pid, tid=tid, uid=uid, priority=prio, tag=tag, message=msg)

    write("system", T0, 248, 319, "E", "ConnectivityService", "Exception adding interface: boom")
    write("main", T0 + 0.001, 125, 143, "I", "Netd", "interface eth0 already assigned to netId 100", uid=0)
    write("main", T0 + 0.002, 248, 339, "D", "EthernetNetworkFactory", "line one\nline two")
    write("system", T0 + 1.0, 248, 319, "W", "ConnectivityService", "later")
    dev.write = write
    return dev


def _lines(out: str) -> list[str]:
    return out.splitlines()


def test_default_is_threadtime_with_buffer_separators(device):
    status, out, err = run_tool(device, ["logcat", "-d"])
    assert status == 0 and err == ""
    assert _lines(out) == [
        "--------- beginning of system",
        "04-30 09:25:47.123   248   319 E ConnectivityService: Exception adding interface: boom",
        "--------- beginning of main",
        "04-30 09:25:47.124   125   143 I Netd    : interface eth0 already assigned to netId 100",
        "04-30 09:25:47.125   248   339 D EthernetNetworkFactory: line one",
        "04-30 09:25:47.125   248   339 D EthernetNetworkFactory: line two",
        "04-30 09:25:48.123   248   319 W ConnectivityService: later",
    ]


@pytest.mark.parametrize("fmt, expected", [
    ("brief", "I/Netd    (  125): interface eth0 already assigned to netId 100"),
    ("time", "04-30 09:25:47.124 I/Netd    (  125): interface eth0 already assigned to netId 100"),
    ("process", "I(  125) interface eth0 already assigned to netId 100  (Netd)"),
    ("tag", "I/Netd    : interface eth0 already assigned to netId 100"),
    ("thread", "I(  125:  143) interface eth0 already assigned to netId 100"),
    ("raw", "interface eth0 already assigned to netId 100"),
    ("threadtime", "04-30 09:25:47.124   125   143 I Netd    : interface eth0 already assigned to netId 100"),
])
def test_print_formats(device, fmt, expected):
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "-v", fmt, "-s", "Netd"])
    assert _lines(out) == [expected]


def test_long_format_wraps_the_whole_message(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "-v", "long", "EthernetNetworkFactory:D", "*:S"])
    assert out == "[ 04-30 09:25:47.125   248:  339 D/EthernetNetworkFactory ]\nline one\nline two\n\n"


@pytest.mark.parametrize("adverb, prefix", [
    ("year", "2026-04-30 09:25:47.124 I/Netd"),
    ("usec", "04-30 09:25:47.124000 I/Netd"),
    ("zone", "04-30 09:25:47.124 +0000 I/Netd"),
    ("epoch", f"{int(EPOCH):19d}.124 I/Netd"),
])
def test_time_adverbs(device, adverb, prefix):
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "-v", "time", "-v", adverb, "-s", "Netd"])
    assert out.startswith(prefix)


def test_uid_adverb_names_short_users(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "-v", "uid", "-s", "Netd"])
    assert out.startswith("04-30 09:25:47.124  root   125   143 I Netd    :")


def test_filter_specs_levels_and_silence(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "ConnectivityService:W", "*:S"])
    assert [line.split(": ", 1)[1] for line in _lines(out) if ": " in line] == [
        "Exception adding interface: boom", "later"]
    _, out, _ = run_tool(device, ["logcat", "-d", "ConnectivityService:E", "*:S"])
    assert "later" not in out and "boom" in out
    # options may follow filterspecs (getopt permutes), and `*` alone means *:D
    _, out, _ = run_tool(device, ["logcat", "Netd:I", "*:E", "-d", "-b", "main"])
    assert [line.split(": ", 1)[1] for line in _lines(out)] == ["interface eth0 already assigned to netId 100"]


def test_separators_print_even_for_filtered_out_buffers(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "-s", "Netd"])
    assert _lines(out)[0] == "--------- beginning of system"
    assert "--------- beginning of main" in out


def test_android_log_tags_applies_only_without_filterspecs(device):
    env = {"ANDROID_LOG_TAGS": "*:S Netd:I"}
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main"], env=env)
    assert "Netd" in out and "EthernetNetworkFactory" not in out
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "EthernetNetworkFactory:D", "*:S"], env=env)
    assert "Netd" not in out and "EthernetNetworkFactory" in out
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main"], env={"ANDROID_LOG_TAGS": ""})
    assert "Netd" in out and "EthernetNetworkFactory" in out


def test_bad_filters_and_buffers_fail_with_logcat_texts(device):
    status, out, err = run_tool(device, ["logcat", "-d", "Netd:Q"])
    assert status == 1 and out == "" and err.startswith("Invalid filter expression 'Netd:Q'\nUsage: logcat")
    status, _, err = run_tool(device, ["logcat", "-d"], env={"ANDROID_LOG_TAGS": ":D"})
    assert status == 1 and err.startswith("Invalid filter expression in ANDROID_LOG_TAGS\n")
    status, _, err = run_tool(device, ["logcat", "-b", "nope"])
    assert status == 1 and err.startswith("unknown buffer nope\nUsage: logcat [options] [filterspecs]\n")
    status, _, err = run_tool(device, ["logcat", "-v", "bogus"])
    assert status == 1 and err.startswith('Invalid parameter "bogus" to -v\n-v <format>, --format=<format> options:')
    status, _, err = run_tool(device, ["logcat", "-T"])
    assert status == 1 and err.startswith("Option -T needs an argument\n")
    status, _, err = run_tool(device, ["logcat", "-t", "tomorrow"])
    assert status == 1 and err == '-t "tomorrow" not in time format\n'


def test_buffer_lists(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main"])
    assert "beginning of" not in out and "ConnectivityService" not in out
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main,system"])
    assert "beginning of main" in out and "beginning of system" in out
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "system", "-b", "crash"])
    assert "Netd" not in out and "later" in out
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "all", "-D"])
    assert "--------- switch to system" in out


def test_tail_by_count_and_by_time(device):
    _, out, _ = run_tool(device, ["logcat", "-t", "1", "-v", "raw", "-b", "main"])
    assert _lines(out) == ["line one", "line two"]          # -t counts records, not lines
    _, out, _ = run_tool(device, ["logcat", "-t", "2", "-v", "raw", "-b", "main"])
    assert _lines(out) == ["interface eth0 already assigned to netId 100", "line one", "line two"]
    _, out, _ = run_tool(device, ["logcat", "-t", "04-30 09:25:47.125", "-v", "raw"])
    assert _lines(out) == ["--------- beginning of main", "line one", "line two",
                           "--------- beginning of system", "later"]
    _, out, _ = run_tool(device, ["logcat", "-t", "2026-04-30 09:25:48.000", "-v", "raw", "-b", "system"])
    assert _lines(out) == ["later"]
    status, _, err = run_tool(device, ["logcat", "-t", "0", "-v", "raw", "-b", "system"])
    assert status == 0 and err == "WARNING: -t 0 invalid, setting to 1\n"


def test_regex_and_max_count(device):
    _, out, _ = run_tool(device, ["logcat", "-d", "-v", "raw", "-e", "eth0|later"])
    assert [line for line in _lines(out) if not line.startswith("---")] == [
        "interface eth0 already assigned to netId 100", "later"]
    _, out, _ = run_tool(device, ["logcat", "-v", "raw", "-m", "1", "-b", "main"])
    assert _lines(out) == ["interface eth0 already assigned to netId 100"]
    status, _, err = run_tool(device, ["logcat", "-t", "1", "-m", "1"])
    assert status == 1 and err.startswith("Cannot use -m (--max-count) and -t together\n")


def test_clear_and_buffer_sizes(device):
    assert run_tool(device, ["logcat", "-c"])[0] == 0
    assert run_tool(device, ["logcat", "-d"])[1] == ""
    status, out, _ = run_tool(device, ["logcat", "-g", "-b", "main", "-b", "events"])
    assert status == 0
    assert _lines(out) == [
        "main: ring buffer is 256Kb (0b consumed), max entry is 5120b, max payload is 4068b",
        "events: ring buffer is 256Kb (0b consumed), max entry is 5120b, max payload is 4068b"]
    assert run_tool(device, ["logcat", "-G", "1M", "-b", "main"])[0] == 0
    assert run_tool(device, ["logcat", "-g", "-b", "main"])[1].startswith("main: ring buffer is 1Mb")
    assert run_tool(device, ["logcat", "--clear"])[0] == 0


def test_streaming_follows_new_records_until_cancelled(device):
    async def scenario():
        out, err = BufferOutput(), BufferOutput()
        proc = Proc(["logcat", "-v", "raw", "-b", "main", "-T", "1"], Input.of(b""), out, err, device, {}, 2000)
        task = asyncio.create_task(REGISTRY["logcat"].run(proc))
        for _ in range(5):
            await asyncio.sleep(0)
        assert out.data.decode() == "line one\nline two\n"
        device.write("main", 3.0, 1, 1, "I", "init", "new record")
        for _ in range(5):
            await asyncio.sleep(0)
        assert out.data.decode().endswith("new record\n")
        device.write("system", 3.1, 1, 1, "I", "init", "not selected")
        for _ in range(5):
            await asyncio.sleep(0)
        assert "not selected" not in out.data.decode()
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_ring_buffer_prunes_and_readers_see_the_wrap():
    logd = Logd({"main": 300})
    reader = logd.reader(["main"])
    for n in range(10):
        logd.write("main", time=n, pid=1, tid=1, uid=0, priority="I", tag="t", message=f"message {n:03d}" * 3)
    assert logd.consumed("main") <= 300
    kept = reader.read()
    assert kept and kept[-1].message.startswith("message 009")
    assert reader.wrapped and reader.dropped == 10 - len(kept)
    logd.write("main", time=11, pid=1, tid=1, uid=0, priority="I", tag="t", message="x")
    assert [r.message for r in reader.read()] == ["x"] and reader.dropped == 10 - len(kept)


def test_kitkat_logcat_defaults_to_brief_and_dev_log_names():
    device = boot("sim-android-4.4", until=3.0)
    _, out, _ = run_tool(device, ["logcat", "-d"])
    lines = _lines(out)
    assert lines[0] == "--------- beginning of /dev/log/main"
    assert "--------- beginning of /dev/log/system" in lines
    assert any(line.startswith("D/ConnectivityService(  248): ConnectivityChange for ETHERNET:") for line in lines)
    assert run_tool(device, ["logcat", "-g", "-b", "main"])[1].startswith(
        "/dev/log/main: ring buffer is 256Kb (")


def test_streaming_ends_with_unexpected_eof_when_logd_stops(device):
    async def scenario():
        out, err = BufferOutput(), BufferOutput()
        proc = Proc(["logcat", "-v", "raw"], Input.of(b""), out, err, device, {}, 2000)
        task = asyncio.create_task(REGISTRY["logcat"].run(proc))
        for _ in range(5):
            await asyncio.sleep(0)
        device.android.stop_service("logd")
        status = await asyncio.wait_for(task, 1.0)
        return status, err.data.decode()

    assert asyncio.run(scenario()) == (1, "read: unexpected EOF!\n")


def test_log_tool_writes_to_main(device):
    assert run_tool(device, ["log", "-t", "HarnessTest", "first", "after mark"])[0] == 0
    assert run_tool(device, ["log", "-p", "e", "plain"])[0] == 0
    _, out, _ = run_tool(device, ["logcat", "-d", "-b", "main", "-v", "brief", "HarnessTest", "log", "*:S"])
    lines = _lines(out)
    assert lines[0].startswith("I/HarnessTest(") and lines[0].endswith("): first after mark")
    assert lines[1].startswith("E/log     (") and lines[1].endswith("): plain")
    assert run_tool(device, ["log"]) == (255, "", "USAGE: log [-p priorityChar] [-t tag] message\n"
                                                   "\tpriorityChar should be one of:\n\t\tv,d,i,w,e\n")
    assert run_tool(device, ["log", "-p", "x", "m"])[0] == 255
