"""The virtual device's shell end to end: language, I/O ordering, jobs, time and cancellation.

Every scenario runs on a real VirtualDevice with a realtime scheduler (device time 100x faster
than host time, so `sleep 1` takes 10 ms) inside its own event loop, under a timeout.
"""

from __future__ import annotations

import asyncio

import pytest

from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import AndroidSection, load_sim_profile
from harness.sim.shell.api import BufferOutput, Input
from harness.sim.shell.interpreter import CapturedRun, run_captured, run_command_line
from harness.sim.shell.jobs import shell_processes

PROFILE = "sim-android-8.1-buggy"
TIMEOUT = 20


def on_device(scenario, *, profile=None, timeout: float = TIMEOUT):
    """Run `scenario(device)` in a fresh loop with a fresh device; its result."""
    async def main():
        scheduler = Scheduler(realtime=True, scale=0.01)
        device = VirtualDevice(profile or load_sim_profile(PROFILE), scheduler=scheduler)
        try:
            return await asyncio.wait_for(scenario(device), timeout)
        finally:
            scheduler.close()
    return asyncio.run(main())


def sh(cmdline: str, *, uid: int = 2000, stdin: bytes = b"", profile=None) -> CapturedRun:
    return on_device(lambda device: run_captured(device, cmdline, uid=uid, stdin=stdin),
                     profile=profile)


def merged(cmdline: str) -> tuple[int, str]:
    """Shell v1: stdout and stderr on one stream, in the order written."""
    async def scenario(device):
        out = BufferOutput()
        status = await run_command_line(device, cmdline, Input.of(b""), out, out, uid=2000)
        return status, bytes(out.data).decode()
    return on_device(scenario)


def profile_with(**changes):
    profile = load_sim_profile(PROFILE)
    return profile.model_copy(update=changes)


# ---- status and output -----------------------------------------------------------------------
def test_exit_status():
    assert sh("exit 3") == CapturedRun(3, "", "")
    assert sh("exit 300").status == 300 & 0xFF
    assert sh("true").status == 0
    assert sh("false").status == 1


def test_stdout_and_stderr_stay_apart():
    assert sh("echo out; echo err >&2") == CapturedRun(0, "out\n", "err\n")
    assert sh("echo both 1>&2") == CapturedRun(0, "", "both\n")


def test_and_or_and_status_variable():
    assert sh("false || echo x") == CapturedRun(0, "x\n", "")
    assert sh("true && echo y || echo z").stdout == "y\n"
    assert sh("false; echo $?").stdout == "1\n"
    assert sh("false && echo never; echo $?").stdout == "1\n"
    assert sh("! false; echo $?").stdout == "0\n"


def test_command_substitution_nests():
    assert sh("echo $(echo a $(echo b)) `echo c`").stdout == "a b c\n"
    assert sh('x="$(printf "l1\\nl2\\n\\n")"; echo "[$x]"').stdout == "[l1\nl2]\n"
    assert sh("echo $(exit 4); echo $?").stdout == "\n0\n"
    assert sh("x=$(exit 4); echo $?").stdout == "4\n"


def test_pipeline_counts_with_grep():
    assert sh("printf 'a\\nb\\na\\n' | grep -c a") == CapturedRun(0, "2\n", "")
    assert sh("echo x | grep -q y; echo $?").stdout == "1\n"


def test_output_is_chronological_before_the_exit_marker():
    # adbutils' shell2 on v1 appends `; echo X4EXIT:$?` and parses the last marker.
    assert merged("echo a; echo b >&2; echo c; echo X4EXIT:$?") == (0, "a\nb\nc\nX4EXIT:0\n")
    assert merged("nosuch; echo X4EXIT:$?") == (
        0, "/system/bin/sh: nosuch: not found\nX4EXIT:127\n")


def test_not_found_wording_by_mksh_version():
    assert sh("nosuch arg") == CapturedRun(127, "", "/system/bin/sh: nosuch: not found\n")
    assert sh("/system/bin/nosuch").stderr == "/system/bin/sh: /system/bin/nosuch: not found\n"
    android10 = profile_with(android=AndroidSection(release="10", sdk=29))
    assert sh("nosuch", profile=android10).stderr == \
        "/system/bin/sh: nosuch: inaccessible or not found\n"


def test_commands_by_path():
    assert sh("/system/bin/echo hi").stdout == "hi\n"
    assert sh("/system/xbin/su 0 id -u").stdout == "0\n"


