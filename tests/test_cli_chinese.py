"""click's own text (usage lines, headings, usage errors, --help and --version) is
Chinese like the rest of the command line, and usage errors exit with 2."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from xlz.cli import main

# ASCII words that are ours, not click's: command and option names, formats, names.
OURS = {"xlz", "Excel", "WPS", "JSON", "json", "stdout", "xlsx", "zip", "eml", "xlam",
        "VBA", "rugao", "docs", "md", "docx", "sqlite", "YYYY", "MM", "DD", "bat", "http",
        "https", "HTTP", "API"}
# click's English (msgids and metavariables) that must not come through.
CLICK_ENGLISH = re.compile(
    r"Usage|Options|Commands|Error|Missing|Show this|Show the|Try |for help|No such|"
    r"Invalid value|required|version|Did you mean|Aborted|OPTIONS|COMMAND|ARGS|FILES|"
    r"SOURCES|PATH|DIRECTORY|TEXT|argument|option ")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


NAMES = {name for path in _commands(main) for name in path}


def _english(text: str) -> list[str]:
    """What is left of ``text`` that reads as English: click's phrases, and any ASCII word
    that is neither an option, a command name nor one of ours."""
    stripped = re.sub(r"(?<![\w-])--?[a-z][\w-]*", " ", text)  # --out, -h
    found = CLICK_ENGLISH.findall(stripped)
    words = set(re.findall(r"[A-Za-z_]{2,}", stripped)) - OURS - NAMES
    return found + sorted(words)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), prog_name="xlz")
    return result.exit_code, result.output


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "xlz")
def test_help_is_chinese(path: tuple[str, ...]) -> None:
    code, out = _run(*path, "--help")
    assert code == 0
    assert out.startswith(f"用法：xlz {' '.join(path)}".rstrip() + " [选项]")
    assert "选项：" in out and "显示本帮助并退出。" in out
    assert _english(out) == [], out


def test_version_is_chinese() -> None:
    code, out = _run("--version")
    assert (code, _english(out)) == (0, [])
    assert "版本" in out and "显示版本号并退出。" in _run("--help")[1]


USAGE_ERRORS = {
    ("validate",): "错误：缺少参数“文件...”。",
    ("fill",): "错误：缺少参数“文件...”。",
    ("consolidate", "收件箱"): "错误：缺少选项“--out”。",
    ("consolidate",): "错误：缺少参数“来源...”。",
    ("templates",): "错误：缺少选项“--out”。",
    ("validate", "--nope", "a.xlsx"): "错误：没有“--nope”这个选项。",
    ("templates", "--out"): "错误：选项“--out”后面需要一个值。",
    ("validata", "a.xlsx"): "错误：没有“validata”这个命令。",
    ("addin",): "用法：xlz addin [选项] 命令 [参数]...",
    ("plan", "extra"): "错误：多余的参数（extra）",
}


@pytest.mark.parametrize("args", list(USAGE_ERRORS), ids=" ".join)
def test_usage_errors_are_chinese_and_exit_2(args: tuple[str, ...]) -> None:
    code, out = _run(*args)
    assert code == 2, out
    assert USAGE_ERRORS[args] in out
    if args not in (("addin",), ("templates", "--out")):  # a group shows its help; click
        assert "查看帮助。" in out  # gives no hint for an option's missing value
    assert _english(out.replace("extra", "").replace("validata", "")) == [], out
