"""The command line: each command is a thin call into one library function.

Exit status (template-standard.md section 6): 0 fine, 1 findings of severity 错误 /
rejected files, 2 unreadable input or bad usage. ``--json`` prints one JSON document on
stdout; messages for people go to stderr. Heavy modules are imported inside commands so
that ``xlz --help`` and the add-in's button presses start fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from xlz import __version__

PLAN_OPTION = click.option(
    "--plan", "plan_name", default=None, metavar="计划",
    help="计划编号或计划文件路径（默认 rugao-2023）",
)


def _load_plan(name: str | None) -> Any:
    from xlz._plan import DEFAULT_PLAN, load_plan

    try:
        return load_plan(name or DEFAULT_PLAN)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        click.echo(f"计划文件格式错误：{exc}", err=True)
        sys.exit(2)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlz")
def main() -> None:
    """xlz：标准化 Excel/WPS 填报模板的生成、校验、汇总（如皋市科技招商）。"""


@main.command("plan")
@PLAN_OPTION
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供程序读取）")
def plan_command(plan_name: str | None, as_json: bool) -> None:
    """显示当前年度计划：镇区、任务、活动、载体，以及计划文件自身的不一致之处。"""
    from xlz._plancheck import check_plan
    from xlz._planprint import render_plan

    plan = _load_plan(plan_name)
    report = check_plan(plan)
    if as_json:
        data = plan.model_dump(mode="json")
        data["checks"] = report.to_dict()
        _echo_json(data)
    else:
        click.echo(render_plan(plan, report))


@main.command("rules")
@PLAN_OPTION
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.option("--markdown", is_flag=True, help="输出 docs/rules.md 的内容")
def rules_command(plan_name: str | None, as_json: bool, markdown: bool) -> None:
    """列出全部校验规则：代码、严重程度、标题、消息模板。"""
    from xlz._catalogue import RULES
    from xlz._rulesdoc import render_rules_markdown

    plan = _load_plan(plan_name)
    if markdown:
        click.echo(render_rules_markdown(plan), nl=False)
        return
    if as_json:
        _echo_json([
            {"code": r.code, "severity": r.severity.value, "check": r.check.value,
             "sheet": r.sheet, "field": r.field, "reads": list(r.reads), "title": r.title,
             "message": r.message}
            for r in RULES.values()
        ])
        return
    for r in RULES.values():
        where = f"{r.sheet}·" if r.sheet else ""
        click.echo(f"{r.code:<36} {r.severity.value}  {where}{r.title}")


@main.group("addin")
def addin_group() -> None:
    """Excel 加载项（科技招商选项卡）。"""


@addin_group.command("build")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="输出文件夹")
@click.option("--macros", "macros_dir", default=None, type=click.Path(file_okay=False),
              help="VBA 源文件夹（默认为源码中的 macros/）")
def addin_build_command(out_dir: str, macros_dir: str | None) -> None:
    """由 macros/ 中的 VBA 源码生成 xlz.xlam（含“科技招商”功能区）。"""
    from pathlib import Path

    from xlz.addin import MACROS_DIR, build_addin

    source = Path(macros_dir) if macros_dir else MACROS_DIR
    if not source.is_dir() or not any(source.glob("*.bas")):
        click.echo(f"找不到 VBA 源文件夹“{source}”。请在 xlz 源码目录中运行，或用 --macros 指定。",
                   err=True)
        sys.exit(2)
    path = build_addin(Path(out_dir), macros_dir=source)
    click.echo(f"已生成加载项：{path}", err=True)
