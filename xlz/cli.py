"""The command line: each command is a thin call into one library function.

Exit status (docs/standard.md section 6): 0 fine, 1 findings of severity 错误 /
rejected files, 2 unreadable input or bad usage. One boundary (:class:`XlzGroup`): an
:class:`xlz.core.errors.XlzError` is printed as its Chinese message, anything unexpected
as a Chinese "内部错误" message; both exit 2, and a traceback is printed only when the
environment variable ``XLZ_DEBUG`` is set. ``--json`` prints one JSON document on
stdout; messages for people go to stderr. Heavy modules are imported inside commands so
that ``xlz --help`` and the add-in's button presses start fast.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click

from xlz import __version__

if TYPE_CHECKING:
    from xlz.ops.consolidate import ConsolidationResult

# --- click in Chinese ---------------------------------------------------------------------
# click writes its own text ("Usage:", "Missing option", "Show this message and exit.")
# through ``gettext`` (``from gettext import gettext as _`` in each of its modules). A
# .mo catalogue would only be found through the user's locale variables, which a Windows
# PC does not set, so the Chinese catalogue is bound here, to click's modules only, before
# any option below is declared (some texts are taken at declaration). A msgid missing
# here stays English; tests/test_cli_chinese.py runs every door and catches that.
_CLICK_ZH: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such option {name!r}.": "没有“{name}”这个选项。",
    "No such command {name!r}.": "没有“{name}”这个命令。",
    "Did you mean {possibility}?": "您要输入的是不是 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（您要输入的是不是其中之一：{possibilities}？）",
    "Option {name!r} requires an argument.": "选项“{name}”后面需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项“{name}”后面需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项“{name}”后面不能带值。",
    "Argument {name!r} takes {nargs} values.": "参数“{name}”需要 {nargs} 个值。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "Aborted!": "已中止。",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”实际是一个文件。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”实际是一个文件夹。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”无法读取。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”无法写入。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”无法执行。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "{value!r} is not {choice}.": "“{value}”不是 {choice}。",
    "{value!r} is not one of {choices}.": "“{value}”不是可选值（{choices}）之一。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "“{value}”不是有效的是/否值。可用的值：{states}",
    "Value must be an iterable.": "值必须是一组值。",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问，直接确认。",
    "Press any key to continue...": "按任意键继续……",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
}


def _click_gettext(message: str) -> str:
    return _CLICK_ZH.get(message, message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return _click_gettext(singular if n == 1 else plural)


def _localise_click() -> None:
    import gettext
    import importlib

    for name in ("core", "decorators", "exceptions", "formatting", "parser", "types",
                 "termui", "utils", "shell_completion", "_termui_impl"):
        module = importlib.import_module(f"click.{name}")
        if getattr(module, "_", None) in (gettext.gettext, _click_gettext):
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) in (gettext.ngettext, _click_ngettext):
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


_localise_click()

# Names rather than text: click's metavariables ("[OPTIONS]", "COMMAND [ARGS]...", an
# argument's upper-cased name "FILES..."), the "Options:" heading's colon and the message
# for a missing argument or option, which click glues together with ASCII quotes.
_ARGUMENT_NAMES = {"files": "文件", "sources": "来源"}


class ChineseFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")


class ChineseContext(click.Context):
    formatter_class = ChineseFormatter


def _missing(exc: click.MissingParameter, ctx: click.Context) -> click.UsageError:
    param = exc.param
    if param is None:
        return exc
    if isinstance(param, click.Argument):
        return click.UsageError(f"缺少参数“{param.make_metavar(ctx)}”。", ctx)
    return click.UsageError(f"缺少选项“{' / '.join(param.opts)}”。", ctx)


class ChineseCommand(click.Command):
    """A command whose help and usage errors are Chinese (``xlz validate [选项] 文件...``)."""

    context_class = ChineseContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, click.Argument) and param.metavar is None \
                    and param.name in _ARGUMENT_NAMES:
                param.metavar = _ARGUMENT_NAMES[param.name] + ("..." if param.nargs != 1 else "")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter as exc:
            raise _missing(exc, ctx) from exc


class ChineseGroup(click.Group):
    """A command group whose help and usage errors are Chinese; its commands are
    ChineseCommand and its subgroups of its own class."""

    context_class = ChineseContext
    command_class = ChineseCommand
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter as exc:
            raise _missing(exc, ctx) from exc


PLAN_OPTION = click.option(
    "--plan", "plan_name", default=None, metavar="计划",
    help="计划编号或计划文件路径（默认 rugao-2023）",
)


def _load_plan(name: str | None) -> Any:
    """The plan; a missing or malformed plan file is a PlanError (message, exit 2)."""
    from xlz.core.plan import DEFAULT_PLAN, load_plan

    return load_plan(name or DEFAULT_PLAN)


def _debug() -> bool:
    return os.environ.get("XLZ_DEBUG", "").strip() not in ("", "0")


def _report_unexpected(exc: BaseException, path: str | None = None) -> Any:
    """The PackageError for an unexpected exception; its traceback on stderr only with
    XLZ_DEBUG set (users on Windows must never see one otherwise)."""
    from xlz.core.errors import internal_error

    if _debug():
        traceback.print_exception(exc, file=sys.stderr)
    return internal_error(exc, path)


def _os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (itself, or what a writer such as xlsxwriter wrapped
    it in), or None."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError):
            return seen
        if seen.args and isinstance(seen.args[0], OSError):
            return seen.args[0]
        seen = seen.__cause__ or seen.__context__
    return None


class XlzGroup(ChineseGroup):
    """The command group with the one error boundary of the command line."""

    def invoke(self, ctx: click.Context) -> Any:
        from xlz.core.errors import XlzError

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise  # click's own: usage errors (exit 2), --help, Ctrl-C
        except XlzError as exc:
            if _debug():
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(f"✗ {exc.message}", err=True)
            ctx.exit(2)
        except ImportError as exc:  # a dependency missing from the installation
            from xlz.core.errors import PackageError, make_error

            if _debug():
                traceback.print_exception(exc, file=sys.stderr)
            error = make_error(PackageError, "package.broken", None,
                               what=exc.name or str(exc))
            click.echo(f"✗ {error.message}", err=True)
            ctx.exit(2)
        except Exception as exc:
            click.echo(f"✗ {_report_unexpected(exc).message}", err=True)
            ctx.exit(2)


def run() -> None:
    """The program's entry point (the ``xlz`` command, ``python -m xlz``): :func:`main`,
    then :func:`_leave` instead of the interpreter's own shutdown. Tests call ``main``."""
    try:
        main()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            _leave(done.code or 0)
        raise


