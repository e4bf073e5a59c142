"""The shell's toybox/toolbox commands: exact Android output formats, messages and statuses."""

from __future__ import annotations

import asyncio
import re

from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import load_sim_profile
from harness.sim.shell.commands.system import toybox_ps_header, toybox_ps_line
from harness.sim.shell.interpreter import CapturedRun, run_captured

PROFILE = "sim-android-8.1-buggy"
EPOCH = 1_700_000_000          # Tue Nov 14 22:13:20 UTC 2023


def on_device(scenario, *, scale: float = 0.01):
    async def main():
        scheduler = Scheduler(realtime=True, scale=scale, epoch=EPOCH)
        device = VirtualDevice(load_sim_profile(PROFILE), scheduler=scheduler)
        try:
            return await asyncio.wait_for(scenario(device), 20)
        finally:
            scheduler.close()
    return asyncio.run(main())


def sh(cmdline: str, *, uid: int = 2000, stdin: bytes = b"", scale: float = 0.01) -> CapturedRun:
    return on_device(lambda device: run_captured(device, cmdline, uid=uid, stdin=stdin),
                     scale=scale)


# ---- identity -----------------------------------------------------------------------------------
GROUPS = ("1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),"
          "3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid)")


def test_id_as_shell_and_root():
    assert sh("id").stdout == \
        f"uid=2000(shell) gid=2000(shell) groups=2000(shell),{GROUPS} context=u:r:shell:s0\n"
    assert sh("id", uid=0).stdout == \
        f"uid=0(root) gid=0(root) groups=0(root),{GROUPS} context=u:r:su:s0\n"
    assert sh("id -u; id -un; id -Z; whoami").stdout == "2000\nshell\nu:r:shell:s0\nshell\n"


# ---- properties ---------------------------------------------------------------------------------
def test_getprop():
    result = sh("getprop ro.product.model; getprop no.such.prop; getprop no.such.prop fallback")
    assert result.stdout == "redroid8_x86_64\n\nfallback\n"
    listing = sh("getprop").stdout.splitlines()
    assert "[ro.build.version.sdk]: [27]" in listing
    assert listing == sorted(listing)
    assert all(re.fullmatch(r"\[[^\]]+\]: \[.*\]", line) for line in listing)


def test_setprop_rules():
    assert sh("setprop debug.sim 1; getprop debug.sim") == CapturedRun(0, "1\n", "")
    assert sh("setprop net.dns1 1.1.1.1") == CapturedRun(
        1, "", "setprop: failed to set property 'net.dns1' to '1.1.1.1'\n")
    assert sh("setprop net.dns1 1.1.1.1; getprop net.dns1", uid=0).stdout == "1.1.1.1\n"
    assert sh("setprop ro.build.id X", uid=0).stderr == \
        "setprop: failed to set property 'ro.build.id' to 'X'\n"
    assert sh("setprop ro.sim.new a && setprop ro.sim.new b; getprop ro.sim.new", uid=0).stdout == "a\n"
    assert sh("setprop 'bad name' x").stderr == "setprop: invalid character ' ' in name 'bad name'\n"
    long_value = "v" * 92
    assert sh(f"setprop debug.long {long_value}").stderr == \
        f"setprop: value '{long_value}' too long; try '{long_value[:91]}'\n"


# ---- time ---------------------------------------------------------------------------------------
def test_date_formats():
    result = sh("date; date +%s; date '+%Y-%m-%d %H:%M'; date +%3N | wc -c", scale=1.0)
    default, seconds, minutes, millis = result.stdout.splitlines()
    assert re.fullmatch(r"Tue Nov 14 22:13:2\d UTC 2023", default)
    assert EPOCH <= int(seconds) < EPOCH + 10
    assert minutes == "2023-11-14 22:13"
    assert millis.strip() == "4"        # three digits and a newline


def test_uptime_format():
    out = sh("uptime", scale=1.0).stdout
    assert re.fullmatch(r" 22:13:2\d up 0 min,  0 users,  load average: 0\.00, 0\.00, 0\.00\n", out)


# ---- processes ----------------------------------------------------------------------------------
PS_HEADER = "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME                       "


