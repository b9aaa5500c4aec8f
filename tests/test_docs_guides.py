"""The guides for clerks and IT people must not promise what the product does not have.

- every picture a guide shows exists, is a PNG, and is made by scripts/render_doc_images.py;
- every relative link (file and #anchor) resolves;
- every `xlz ...` command in a guide exists (parsed from `xlz --help` and its groups'
  help), and so does every `xlwings ...` command;
- every ribbon button the guides name is a button of xlz/addin/macros/customUI14.xml, and every
  button there is explained in both guides;
- the message boxes the install guide quotes are the VBA's own words;
- both guides state plainly what works in WPS and what does not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlz.cli import main as xlz_main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLERK = DOCS / "clerk-guide.md"
INSTALL = DOCS / "install-guide.md"
CHECKLIST = DOCS / "release-checklist.md"
INDEX = DOCS / "README.md"
GUIDES = (CLERK, INSTALL, CHECKLIST, INDEX)
RIBBON = ROOT / "xlz" / "addin" / "macros" / "customUI14.xml"
RENDER_SCRIPT = ROOT / "scripts" / "render_doc_images.py"
BROWSER_TEST = ROOT / "tests" / "test_serve_browser.py"
CUI = "{http://schemas.microsoft.com/office/2009/07/customui}"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code(markdown: str) -> list[str]:
    """Fenced blocks and inline code spans: where commands are written."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", markdown, flags=re.S)
    rest = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return blocks + re.findall(r"`([^`\n]+)`", rest)


# ----------------------------------------------------------------------- pictures