def _leave(code: int) -> None:
    """End the process now, with everything of the run written and closed.

    The interpreter's own shutdown frees every object one by one; after a city run that
    is ~0.2 s of a 6 s command (hundreds of thousands of records, rows and findings) for
    nothing the user sees. So, when only this thread is left, the exit handlers run
    (logging, temporary folders, multiprocessing's clean-up), the standard streams are
    flushed, and the process ends with ``os._exit``. Every output file is closed, and
    the ledger committed, before a command returns. Anything unusual (another thread
    still running, a stream that cannot be flushed) takes the normal way out."""
    import atexit
    import threading

    if threading.active_count() != 1:
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: Python reports it the usual way
        return
    os._exit(code)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(cls=XlzGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlz")
def main() -> None:
    """xlz：标准化 Excel/WPS 填报模板的生成、校验、汇总（如皋市科技招商）。"""


@main.command("plan")
@PLAN_OPTION
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供程序读取）")
def plan_command(plan_name: str | None, as_json: bool) -> None:
    """显示当前年度计划：镇区、任务、活动、载体，以及计划文件自身的不一致之处。"""
    from xlz.core.plancheck import check_plan
    from xlz.core.planprint import render_plan

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
    from xlz.core.catalogue import RULES
    from xlz.core.rulesdoc import render_rules_markdown

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


@main.command("templates")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="输出文件夹（13个镇区填报表和市级汇总表模板）")
@PLAN_OPTION
def templates_command(out_dir: str, plan_name: str | None) -> None:
    """生成各镇区填报表和市级汇总表模板（内容确定，可重复生成）。"""
    from xlz.books.templates import build_templates
    from xlz.core.plancheck import check_plan

    plan = _load_plan(plan_name)
    bad = check_plan(plan).errors  # 提醒 (e.g. 附件2's printed 合计) does not stop us
    if bad:
        for finding in bad:
            click.echo(f"计划文件错误：{finding.message}", err=True)
        sys.exit(2)
    for path in build_templates(out_dir, plan):
        click.echo(f"已生成：{path}", err=True)