def test_syntax_error_stops_the_shell_with_status_1():
    assert sh("echo 'abc") == CapturedRun(1, "", "/system/bin/sh: no closing quote\n")
    # mksh runs `sh -c` text line by line: lines before the bad one have run.
    assert sh("echo a\nif true; then echo b") == CapturedRun(
        1, "a\n", "/system/bin/sh: syntax error: 'if' unmatched\n")
    assert sh("echo a; fi").stderr == "/system/bin/sh: syntax error: 'fi' unexpected\n"
    assert sh("echo a; fi").stdout == ""


def test_shlex_quoted_arguments_reach_the_command_intact():
    import shlex
    args = ["it's", 'say "hi"', "$HOME", "a b", "", "`id`", "semi;colon"]
    result = sh("printf '[%s]\\n' " + " ".join(shlex.quote(a) for a in args))
    assert result.stdout == "".join(f"[{a}]\n" for a in args)


# ---- variables and expansion -----------------------------------------------------------------
def test_variables_assignment_and_export():
    assert sh("A=b; echo $A ${A}c \"$A\" '$A'").stdout == "b bc b $A\n"
    assert sh("A=1 env | grep '^A='; echo ${A:-unset}").stdout == "A=1\nunset\n"
    assert sh("export X=1; sh -c 'echo $X'").stdout == "1\n"
    assert sh("Y=2; sh -c 'echo ${Y:-none}'").stdout == "none\n"
    assert sh("echo $$ | grep -c '^[0-9][0-9]*$'").stdout == "1\n"


def test_parameter_operators():
    assert sh("f=a.b.c; echo ${f%.*} ${f%%.*} ${f#*.} ${f##*.} ${#f}").stdout == "a.b a b.c c 5\n"
    assert sh("echo ${u-d1} ${u:=d2} $u ${u:+alt}").stdout == "d1 d2 d2 alt\n"
    result = sh("echo ${missing:?is required}; echo never")
    assert result == CapturedRun(1, "", "/system/bin/sh: missing: is required\n")


def test_arithmetic():
    assert sh("echo $((1 + 2 * 3)) $((7 / 2)) $((-7 % 3)) $((1 << 4))").stdout == "7 3 -1 16\n"
    assert sh("i=5; echo $((i += 2)) $i $((i > 6 ? 10 : 20))").stdout == "7 7 10\n"
    assert sh("echo $((1 / 0))").stderr == "/system/bin/sh: 1 / 0: zero divisor\n"


def test_arithmetic_command_and_substitution_forms():
    assert sh("i=0; while (( i < 3 )); do (( i++ )); done; echo $i").stdout == "3\n"
    assert sh("(( 0 )); echo $?; let 2+2; echo $?").stdout == "1\n0\n"
    assert sh("((echo a); echo b)").stdout == "a\nb\n"
    assert sh("x=a.b.c; echo ${x/./_} ${x//./_}").stdout == "a_b.c a_b_c\n"


def test_field_splitting_and_quoting():
    assert sh('x="a  b"; for i in $x; do echo "<$i>"; done').stdout == "<a>\n<b>\n"
    assert sh('x="a  b"; for i in "$x"; do echo "<$i>"; done').stdout == "<a  b>\n"
    assert sh("set -- 'one two' three; for a in \"$@\"; do echo \"<$a>\"; done; echo $#").stdout \
        == "<one two>\n<three>\n2\n"
    assert sh("IFS=:; x=a:b; for i in $x; do echo $i; done").stdout == "a\nb\n"


def test_pathname_expansion_on_the_device():
    script = ("cd /data/local/tmp && touch b.txt a.txt c.log && echo *.txt && "
              "echo /data/local/tmp/*.log && echo nomatch*.xyz && echo '*.txt'")
    assert sh(script).stdout == "a.txt b.txt\n/data/local/tmp/c.log\nnomatch*.xyz\n*.txt\n"


def test_positional_parameters_of_sh_c():
    assert sh("sh -c 'echo $0 $1 $#' zero one").stdout == "zero one 1\n"
    assert sh("sh -c 'exit 4'; echo $?").stdout == "4\n"


# ---- compound commands --------------------------------------------------------------------------
def test_if_elif_else():
    script = "for v in 1 2 3; do if [ $v -eq 1 ]; then echo one; elif [ $v = 2 ]; then echo two; else echo many; fi; done"
    assert sh(script).stdout == "one\ntwo\nmany\n"


def test_while_until_break_continue():
    assert sh("i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i").stdout == "3\n"
    assert sh("i=0; until [ $i -ge 2 ]; do i=$((i+1)); done; echo $i").stdout == "2\n"
    script = "for i in 1 2 3 4 5; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done"
    assert sh(script).stdout == "1\n3\n"


