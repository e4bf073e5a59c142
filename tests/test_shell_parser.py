"""The shell parser alone: quoting, operators, expansions, nesting and mksh's error texts."""

from __future__ import annotations

import shlex

import pytest

from harness.sim.shell.nodes import (ArithSub, Case, CmdSub, For, FunctionDef, Group, If, Lit,
                                     Param, SimpleCommand, Subshell, While, Word)
from harness.sim.shell.parser import Parser, ShellSyntaxError, parse


def only_command(src: str):
    seq = parse(src)
    assert len(seq.items) == 1
    and_or = seq.items[0].command
    assert not and_or.rest and len(and_or.first.commands) == 1
    return and_or.first.commands[0]


def literal(word: Word) -> str:
    """The text of a word made of literals only (fails on any expansion)."""
    assert all(isinstance(p, Lit) for p in word.parts), word
    return "".join(p.text for p in word.parts)


def words_of(src: str) -> list[str]:
    cmd = only_command(src)
    assert isinstance(cmd, SimpleCommand)
    return [literal(w) for w in cmd.words]


# ---- quoting ----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["echo", "hello world"],
    ["getprop", "ro.build.version.sdk"],
    ["sh", "-c", "echo 'nested' && exit 3"],
    ["printf", "%s\n", "it's", 'say "hi"', "back\\slash", "$HOME", "`id`", "a;b|c&d"],
    ["echo", "", "  ", "\t", "new\nline"],
    ["echo", "*", "?", "[a]", "~", "#not-a-comment", "!", "{", "}"],
    ["ndc", "network", "interface", "add", "101", "eth0"],
    ["ip", "-o", "addr", "show", "dev", "eth0"],
])
def test_shlex_quote_round_trips(args):
    assert words_of(" ".join(shlex.quote(a) for a in args)) == args


def test_quote_kinds_mark_quoted_parts():
    cmd = only_command("echo a'b'\"c\"\\d")
    assert cmd.words[1].parts == (Lit("a"), Lit("b", True), Lit("c", True), Lit("d", True))


def test_double_quotes_keep_expansions_and_unescape_only_specials():
    cmd = only_command(r'echo "x $A ${B} \$C \n \" \\"')
    parts = cmd.words[1].parts
    assert parts[0] == Lit("x ", True)
    assert parts[1] == Param("A", True)
    assert parts[3] == Param("B", True)
    assert parts[4] == Lit(r" $C \n " + '" \\', True)


def test_empty_quotes_make_an_empty_word():
    assert words_of("echo '' \"\"") == ["echo", "", ""]


def test_backslash_newline_is_a_continuation():
    assert words_of("echo ab\\\ncd") == ["echo", "abcd"]


def test_comments_only_at_word_start():
    assert words_of("echo a#b # comment here") == ["echo", "a#b"]


# ---- operators and structure --------------------------------------------------------------------
def test_lists_and_operators():
    seq = parse("a; b && c || d | e & f")
    assert [item.background for item in seq.items] == [False, True, False]
    and_or = seq.items[1].command
    assert [op for op, _ in and_or.rest] == ["&&", "||"]
    assert len(and_or.rest[1][1].commands) == 2


def test_negated_pipeline():
    seq = parse("! grep -q x file")
    assert seq.items[0].command.first.negated


@pytest.mark.parametrize("src,fd,op,target", [
    ("cmd 2>&1", 2, ">&", "1"),
    ("cmd >&2", 1, ">&", "2"),
    ("cmd 1>&2", 1, ">&", "2"),
    ("cmd 2>/dev/null", 2, ">", "/dev/null"),
    ("cmd >>log", 1, ">>", "log"),
    ("cmd <in", 0, "<", "in"),
    ("cmd &>all", 1, "&>", "all"),
])
def test_redirections(src, fd, op, target):
    cmd = only_command(src)
    (redirect,) = cmd.redirects
    assert (redirect.fd, redirect.op, literal(redirect.target)) == (fd, op, target)


def test_digits_inside_a_word_are_not_a_descriptor():
    cmd = only_command("echo a2>f")
    assert literal(cmd.words[1]) == "a2"
    assert cmd.redirects[0].fd == 1


def test_assignments_only_before_the_command_name():
    cmd = only_command("A=1 B='x y' env C=3")
    assert [(a.name, literal(a.value)) for a in cmd.assigns] == [("A", "1"), ("B", "x y")]
    assert [literal(w) for w in cmd.words] == ["env", "C=3"]