def test_ps_line_layout_matches_toybox():
    # A real Android 8 line: WCHAN overflows its 10 columns and ADDR gives the space back.
    values = ["root", "1", "0", "10632", "1836", "SyS_epoll_wait", "0", "S", "init"]
    widths = [-12, 5, 5, 7, 6, -10, 10, -1, -27]
    assert toybox_ps_line(values, widths) == \
        "root             1     0   10632   1836 SyS_epoll_wait      0 S init"
    fields = [("USER", -12), ("PID", 5), ("PPID", 5), ("VSZ", 7), ("RSS", 6), ("WCHAN", -10),
              ("ADDR", 10), ("S", -1), ("NAME", -27)]
    assert toybox_ps_header(fields) == PS_HEADER


def test_ps_shows_the_session_and_ps_a_everything():
    own = sh("ps").stdout.splitlines()
    assert own[0] == PS_HEADER
    assert [line.split()[-1] for line in own[1:]] == ["sh", "ps"]
    assert own[2].split()[-2] == "R"
    everything = sh("ps -A").stdout.splitlines()
    names = [line.split()[-1] for line in everything[1:]]
    assert "init" in names and names[-2:] == ["sh", "ps"]
    row = everything[1]
    assert re.fullmatch(r"root +1 +\d+ +\d+ +\d+ 0 +0 S init", row)
    assert sh("ps -A -o PID,NAME | head -n 2").stdout.splitlines()[0] == "  PID NAME                       "


def test_kill_messages():
    assert sh("kill 99999").stderr == "/system/bin/sh: kill: 99999: No such process\n"
    assert sh("kill -9 1") == CapturedRun(1, "", "/system/bin/sh: kill: 1: Operation not permitted\n")
    assert sh("kill -l 9; kill -l 143").stdout == "KILL\nTERM\n"
    assert sh("kill -FOO 1").stderr == "/system/bin/sh: kill: bad signal 'FOO'\n"
    assert sh("kill abc").stderr == "/system/bin/sh: kill: abc: arguments must be jobs or process IDs\n"


def test_kill_reaches_the_model_for_root():
    def scenario(device):
        victim = device.processes.all()[-1]
        calls = []
        device.android.kill_process = lambda pid, sig: calls.append((pid, sig)) or True
        return victim.pid, calls, run_captured(device, f"kill -9 {victim.pid}", uid=0)

    async def run(device):
        pid, calls, pending = scenario(device)
        return pid, calls, await pending
    pid, calls, result = on_device(run)
    assert result == CapturedRun(0, "", "")
    assert calls == [(pid, 9)]


def test_start_stop_need_root_and_call_the_model():
    assert sh("stop netd") == CapturedRun(1, "", "stop: must be root\n")

    async def scenario(device):
        for _ in range(200):                     # let init finish starting its own services
            if device.props.get("sys.boot_completed") == "1":
                break
            await device.scheduler.sleep(1)
        calls = []
        device.android.stop_service = lambda name: calls.append(("stop", name))
        device.android.start_service = lambda name: calls.append(("start", name))
        result = await run_captured(device, "stop; start netd", uid=0)
        return result, calls
    result, calls = on_device(scenario)
    assert result.status == 0
    assert calls == [("stop", "zygote_secondary"), ("stop", "zygote"), ("stop", "surfaceflinger"),
                     ("stop", "netd"), ("start", "netd")]


# ---- files --------------------------------------------------------------------------------------
def test_ls_formats():
    script = ("cd /data/local/tmp && echo hello > b && mkdir d && touch a .hidden && "
              "ls && ls -a | head -n 3 && ls -d /data/local/tmp")
    assert sh(script).stdout == "a\nb\nd\n.\n..\n.hidden\n/data/local/tmp\n"
    long = sh("echo hello > /data/local/tmp/f; ls -l /data/local/tmp").stdout.splitlines()
    assert long[0] == "total 4"
    assert re.fullmatch(r"-rw-r--r-- 1 shell shell 6 \d{4}-\d\d-\d\d \d\d:\d\d f", long[1])
    assert sh("ls /nope") == CapturedRun(1, "", "ls: /nope: No such file or directory\n")
    assert sh("ls /data") == CapturedRun(1, "", "ls: /data: Permission denied\n")
    assert "local" in sh("ls /data", uid=0).stdout.split()


