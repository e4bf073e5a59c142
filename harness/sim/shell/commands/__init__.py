"""The shell's own commands (toybox/toolbox and mksh builtins that need no shell state).

Importing this package registers them all (harness.sim.shell.interpreter.load_commands)."""

from harness.sim.shell.commands import basic, files, system, text  # noqa: F401