def test_compound_commands():
    assert isinstance(only_command("{ a; b; }"), Group)
    assert isinstance(only_command("(a; b)"), Subshell)
    node = only_command("if a; then b; elif c; then d; else e; fi")
    assert isinstance(node, If) and len(node.clauses) == 2 and node.orelse is not None
    loop = only_command("for x in 1 2 3; do echo $x; done")
    assert isinstance(loop, For) and [literal(w) for w in loop.items] == ["1", "2", "3"]
    assert only_command("until false; do :; done").until
    assert isinstance(only_command("while true\ndo\n:\ndone"), While)
    case = only_command("case $x in a|b) echo ab;; *) echo other;; esac")
    assert isinstance(case, Case) and len(case.items) == 2
    assert isinstance(only_command("f() { echo hi; }"), FunctionDef)


def test_keywords_are_plain_words_as_arguments():
    assert words_of("echo if then fi done }") == ["echo", "if", "then", "fi", "done", "}"]


# ---- expansions ---------------------------------------------------------------------------------
def test_nested_command_substitutions():
    cmd = only_command('echo $(echo $(echo hi)) `echo bq` "$(echo q)"')
    outer = cmd.words[1].parts[0]
    assert isinstance(outer, CmdSub) and not outer.quoted
    inner = outer.body.items[0].command.first.commands[0].words[1].parts[0]
    assert isinstance(inner, CmdSub)
    assert isinstance(cmd.words[2].parts[0], CmdSub)
    assert cmd.words[3].parts[0].quoted


def test_parameter_forms():
    cmd = only_command("echo $? $$ $# $1 ${x} ${x:-d} ${#x} ${x%%.*} $((1 + $y))")
    parts = [w.parts[0] for w in cmd.words[1:]]
    assert [p.name for p in parts[:6]] == ["?", "$", "#", "1", "x", "x"]
    assert parts[5].op == ":-" and literal(parts[5].arg) == "d"
    assert parts[6].op == "len"
    assert parts[7].op == "%%"
    assert isinstance(parts[8], ArithSub)


def test_case_pattern_paren_inside_command_substitution():
    cmd = only_command("echo $(case a in a) echo yes;; esac)")
    assert isinstance(cmd.words[1].parts[0], CmdSub)


def test_here_document_body_follows_the_line():
    seq = parse("cat <<EOF\nhello $USER\nEOF\necho after")
    first = seq.items[0].command.first.commands[0]
    body = first.redirects[0].heredoc.word
    assert body.parts[0] == Lit("hello ", True) and isinstance(body.parts[1], Param)
    assert len(seq.items) == 2


def test_quoted_here_document_delimiter_keeps_the_body_literal():
    seq = parse("cat <<'EOF'\n$USER\nEOF")
    body = seq.items[0].command.first.commands[0].redirects[0].heredoc
    assert body.literal and body.word.parts == (Lit("$USER\n", True),)


def test_lines_are_handed_out_one_at_a_time():
    parser = Parser("echo a\nif\n")
    assert parser.next_line() is not None
    with pytest.raises(ShellSyntaxError):
        parser.next_line()


# ---- errors: mksh's own wording ---------------------------------------------------------------
@pytest.mark.parametrize("src,message", [
    ("echo 'abc", "no closing quote"),
    ('echo "abc', "no closing quote"),
    ("echo `ls", "no closing quote"),
    ("echo $(ls", "no closing quote"),
    ("echo ${x", "no closing quote"),
    ("if true; then echo", "syntax error: 'if' unmatched"),
    ("while true; do", "syntax error: 'while' unmatched"),
    ("{ echo a", "syntax error: '{' unmatched"),
    ("(echo", "syntax error: '(' unmatched"),
    ("case x in a) echo", "syntax error: 'case' unmatched"),
    ("echo a |", "syntax error: unexpected EOF"),
    ("echo a &&", "syntax error: unexpected EOF"),
    ("fi", "syntax error: 'fi' unexpected"),
    ("done", "syntax error: 'done' unexpected"),
    (")", "syntax error: ')' unexpected"),
    (";", "syntax error: ';' unexpected"),
    ("echo a;;", "syntax error: ';;' unexpected"),
    ("echo >\n", "syntax error: 'newline' unexpected"),
    ("if true; then fi", "syntax error: 'fi' unexpected"),
    ("cat <<EOF", "here document 'EOF' unclosed"),
    ("for 1 in a; do :; done", "for: bad identifier"),
])
def test_syntax_errors(src, message):
    with pytest.raises(ShellSyntaxError) as err:
        parse(src)
    assert str(err.value) == message