def test_mkdir_rm_touch():
    script = ("cd /data/local/tmp && mkdir -p x/y/z && touch x/y/z/f && ls x/y/z && "
              "rm x/y/z/f && rm -r x && ls")
    assert sh(script).stdout == "f\n"
    assert sh("mkdir /system/x").stderr == "mkdir: '/system/x': Read-only file system\n"
    assert sh("mkdir /data/local/tmp; echo $?").stdout == "1\n"
    assert sh("rm /data/local/tmp/none").stderr == "rm: /data/local/tmp/none: No such file or directory\n"
    assert sh("rm -f /data/local/tmp/none; echo $?").stdout == "0\n"
    assert sh("mkdir /data/local/tmp/d; rm /data/local/tmp/d").stderr == \
        "rm: /data/local/tmp/d: Is a directory\n"
    assert sh("touch /system/x").stderr == "touch: '/system/x': Read-only file system\n"


def test_chmod_cp_mv_tee():
    script = ("cd /data/local/tmp && printf 'echo ran $1\\n' > s.sh && ./s.sh; echo $?; "
              "chmod 755 s.sh && ./s.sh one && chmod u-x,go-rx s.sh && ls -l s.sh | cut -c1-10; "
              "cp s.sh t.sh && mv t.sh u.sh && ls; echo x | tee -a u.sh | tr x y; tail -n 1 u.sh")
    result = sh(script)
    assert result.stdout == "126\nran one\n-rw-------\ns.sh\nu.sh\ny\nx\n"
    assert result.stderr == "/system/bin/sh: ./s.sh: can't execute: Permission denied\n"
    assert sh("chmod 777 /system/bin/ls").stderr == \
        "chmod: chmod '/system/bin/ls': Read-only file system\n"
    assert sh("cp /nope /data/local/tmp").stderr == "cp: '/nope': No such file or directory\n"
    assert sh("printenv USER HOME").stdout == "shell\n/\n"


def test_cat_errors():
    assert sh("cat /nope; echo $?").stdout == "1\n"
    assert sh("cat /nope").stderr == "cat: /nope: No such file or directory\n"
    assert sh("echo a | cat - /nope 2>/dev/null").stdout == "a\n"


# ---- text tools ---------------------------------------------------------------------------------
LINES = b"alpha 1\nBeta 2\ngamma 3\nalpha 4\n"


def test_grep_options_and_statuses():
    assert sh("grep alpha", stdin=LINES).stdout == "alpha 1\nalpha 4\n"
    assert sh("grep -i beta", stdin=LINES).stdout == "Beta 2\n"
    assert sh("grep -v alpha", stdin=LINES).stdout == "Beta 2\ngamma 3\n"
    assert sh("grep -n -e gamma -e Beta", stdin=LINES).stdout == "2:Beta 2\n3:gamma 3\n"
    assert sh("grep -c alpha", stdin=LINES).stdout == "2\n"
    assert sh("grep -o '[0-9]'", stdin=LINES).stdout == "1\n2\n3\n4\n"
    assert sh("grep -E 'a(lph|mm)a [13]'", stdin=LINES).stdout == "alpha 1\ngamma 3\n"
    assert sh("grep 'a\\(lph\\)a 4'", stdin=LINES).stdout == "alpha 4\n"
    assert sh("grep -F 'a 1'", stdin=LINES).stdout == "alpha 1\n"
    assert sh("grep -w alph", stdin=LINES).status == 1
    assert sh("grep '[[:digit:]]$' -c", stdin=LINES).stdout == "4\n"
    assert sh("grep nothing", stdin=LINES) == CapturedRun(1, "", "")
    assert sh("grep x /nope") == CapturedRun(2, "", "grep: /nope: No such file or directory\n")
    result = sh("echo hit > /data/local/tmp/a; echo miss > /data/local/tmp/b; "
                "cd /data/local/tmp; grep -H hit a b; grep -c hit a b")
    assert result.stdout == "a:hit\na:1\nb:0\n"


def test_head_tail_wc():
    assert sh("head -n 2", stdin=LINES).stdout == "alpha 1\nBeta 2\n"
    assert sh("head -1", stdin=LINES).stdout == "alpha 1\n"
    assert sh("tail -n 1", stdin=LINES).stdout == "alpha 4\n"
    assert sh("tail -2", stdin=LINES).stdout == "gamma 3\nalpha 4\n"
    assert sh("tail -n +4", stdin=LINES).stdout == "alpha 4\n"
    assert sh("wc", stdin=LINES).stdout == "      4       8      31\n"
    assert sh("wc -l", stdin=LINES).stdout == "4\n"
    assert sh("wc -w -l", stdin=LINES).stdout == "      4       8\n"
    result = sh("cd /data/local/tmp; echo a > f; echo b c > g; wc -l f g")
    assert result.stdout == "1 f\n1 g\n2 total\n"     # one column: no padding (toybox)