@main.group("addin")
def addin_group() -> None:
    """Excel 加载项（科技招商选项卡）。"""


@addin_group.command("build")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="输出文件夹")
@click.option("--macros", "macros_dir", default=None, type=click.Path(file_okay=False),
              help="VBA 源文件夹（默认为随 xlz 安装的宏源码）")
def addin_build_command(out_dir: str, macros_dir: str | None) -> None:
    """由随 xlz 安装的 VBA 源码生成 xlz.xlam（含“科技招商”功能区）。"""
    from pathlib import Path

    from xlz.addin import MACROS_DIR, build_addin

    source = Path(macros_dir) if macros_dir else MACROS_DIR
    if not source.is_dir() or not any(source.glob("*.bas")):
        click.echo(f"找不到 VBA 源文件夹“{source}”。请重新安装 xlz，或用 --macros 指定。",
                   err=True)
        sys.exit(2)
    path = build_addin(Path(out_dir), macros_dir=source)
    click.echo(f"已生成加载项：{path}", err=True)


# --- validate / fill (xlz/ops/workbook.py) ------------------------------------------------------


def _run_files(files: tuple[str, ...], label: str, work: Any) -> tuple[list[Any], list[Any]]:
    """Run ``work(path)`` on each file; an XlzError (or anything unexpected, as an
    internal error) → a Chinese message on stderr, and the batch goes on. A progress bar
    (stderr) when there are more than a few files."""
    from xlz.core.errors import XlzError

    results: list[Any] = []
    failures: list[Any] = []

    def one(path: str) -> None:
        try:
            results.append(work(path))
        except XlzError as exc:
            if _debug():
                traceback.print_exception(exc, file=sys.stderr)
            failures.append(exc)
            click.echo(f"✗ {exc.message}", err=True)
        except Exception as exc:
            error = _report_unexpected(exc, path)
            failures.append(error)
            click.echo(f"✗ {error.message}", err=True)

    if len(files) > 3:
        with click.progressbar(files, label=label, file=sys.stderr) as bar:
            for path in bar:
                one(path)
    else:
        for path in files:
            one(path)
    return results, failures


def _describe(result: Any) -> str:
    counts = result.report.counts()
    name = click.format_filename(result.path)
    if result.mode == "skipped":  # xlz's own report workbook (file.own_report)
        return f"{name}：这是 xlz 生成的校验报告，已跳过"
    where = {
        "inplace": "结果已写入原文件（校验提示、校验结果、填报说明）",
        "report": f"原文件未改动，结果另存为 {result.report_path}",
        "check": "仅检查，未写入",
        "fill": "已生成任务分解和载体汇总",
    }[result.mode]
    return f"{name}：错误 {counts['错误']} 条，提醒 {counts['提醒']} 条；{where}"


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--check", is_flag=True, help="只检查，不写入任何文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出全部问题（stdout）")
@PLAN_OPTION
def validate_command(files: tuple[str, ...], check: bool, as_json: bool,
                     plan_name: str | None) -> None:
    """校验填报表：问题写入模板预留的位置（校验提示、校验结果、填报说明）。

    退出码：0 无错误，1 有错误，2 文件无法读取或不是工作簿。"""
    from xlz.ops.workbook import validate

    plan = _load_plan(plan_name) if plan_name else None
    results, failures = _run_files(files, "校验", lambda p: validate(p, check=check, plan=plan))
    if as_json:
        _echo_json({
            "ok": not failures and all(r.ok for r in results),
            "files": [r.to_dict() for r in results],
            "unreadable": [{"path": e.path, "code": e.code, "message": e.message}
                           for e in failures],
        })
    else:
        for r in results:
            click.echo(("✓ " if r.ok else "✗ ") + _describe(r), err=True)
            for f in r.report.errors[:20]:
                click.echo(f"    {f.message}", err=True)
            if len(r.report.errors) > 20:
                click.echo(f"    ……另有 {len(r.report.errors) - 20} 条错误，见“校验结果”", err=True)
    if failures:
        sys.exit(2)
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.command("fill")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果（stdout）")
@PLAN_OPTION
def fill_command(files: tuple[str, ...], as_json: bool, plan_name: str | None) -> None:
    """生成汇总：按填报内容更新“任务分解”和“载体汇总”（恢复被改动的公式）。

    退出码：0 完成，2 有文件无法处理。"""
    from xlz.ops.workbook import fill

    plan = _load_plan(plan_name) if plan_name else None
    results, failures = _run_files(files, "生成汇总", lambda p: fill(p, plan=plan))
    if as_json:
        _echo_json({
            "ok": not failures,
            "files": [r.to_dict() for r in results],
            "unreadable": [{"path": e.path, "code": e.code, "message": e.message}
                           for e in failures],
        })
    else:
        for r in results:
            click.echo("✓ " + _describe(r), err=True)
    sys.exit(2 if failures else 0)


