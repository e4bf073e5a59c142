"""`harness triage`/`harness parse` start fast: naming a subcommand imports only its module."""

import subprocess
import sys

import pytest

HEAVY = ("adbutils", "scipy", "matplotlib", "harness.sim", "harness.repro", "harness.embedded")

PROBE = """
import sys
from harness.cli import main
rc = main(sys.argv[1:])
heavy = sorted({m for m in sys.modules if m.startswith(%r)})
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("argv", [["triage", "{f}"], ["parse", "getprop", "{f}"]])
def test_a_named_subcommand_imports_nothing_heavy(tmp_path, argv):
    log = tmp_path / "log.txt"
    log.write_text("[ro.build.version.sdk]: [27]\n")
    args = [a.format(f=log) for a in argv]
    out = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *args],
                         capture_output=True, text=True, timeout=60)
    heavy_line = [line for line in out.stdout.splitlines() if line.startswith("HEAVY:")]
    assert heavy_line == ["HEAVY:"], out.stdout + out.stderr


def test_help_still_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "harness.cli", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in ("parse", "repro", "sim", "triage"):
        assert name in out.stdout