def _images(markdown: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", markdown)


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_picture_exists_and_is_a_png(guide: Path) -> None:
    for ref in _images(_text(guide)):
        path = (guide.parent / ref).resolve()
        assert path.is_file(), f"{guide.name} shows {ref}, which does not exist"
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{ref} is not a PNG"
        assert len(data) > 2000, f"{ref} looks empty"


def test_clerk_guide_pictures_are_reproducible() -> None:
    """Each picture comes from the render script (the workbook's pictures) or the real-browser
    test (the portal's, with XLZ_SCREENSHOTS), and their pictures are all used."""
    shown = {Path(ref).name for ref in _images(_text(CLERK))}
    assert len(shown) >= 4, "the clerk's guide needs its pictures"
    script = _text(RENDER_SCRIPT)
    made = set(re.findall(r'"(clerk-[a-z-]+\.png)"', script))
    shot = set(re.findall(r'"(portal-[a-z-]+\.png)"', _text(BROWSER_TEST)))
    assert shown <= made | shot, (
        f"made by neither {RENDER_SCRIPT.name} nor {BROWSER_TEST.name}: "
        f"{sorted(shown - made - shot)}")
    assert made <= shown, f"rendered but not shown in the guide: {sorted(made - shown)}"
    portal = {"portal-town.png", "portal-result.png", "portal-passed.png"}
    assert portal <= shot and portal <= shown, "the portal path needs the browser's pictures"
    for required in ("clerk-guide-sheet.png", "clerk-dropdown-lists.png",
                     "clerk-flagged-live.png", "clerk-validated-results.png"):
        assert required in shown


# ----------------------------------------------------------------------- links


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → '-'."""
    out = []
    for ch in heading.strip().lower():
        if ch in " -":
            out.append("-" if ch == " " else ch)
        elif unicodedata.category(ch)[0] in "PS":
            continue
        else:
            out.append(ch)
    return "".join(out)


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", _text(path), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M)}


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_links_resolve(guide: Path) -> None:
    text = re.sub(r"```.*?```", "", _text(guide), flags=re.S)
    for target in re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        path = (guide.parent / file_part).resolve() if file_part else guide
        assert path.exists(), f"{guide.name} links to missing {target}"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{guide.name}: no heading for #{anchor} in {path.name}"


# ----------------------------------------------------------------------- commands


def _commands(args: list[str]) -> set[str]:
    result = CliRunner().invoke(xlz_main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    section = result.output.split("命令：", 1)  # click's "Commands:", in Chinese
    if len(section) == 1:
        return set()
    return {line.split()[0] for line in section[1].splitlines() if line.startswith("  ")}


def _xlz_tree() -> dict[str, set[str]]:
    """Top-level command → its subcommands (empty for plain commands)."""
    return {name: _commands([name]) for name in _commands([])}


def _xlz_uses(markdown: str) -> list[tuple[str, str | None]]:
    uses = []
    for code in _code(markdown):
        for m in re.finditer(r"(?<![\w./\\\[-])xlz ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", code):
            uses.append((m.group(1), m.group(2)))
    return uses


def test_clerk_and_install_guides_name_commands() -> None:
    assert {"validate"} <= {c for c, _ in _xlz_uses(_text(CLERK))}
    assert {"templates", "validate", "consolidate", "addin", "serve"} <= {
        c for c, _ in _xlz_uses(_text(INSTALL))}


def test_install_guide_shows_how_the_office_runs_the_portal() -> None:
    text = _text(INSTALL)
    code = "\n".join(_code(text))
    assert re.search(r"xlz serve --data \S+ --init", code)
    assert re.search(r"xlz serve --data \S+ --host 0\.0\.0\.0", code)
    assert ".bat" in text and "netsh advfirewall" in code and "8000" in code
    assert "(portal.md)" in text or "(portal.md#" in text


def test_clerk_guide_walks_the_portal_path() -> None:
    section = _text(CLERK).split("## 网页报送", 1)[1].split("\n## ", 1)[0]
    for step in ("链接", "下载", "模板", "上传并校验", "工作表", "单元格", "已校验并标注的工作簿",
                 "计入", ".et"):
        assert step in section, step


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_xlz_command_exists(guide: Path) -> None:
    tree = _xlz_tree()
    for command, sub in _xlz_uses(_text(guide)):
        assert command in tree, f"{guide.name} names `xlz {command}`, which does not exist"
        if tree[command]:  # a group: the next word must be one of its commands
            assert sub in tree[command], (
                f"{guide.name} names `xlz {command} {sub}`; {command} has {sorted(tree[command])}")


def _xlwings_uses(markdown: str) -> set[tuple[str, str]]:
    uses = set()
    for code in _code(markdown):
        uses |= set(re.findall(r"(?<![\w./\\-])xlwings ([a-z]+) ([a-z]+)", code))
    return uses


def test_every_xlwings_command_exists() -> None:
    uses = _xlwings_uses(_text(INSTALL)) | _xlwings_uses(_text(CLERK))
    assert ("addin", "install") in uses
    exe = shutil.which("xlwings", path=str(Path(sys.executable).parent)) or shutil.which("xlwings")
    if exe is None:
        pytest.skip("xlwings is not installed (pip install -e '.[test]')")
    for group, sub in sorted(uses):
        out = subprocess.run([exe, group, "--help"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        choices = re.search(r"\{([a-z,]+)\}", out.stdout)
        assert choices and sub in choices.group(1).split(","), f"no `xlwings {group} {sub}`"


# ----------------------------------------------------------------------- buttons


def _ribbon() -> tuple[str, list[str]]:
    root = ET.parse(RIBBON).getroot()
    tab = root.find(f".//{CUI}tab")
    assert tab is not None
    return tab.get("label", ""), [b.get("label", "") for b in root.iter(f"{CUI}button")]


def test_ribbon_has_the_four_buttons_the_guides_describe() -> None:
    tab, buttons = _ribbon()
    assert tab == "科技招商"
    assert buttons == ["校验本表", "生成汇总", "清除标记", "关于"]


@pytest.mark.parametrize("guide", (CLERK, INSTALL), ids=lambda p: p.name)
def test_every_button_is_explained(guide: Path) -> None:
    tab, buttons = _ribbon()
    text = _text(guide)
    assert tab in text
    for label in buttons:
        assert f"“{label}”" in text or f"**{label}**" in text, f"{guide.name} omits {label}"


def test_buttons_named_in_tables_exist() -> None:
    """Bold first cells of the clerk guide's button table are real buttons."""
    _, buttons = _ribbon()
    section = _text(CLERK).split("## 按钮", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"^\|\s*\*\*([^*|]+)\*\*\s*\|", section, flags=re.M)
    assert named, "the 按钮 section lost its table"
    assert set(named) <= set(buttons), sorted(set(named) - set(buttons))
    assert set(buttons) <= set(named)


def test_checklist_names_every_button() -> None:
    text = _text(CHECKLIST)
    for label in _ribbon()[1]:
        assert label in text


# ----------------------------------------------------------------------- message boxes


def _vba_literals() -> list[str]:
    literals = []
    for bas in sorted((ROOT / "xlz" / "addin" / "macros").glob("*.bas")):
        for line in _text(bas).splitlines():
            if line.lstrip().startswith("'"):
                continue
            literals += [s.replace('""', '"') for s in re.findall(r'"((?:[^"]|"")*)"', line)]
    return literals


def test_quoted_message_boxes_are_the_vbas_words() -> None:
    text = _text(INSTALL)
    table = text.split("### 加载项的提示框及含义", 1)[1].split("\n#", 1)[0]
    rows = [r for r in table.splitlines() if r.startswith("| ") and not r.startswith("| 提示内容")
            and not r.startswith("|---")]
    assert len(rows) >= 5
    literals = _vba_literals()
    for row in rows:
        first = row.split("|")[1].strip()
        for fragment in re.split(r"[“”…：。]+", first):
            fragment = fragment.strip().strip("。")
            if len(fragment) < 5:
                continue
            assert any(fragment in lit for lit in literals), (
                f"install guide quotes “{fragment}”, which no VBA message contains")


# ----------------------------------------------------------------------- WPS


def test_clerk_guide_states_wps_limits() -> None:
    text = _text(CLERK)
    section = text.split("## 在 WPS 中填报", 1)[1].split("\n## ", 1)[0]
    assert "实时检查" in section and "下拉" in section  # what works
    assert "不能用" in section and "xlwings" in section and "RunPython" in section
    assert "不支持 WPS" in section
    assert "xlz validate" in section  # the way out: the city validates
    assert ".xlsx" in section and ".et" in section


def test_install_guide_states_wps_limits() -> None:
    text = _text(INSTALL)
    assert "RunPython" in text and "不支持 WPS" in text
    assert "WPS 不能使用 xlz.xlam 的按钮" in text and "WPS 加载项" in text
    assert re.search(r"实时检查.*WPS|WPS.*实时检查", text)


def test_install_guide_covers_the_setup_traps() -> None:
    text = _text(INSTALL)
    for phrase in ("Add python.exe to PATH", "xlwings addin install", "受信任位置", "2203",
                   "解除锁定", "noncommercial", "PolyForm Noncommercial", "BSD",
                   "INTERPRETER_WIN", r"%USERPROFILE%\.xlwings\xlwings.conf", "32 位", "64 位",
                   "Excel 加载项", "浏览", "信任中心"):
        assert phrase in text, phrase