def _echo_behind(result: ConsolidationResult) -> None:
    """Who the office has to call: each town without figures, with its contact."""
    from xlz.core.rounds import missing

    info = result.round_info
    behind = missing(result.consolidation, info.contacts if info else None)
    for state in ("未报送", "未通过校验"):
        towns = [m for m in behind if m.state == state]
        if towns:
            click.echo(f"{state}：{len(towns)} 个镇区（不按 0 计，未参与排名）", err=True)
            for m in towns:
                click.echo(f"  · {m.town.short}　联系人：{m.contact}", err=True)


def _echo_feedback(result: ConsolidationResult, folder: str) -> None:
    if not result.feedback:
        click.echo(f"反馈：没有镇区的文件有错误，未写出反馈（{folder}）", err=True)
    for fb in result.feedback:
        marked = f"，标注后的文件：{fb.marked.name}" if fb.marked else ""
        click.echo(f"反馈：{fb.town} 错误 {fb.errors} 处 → {fb.reply}{marked}", err=True)


_SAID_ALOUD = frozenset({"file.order_uncertain", "file.name_other_town"})


@main.command("consolidate")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="市级汇总表的保存路径（.xlsx）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出汇总摘要（stdout）")
@click.option("--force", is_flag=True,
              help="--out 已存在且不是市级汇总表时也覆盖它（默认拒绝，以免覆盖他人文件）")
@click.option("--ledger", "ledger", type=click.Path(dir_okay=False),
              help="台账文件（默认：市级汇总表旁的“科技招商台账.sqlite”）")
@click.option("--no-ledger", is_flag=True, help="本次汇总不记入台账（如试算）")
@click.option("--period", "period", metavar="YYYY-MM-DD",
              help="本期的截至日期（默认：报送文件中最晚的“数据截至日期”，都没有时取今天）")
@click.option("--feedback", "feedback", type=click.Path(file_okay=False), metavar="文件夹",
              help="为有错误的镇区写出标注后的文件副本和反馈说明（“镇区-反馈”文本），可直接发回")