def test_sort_uniq_cut_tr():
    assert sh("printf 'b\\na\\nc\\na\\n' | sort").stdout == "a\na\nb\nc\n"
    assert sh("printf '10\\n9\\n100\\n' | sort -n -r").stdout == "100\n10\n9\n"
    assert sh("printf 'b\\na\\nb\\n' | sort -u").stdout == "a\nb\n"
    assert sh("printf 'a\\na\\nb\\n' | uniq -c").stdout == "      2 a\n      1 b\n"
    assert sh("echo root:x:0:0 | cut -d: -f1,3").stdout == "root:0\n"
    assert sh("echo abcdef | cut -c 2-4").stdout == "bcd\n"
    assert sh("echo Hello | tr a-z A-Z").stdout == "HELLO\n"
    assert sh("echo hello | tr -d l").stdout == "heo\n"
    assert sh("echo 'a  b   c' | tr -s ' '").stdout == "a b c\n"


def test_sed_basics():
    assert sh("echo aaa | sed s/a/b/").stdout == "baa\n"
    assert sh("echo aaa | sed 's/a/b/g'").stdout == "bbb\n"
    assert sh("printf '1\\n2\\n3\\n' | sed -n 2p").stdout == "2\n"
    assert sh("printf '1\\n2\\n3\\n' | sed '/2/d'").stdout == "1\n3\n"
    assert sh("echo eth0 up | sed -e 's/\\(eth[0-9]\\) \\(.*\\)/\\2 \\1/'").stdout == "up eth0\n"
    assert sh("cd /data/local/tmp; echo x > f; sed -i s/x/y/ f; cat f").stdout == "y\n"


def test_xargs_seq_names_printf_echo():
    assert sh("echo a b c | xargs echo got").stdout == "got a b c\n"
    assert sh("echo a b c | xargs -n 1 echo").stdout == "a\nb\nc\n"
    assert sh("seq 3; seq 2 2 6; seq -s , 3").stdout == "1\n2\n3\n2\n4\n6\n1,2,3\n"
    assert sh("basename /a/b/c.txt .txt; dirname /a/b/c.txt; dirname c").stdout == "c\n/a/b\n.\n"
    assert sh("printf '%5s|%-3d|%x|%%|%s\\n' ab 7 255 x y").stdout == "   ab|7  |ff|%|x\n    y|0  |0|%|\n"
    assert sh("echo -n a; echo b").stdout == "ab\n"
    assert sh("echo 'a\\tb'; echo -E 'a\\tb'; echo -nx").stdout == "a\tb\na\\tb\n-nx\n"
    assert sh("echo 'stop\\c here'; echo .").stdout == "stop here.\n"


def test_env_nohup_timeout_sleep():
    assert sh("env -i A=1 B=2 env").stdout == "A=1\nB=2\n"
    assert sh("env -i nosuch").stderr == "env: exec nosuch: No such file or directory\n"
    assert sh("nohup echo hi").stdout == "hi\n"
    assert sh("timeout 1 sleep 50; echo $?").stdout == "124\n"
    assert sh("timeout 5 echo fast").stdout == "fast\n"
    assert sh("sleep 0.5 0.5; echo ok").stdout == "ok\n"
    assert sh("sleep abc").stderr == "sleep: Not a number 'abc'\n"


def test_commands_have_files_in_system_bin():
    result = sh("ls /system/bin | grep -c '^ls$'; [ -x /system/bin/getprop ] && echo exec; "
                "ls /system/xbin; ls /system/bin/netcfg")
    assert result.stdout == "1\nexec\nsu\n"                  # netcfg is gone after Android 5.1
    assert result.stderr == "ls: /system/bin/netcfg: No such file or directory\n"


def test_toybox_multiplexer():
    assert sh("toybox echo hi; toybox | tr ' ' '\\n' | grep -c '^ls$'").stdout == "hi\n1\n"