def test_case_and_functions():
    script = "case eth0 in wlan*) echo wifi;; eth*|usb*) echo wired;; *) echo other;; esac"
    assert sh(script).stdout == "wired\n"
    script = "f() { echo \"f:$1\"; return 3; }; f arg; echo $?"
    assert sh(script).stdout == "f:arg\n3\n"


def test_groups_and_subshells():
    assert sh("{ echo a; echo b; } | wc -l").stdout == "2\n"
    assert sh("x=1; (x=2; echo $x); echo $x").stdout == "2\n1\n"
    assert sh("(exit 5); echo $?").stdout == "5\n"
    assert sh("cd /data/local/tmp; (cd /); pwd").stdout == "/data/local/tmp\n"


def test_test_builtin():
    script = ("[ -z '' ] && [ -n x ] && [ a = a ] && [ a != b ] && [ 2 -gt 1 ] && [ 1 -le 1 ] && "
              "[ -d /data/local/tmp ] && [ ! -e /nope ] && test -c /dev/null && [ ! -f /dev/null ] || echo bad; "
              "[ 1 -eq 2 ]; echo $?")
    assert sh(script).stdout == "1\n"
    assert sh("[ 1 -eq 1").stderr == "/system/bin/sh: [: missing ]\n"
    assert sh("[[ eth0 == eth* && -n x ]] && echo ok").stdout == "ok\n"


def test_errexit():
    assert sh("set -e; false; echo never").status == 1
    assert sh("set -e; false || true; if false; then :; fi; echo reached").stdout == "reached\n"


def test_here_document():
    assert sh("cat <<EOF\nhello $USER\nEOF").stdout == "hello shell\n"
    assert sh("cat <<'EOF'\nhello $USER\nEOF").stdout == "hello $USER\n"


def test_read_from_stdin():
    result = sh("while read a b; do echo \"$b-$a\"; done", stdin=b"1 one\n2 two\n")
    assert result.stdout == "one-1\ntwo-2\n"
    assert sh("cat", stdin=b"passed through").stdout == "passed through"


def test_interactive_shell_reads_stdin_and_prompts():
    result = sh("", stdin=b"echo hi\nfalse\nexit 0\n")
    assert result.stdout == "hi\n"
    assert result.stderr == "redroid_x86_64:/ $ redroid_x86_64:/ $ 1|redroid_x86_64:/ $ "


# ---- redirections and the file system -------------------------------------------------------------
def test_redirection_into_data_local_tmp_and_back():
    script = ("echo one > /data/local/tmp/f; echo two >> /data/local/tmp/f; "
              "cat /data/local/tmp/f; wc -l < /data/local/tmp/f")
    assert sh(script).stdout == "one\ntwo\n2\n"


def test_redirections_of_stderr():
    assert sh("nosuch 2>/dev/null; echo $?") == CapturedRun(0, "127\n", "")
    assert sh("nosuch >/dev/null 2>&1") == CapturedRun(127, "", "")
    script = "{ echo o; echo e >&2; } > /data/local/tmp/log 2>&1; cat /data/local/tmp/log"
    assert sh(script).stdout == "o\ne\n"
    assert sh("{ echo o; echo e >&2; } &>/data/local/tmp/all; cat /data/local/tmp/all").stdout == "o\ne\n"
    assert sh("exec 2>&1; echo moved >&2").stdout == "moved\n"


def test_write_permissions_follow_android():
    assert sh("echo x > /system/x") == CapturedRun(
        1, "", "/system/bin/sh: can't create /system/x: Read-only file system\n")
    assert sh("echo x > /data/x").stderr == "/system/bin/sh: can't create /data/x: Permission denied\n"
    assert sh("echo x > /data/x", uid=0).status == 0
    assert sh("cat < /nope").stderr == "/system/bin/sh: can't open /nope: No such file or directory\n"
    assert sh("echo x > /nodir/f").stderr == \
        "/system/bin/sh: can't create /nodir/f: No such file or directory\n"


# ---- time, concurrency, jobs, cancellation ---------------------------------------------------------
def test_sleep_does_not_block_another_command():
    async def scenario(device):
        slow = asyncio.ensure_future(run_captured(device, "sleep 1000; echo late"))
        fast = await run_captured(device, "echo quick")
        still_sleeping = not slow.done()
        slow.cancel()
        return fast, still_sleeping
    fast, still_sleeping = on_device(scenario)
    assert fast == CapturedRun(0, "quick\n", "")
    assert still_sleeping