@PLAN_OPTION
def consolidate_command(sources: tuple[str, ...], out: str, as_json: bool, force: bool,
                        ledger: str | None, no_ledger: bool, period: str | None,
                        feedback: str | None, plan_name: str | None) -> None:
    """汇总各镇区报送：来源可以是文件、文件夹、.zip 压缩包、.eml 邮件，可混合。

    以模板标识识别镇区；同一镇区多次报送以最新的为准；有错误的文件不计入汇总，
    其内容列入“问题清单”。原文件不会被改动；--out 不能是报送文件本身。
    每次汇总记入台账（一期一轮，同一期重新汇总时替换该期），报送文件原样存档在台账旁。

    未报送、未通过校验的镇区逐个列出（附联系人），不按 0 计；“排名”“进度对比”
    “图表”等见市级汇总表。

    退出码：0 全部镇区已报送且通过、没有无法读取的文件；1 本轮不完整：有镇区未报送
    或未通过校验，或有文件无法读取（市级汇总表照常生成，终端列出要联系的镇区）；
    2 没有任何可读的文件。"""
    from xlz.ops.consolidate import consolidate

    plan = _load_plan(plan_name)
    with click.progressbar(length=1, label="读取报送文件", file=sys.stderr, show_pos=True,
                           item_show_func=lambda n: n) as bar:
        def start(total: int) -> None:
            bar.length = max(total, 1)

        def seen(name: str) -> None:
            bar.update(1, name.replace("\\", "/").rsplit("/", 1)[-1][-30:])

        try:
            result = consolidate(list(sources), out, plan, on_file=seen, on_start=start,
                                 force=force, period=period, feedback=feedback,
                                 ledger=False if no_ledger else ledger)
        except Exception as exc:  # the city workbook could not be written (disk full…)
            cause = _os_error_in(exc)
            if cause is None:
                raise
            from xlz.core.errors import output_error

            raise output_error(out, cause) from exc
    c = result.consolidation
    if as_json:
        _echo_json(result.to_dict())
    counts = {state: sum(1 for t in c.towns if t.state == state)
              for state in ("已报送", "未通过校验", "未报送")}
    click.echo(
        f"共读取 {len(c.files)} 个文件；镇区：已报送 {counts['已报送']}，"
        f"未通过校验 {counts['未通过校验']}，未报送 {counts['未报送']}；"
        f"项目 {len(c.projects)} 个，问题 {len(c.issues)} 条。", err=True)
    for f in c.rejected:
        first = f.report.errors[0].message if f.report.errors else ""
        click.echo(f"  ✗ {f.name}：{first}", err=True)
    _echo_behind(result)
    # Whichever file counts for a town on weak evidence (the file time, a tie), and a
    # file whose name names another town: said here too, not only on 问题清单.
    for f in c.files:
        for finding in f.report.findings:
            if finding.code in _SAID_ALOUD:
                click.echo(f"  ⚠ {f.name}：{finding.message}", err=True)
    click.echo(f"市级汇总表：{result.out}", err=True)
    if feedback is not None:
        _echo_feedback(result, feedback)
    if result.round is not None:
        r = result.round
        again = f"，第 {r.revision} 次汇总本期，已替换上次的记录" if r.revision > 1 else ""
        click.echo(f"已记入台账：{r.path}，第 {r.number} 轮（截至 {r.period.isoformat()}；"
                   f"{r.period_text}{again}）", err=True)
    else:
        click.echo("未记入台账（--no-ledger）", err=True)
    sys.exit(result.exit_code)


@main.command("bulletin")
@click.option("--ledger", "ledger", required=True, type=click.Path(dir_okay=False),
              metavar="台账", help="台账文件（汇总时建立在市级汇总表旁边）")
@click.option("--period", "period", metavar="日期",
              help="通报哪一期（截至日期，如 2023-09-30；默认：台账中最新的一期）")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              metavar="通报.docx", help="通报的保存路径（.docx 文档）")
@click.option("--force", is_flag=True, help="--out 已存在时覆盖它（默认拒绝，以免覆盖已修改的通报）")
@PLAN_OPTION
def bulletin_command(ledger: str, period: str | None, out: str, force: bool,
                     plan_name: str | None) -> None:
    """由台账中的一期生成工作进展通报（.docx 文档，公文格式，可修改后印发）。

    内容：总体进展（对照方案正文的全市目标）、各镇区完成情况和排名、进度滞后的镇区、
    新增项目、附件3活动开展情况、存在的问题。数字与该期市级汇总表一致。

    退出码：0 已生成；2 台账不存在或不是台账、台账中没有这一期、--out 无法写入。"""
    from xlz.ops.bulletin import make_bulletin

    result = make_bulletin(ledger, out, period=period, force=force,
                           plan=_load_plan(plan_name) if plan_name else None)
    f = result.facts
    click.echo(f"已生成通报：{result.out}（第 {f.number} 期，截至 {f.period.isoformat()}；"
               f"{f.counted}/{f.town_count} 个镇区计入汇总）", err=True)
    click.echo(str(result.out))


@main.command("serve")
@click.option("--data", "data", required=True, type=click.Path(file_okay=False),
              metavar="文件夹", help="门户的数据文件夹（台账、报送文件存档、口令、链接）")
