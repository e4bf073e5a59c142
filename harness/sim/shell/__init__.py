"""The virtual device's shell: mksh's language and Android's toybox/toolbox commands.

- api.py          the contract with every tool (Proc, @command registry)
- nodes.py        syntax tree; parser.py: text -> tree, with mksh's error texts
- interpreter.py  runs a tree (entry point `run_command_line`, what adbd calls)
- expand.py, arith.py, patterns.py, testexpr.py   expansions, $((...)), globs, test/[[
- execution.py    commands as processes (pids, tasks, kill, exec), jobs.py: their table
- streams.py      pipes, files, /dev/null, the session's ends; redirects.py, fsaccess.py
- builtins.py     builtins that need the shell's state (cd, export, read, exit...)
- commands/       toybox/toolbox commands and state-free mksh builtins (echo, test, kill)
"""