class _Signalling(BufferOutput):
    """Collects output and tells when a given text has arrived."""

    def __init__(self, wanted: bytes) -> None:
        super().__init__()
        self.wanted = wanted
        self.arrived = asyncio.Event()

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.wanted in self.data:
            self.arrived.set()


def test_pipeline_streams_lines_as_they_come():
    async def scenario(device):
        out = _Signalling(b"tick 2\n")
        cmd = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done | grep tick"
        task = asyncio.ensure_future(
            run_command_line(device, cmd, Input.of(b""), out, BufferOutput(), uid=2000))
        await out.arrived.wait()          # the producer never ends: lines must flow anyway
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return bytes(out.data)
    assert on_device(scenario).startswith(b"tick 1\ntick 2\n")


def test_reader_exit_kills_the_writer_with_sigpipe():
    assert sh("while true; do echo y; done | head -n 2") == CapturedRun(0, "y\ny\n", "")
    assert sh("yes() { while :; do echo y; done; }; yes | grep -q y; echo $?").stdout == "0\n"


def test_cancellation_stops_loops_and_children():
    async def scenario(device):
        loop = asyncio.ensure_future(run_captured(device, "while true; do sleep 1; done"))
        pipe = asyncio.ensure_future(run_captured(device, "sleep 1000 | cat | cat"))
        await device.scheduler.sleep(3)
        running = len(shell_processes(device).all())
        for task in (loop, pipe):
            task.cancel()
        results = await asyncio.gather(loop, pipe, return_exceptions=True)
        await asyncio.sleep(0)
        return running, results, shell_processes(device).all()
    running, results, left = on_device(scenario)
    assert running >= 5                       # two shells, a sleep, the pipeline's commands
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert left == []


def test_background_jobs():
    assert sh("sleep 1 & echo started; wait; echo done").stdout == "started\ndone\n"
    assert sh("sleep 100 & kill $!; wait $!; echo $?").stdout == "143\n"

    async def scenario(device):
        first = await run_captured(device, "(sleep 2; echo late > /data/local/tmp/bg) &")
        exists_at_once = device.fs.exists("/data/local/tmp/bg")
        await device.scheduler.sleep(5)
        return first, exists_at_once, device.fs.read("/data/local/tmp/bg")
    first, exists_at_once, data = on_device(scenario)
    assert first == CapturedRun(0, "", "")    # the session ends; the job lives on
    assert not exists_at_once and data == b"late\n"


def test_killing_the_session_shell_ends_it_with_the_signal_status():
    assert sh("echo before; kill $$; echo after") == CapturedRun(143, "before\n", "")
    assert sh("echo last; kill $$") == CapturedRun(143, "last\n", "")
    assert sh("(kill -9 $$; echo in); echo out") == CapturedRun(137, "", "")
    assert sh("sh -c 'kill $$; echo no'; echo $?") == CapturedRun(0, "143\n", "")


def test_kill_from_another_session():
    async def scenario(device):
        victim = asyncio.ensure_future(run_captured(device, "sleep 1000; echo after $?"))
        await device.scheduler.sleep(1)
        pid = next(p.pid for p in shell_processes(device).all() if p.name == "sleep")
        killer = await run_captured(device, f"kill {pid}")
        return killer, await victim
    killer, victim = on_device(scenario)
    assert killer == CapturedRun(0, "", "")
    assert victim == CapturedRun(0, "after 143\n", "")


def test_reboot_ends_the_command_first():
    async def scenario(device):
        boots = device.boot_count
        result = await run_captured(device, "reboot")
        same_boot = device.boot_count == boots
        await device.scheduler.sleep(3)
        return result, same_boot, device.boot_count - boots
    result, same_boot, reboots = on_device(scenario)
    assert result == CapturedRun(0, "", "")
    assert same_boot and reboots == 1


def test_su_only_on_debuggable_builds():
    assert sh("su 0 id -un; su root whoami; su -c 'id -u'").stdout == "root\nroot\n0\n"
    user_build = profile_with(product=load_sim_profile(PROFILE).product.model_copy(
        update={"build_type": "user"}))
    assert sh("su 0 id", profile=user_build) == CapturedRun(127, "", "/system/bin/sh: su: not found\n")


def test_command_v_and_which():
    result = sh("command -v ls; command -v cd; which su; which nosuch; echo $?")
    assert result.stdout == "/system/bin/ls\ncd\n/system/xbin/su\n1\n"
    assert sh("type ls").stdout == "ls is a tracked alias for /system/bin/ls\n"