@click.option("--init", is_flag=True, help="建立数据文件夹：管理口令、各镇区报送链接（报送链接.xlsx）")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", metavar="地址",
              help="--init/--reissue：各镇区在浏览器中访问本机的地址，写进链接（默认本机 8000 端口）")
@click.option("--revoke", "revoke", metavar="镇区", help="作废该镇区的报送链接")
@click.option("--reissue", "reissue", metavar="镇区", help="为该镇区发放新链接（旧链接立即作废）")
@click.option("--json", "as_json", is_flag=True, help="--init/--reissue：以 JSON 输出口令和链接")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="地址",
              help="监听地址（局域网内访问用 0.0.0.0，并在防火墙开放端口）")
@click.option("--port", default=8000, show_default=True, type=int, metavar="端口号",
              help="端口")
@click.option("--max-upload-mb", default=20, show_default=True, type=int, metavar="兆字节",
              help="单个上传文件的大小上限（兆字节）")
@PLAN_OPTION
def serve_command(data: str, init: bool, base_url: str, revoke: str | None,
                  reissue: str | None, as_json: bool, host: str, port: int,
                  max_upload_mb: int, plan_name: str | None) -> None:
    """网页报送门户：各镇区用浏览器下载模板、上传填报表、立即看到校验结果；
    市科技局登录后查看报送情况、一键生成市级汇总表。

    先运行一次 --init 建立数据文件夹（口令和链接只显示这一次），再不带 --init 启动。"""
    from xlz.ops import portal

    plan = _load_plan(plan_name) if plan_name else None
    if init or reissue:
        setup = (portal.init_portal(data, plan, base_url=base_url) if init
                 else portal.reissue(data, reissue or "", plan))
        if as_json:
            _echo_json(setup.to_dict())
            return
        if setup.password:
            click.echo(f"管理口令：{setup.password}（只显示这一次，请妥善保存）")
            click.echo(f"接口令牌（/api/status）：{setup.api_token}")
        for link in setup.links:
            click.echo(f"{link.name}：{link.url}")
        if setup.links_workbook:
            click.echo(f"各镇区链接已写入：{setup.links_workbook}", err=True)
        return
    if revoke:
        town = portal.revoke(data, revoke, plan)
        click.echo(f"已作废{town.name}的报送链接；用 --reissue {town.short} 发放新链接。")
        return
    try:
        import uvicorn

        from xlz.web.server import create_app
    except ImportError as exc:
        from xlz.core.errors import PackageError, make_error

        raise make_error(PackageError, "portal.not_installed", None,
                         what=exc.name or str(exc)) from exc
    app = create_app(data, plan, max_upload=max_upload_mb * 1024 * 1024)
    click.echo(f"网页报送已启动：http://{host}:{port}/office（按 Ctrl+C 停止）", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command("demo")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="演示输出文件夹（模板、收件箱、市级汇总表）")
def demo_command(out: str) -> None:
    """演示：生成模板和一个按方案数字填好的示例收件箱，校验并汇总，给出市级汇总表。"""
    from xlz.ops.demo import DEMO_STORY, run_demo

    click.echo("正在生成模板和示例收件箱（约需一两分钟）……", err=True)
    city, result = run_demo(out)
    c = result.consolidation
    click.echo(DEMO_STORY, err=True)
    for t in c.towns:
        projects = next((p for p in t.progress if p.metric == "projects"), None)
        done = projects.done if projects and t.state == "已报送" else "—"  # never 0
        figure = f"{done}/{projects.target}" if projects else ""
        click.echo(f"  {t.town.short:<6} {t.state:<6} 项目 {figure}", err=True)
    click.echo(f"市级汇总表：{city}（6月的一期在旁边）", err=True)
    for fb in result.feedback:
        click.echo(f"反馈（{fb.town}）：{fb.reply}", err=True)
    for path in sorted(city.parent.glob("通报*.docx")):
        click.echo(f"通报：{path}", err=True)
    if result.round is not None:
        click.echo(f"台账：{result.round.path}（共 {result.round.number} 期）", err=True)
    click.echo(str(city))
