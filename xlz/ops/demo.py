"""``xlz demo``: the whole weekly job on a sample inbox made from the seed's own figures.

Every town's entries meet exactly its 附件2 row (projects, patents, platforms, funds),
its carriers are the 附件4 rows (level, type and specialty from the plan) and its
activities are the 附件3 rows it hosts, plus one activity of its own. Deterministic: the
same seed gives the same inbox.

The inbox holds what a real week brings (said in the printed summary too):

- 高新区 reports twice: an older file in an email (a GBK RFC 2231 attachment name),
  then the final one in a zip with GBK member names — the zip wins, the email is listed
  as superseded with what changed;
- 石庄镇 first sends an email without the attachment, then one with it (RFC 2047 name);
- 磨头镇's file was renamed to “新建 Microsoft Excel 工作表 (2).xlsx” — it is still
  recognised from the template metadata;
- 九华镇's file has 错误 (a project without 项目类别, a registered one without 企业名称):
  it is 未通过校验, its rows go to 问题清单, and 九华镇's targets show as not met.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import random
import urllib.parse
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xlz.core.cells import CellValue
from xlz.core.plan import Plan, Town

Entries = dict[str, list[dict[str, CellValue]]]

DEMO_SEED = 2023
ERROR_TOWN = "jiuhua"
RENAMED_TOWN = "motou"
RESUBMIT_TOWN = "gaoxin"
FORGOT_TOWN = "shizhuang"
LATE_TOWN = "jiangan"  # reported in June, has not sent its September figures
JUNE = (6, 30)  # the first round's 数据截至日期; the second is the end of September

_ORIGINS = ("上海", "苏南", "北京", "深圳", "杭州", "长三角其他地区", "国内其他地区", "境外")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("明", "华", "强", "伟", "芳", "军", "磊", "洋", "静", "杰", "涛", "超", "勇", "敏")
_WORDS = ("智能", "精密", "新材", "光电", "氢源", "储能", "生物", "健康", "芯", "视觉",
          "数控", "纳米", "膜", "激光", "传感", "云端", "绿能", "微电子")
_SUFFIX = ("科技", "新材料", "智能装备", "生物科技", "光电", "能源科技", "半导体")
_AREA = {"新建载体": 20000, "盘活厂房": 14000, "升级": 9000}


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` split into ``parts`` non-negative whole numbers, exactly."""
    if parts == 0:
        return []
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def sample_entries(plan: Plan, town_code: str, seed: int = DEMO_SEED, *,
                   pipeline: int = 2) -> Entries:
    """Entries for one town that meet exactly its 附件2 row and hold its 附件4 carriers."""
    rng = random.Random(f"{seed}-{town_code}")
    town = plan.town(town_code)
    target = plan.target(town_code)
    carriers = plan.carriers_of(town_code)
    fields = [f.name for f in plan.fields]
    projects: list[dict[str, CellValue]] = []
    names: set[str] = set()

    def project(category: str, status: str) -> dict[str, CellValue]:
        while True:
            name = f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}{rng.choice(_SUFFIX)}项目"
            name = f"{town.short[:2]}{name}" if name in names else name
            if name not in names:
                names.add(name)
                break
        field = rng.choice(fields)
        signed = status != "洽谈中"
        row: dict[str, CellValue] = {
            "seq": len(projects) + 1, "name": name, "category": category, "field": field,
            "direction": rng.choice(next(f.directions for f in plan.fields if f.name == field)),
            "origin": rng.choice(_ORIGINS), "status": status,
            "investment": rng.randrange(500, 20000, 100),
            "contact": _person(rng), "phone": f"139{rng.randrange(10**7, 10**8)}",
        }
        if signed:
            row["signed"] = dt.date(plan.year, rng.randint(1, 11), rng.randint(1, 28))
        if category in ("科创类", "人才类"):
            row["prereview"] = "预审通过" if signed else "未预审"
        if category == "人才类":
            row["leader"] = _person(rng)
        if category in ("平台类", "基金类"):
            row["host"] = rng.choice(("中国科学院", "南京大学", "东南大学", "上海交通大学",
                                      "深创投", "元禾控股")) + ("研究院" if category == "平台类" else "")
        if status in ("已注册", "已投产"):
            row["company"] = f"如皋{name.removesuffix('项目')}有限公司"
        if carriers and rng.random() < 0.4:
            row["carrier"] = rng.choice(carriers).name
        return row

    count = target.projects or 0
    inventions = _split(target.invention_patents or 0, count, rng)
    utilities = _split(target.utility_patents or 0, count, rng)
    for i in range(count):
        row = project(rng.choice(("科创类", "科创类", "人才类", "服务类")),
                      rng.choice(("已签约", "已注册", "已投产")))
        row["invention_patents"] = inventions[i]
        row["utility_patents"] = utilities[i]
        projects.append(row)
    for category, n in (("平台类", target.platform or 0), ("基金类", target.fund or 0)):
        projects.extend(project(category, "已签约") for _ in range(n))
    projects.extend(project("科创类", "洽谈中") for _ in range(pipeline))
    # 填报信息 (standard 2): the figures stand at the end of September.
    # Own random streams, so the rows before standard 2 stay what they were.
    other = random.Random(f"{seed}-{town_code}-guide")
    guide: dict[str, CellValue] = {"reporter": _person(other), "phone": f"0513-{other.randrange(10**7, 10**8)}",
             "as_of": dt.date(plan.year, 9, 30)}
    return {"project": projects, "carrier": _carriers(plan, town_code, rng),
            "activity": _activities(plan, town, rng), "guide": [guide]}


def _carriers(plan: Plan, town_code: str, rng: random.Random) -> list[dict[str, CellValue]]:
    rows: list[dict[str, CellValue]] = []
    accredit = random.Random(f"accredit-{town_code}")  # apart from rng: see sample_entries
    for i, c in enumerate(plan.carriers_of(town_code), start=1):
        rows.append({
            "seq": i, "name": c.name, "method": c.method, "level": c.level, "type": c.type,
            "specialty": c.specialty, "area": _AREA[c.method] + rng.randrange(0, 6000, 500),
            "progress": rng.choice(("在建", "建成运营")),
        })
        # Some operating carriers won the accreditation they were planned for this year.
        if rows[-1]["progress"] == "建成运营" and c.level and accredit.random() < 0.5:
            rows[-1]["accreditation"] = c.level
            rows[-1]["accredited_on"] = dt.date(plan.year, accredit.randint(3, 9),
                                                accredit.randint(1, 28))
        else:
            rows[-1]["accreditation"] = "无"
    return rows


def _activities(plan: Plan, town: Town, rng: random.Random) -> list[dict[str, CellValue]]:
    rows: list[dict[str, CellValue]] = []
    for a in plan.activities:
        if town.code not in a.host_towns or (a.month is None and "各镇" in a.host):
            continue
        rows.append({"name": a.name, "month": a.month or "全年", "host": a.host,
                     "type": "专题招商", "state": "已举办" if (a.month or 0) < 12 else "计划",
                     "matched": rng.randint(3, 12), "signed": rng.randint(0, 3)})
    rows.append({"name": f"{town.short}科技招商专场推介会", "month": rng.randint(3, 11),
                 "host": town.short, "type": "专场招商", "state": "已举办",
                 "matched": rng.randint(5, 15), "signed": rng.randint(1, 4)})
    for i, row in enumerate(rows, start=1):
        row["seq"] = i
    return rows


# ------------------------------------------------------------------------ mistakes


def with_errors(entries: Entries) -> Entries:
    """Two 错误 a clerk really makes: a category left empty, a registered project
    without its company name."""
    projects = [dict(p) for p in entries["project"]]
    projects[3]["category"] = None
    registered = next(p for p in projects if p.get("status") == "已注册")
    registered["company"] = None
    return {**entries, "project": projects}


def older_version(entries: Entries) -> Entries:
    """What the town had in June: fewer projects, one still being negotiated."""
    projects = [dict(p) for p in entries["project"][:-8]]
    projects[0]["status"] = "洽谈中"
    projects[0].pop("signed", None)
    projects[0].pop("company", None)
    return {**entries, "project": projects}


# ------------------------------------------------------------------------ containers


def eml_bytes(subject: str, date: dt.datetime, attachments: Sequence[tuple[str, bytes]],
              *, name_style: str = "rfc2231", charset: str = "GBK") -> bytes:
    """A saved email as a Chinese mail client writes it: subject as a GBK encoded-word,
    attachment names in RFC 2231 (``filename*=GBK''…``) or RFC 2047 form."""
    boundary = "----=_xlz_demo_boundary"

    def words(text: str) -> str:
        return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="

    lines = [
        "From: =?UTF-8?B?" + base64.b64encode("镇区科技招商办".encode()).decode()
        + "?= <town@example.gov.cn>",
        "To: kjzs@example.gov.cn",
        f"Subject: {words(subject)}",
        f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S %z')}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        f"Content-Type: text/plain; charset={charset}",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode("附件为本镇区科技招商填报表，请查收。".encode(charset)).decode(),
    ]
    for name, data in attachments:
        if name_style == "rfc2231":
            quoted = urllib.parse.quote(name.encode(charset), safe="")
            disposition = f"attachment; filename*={charset}''{quoted}"
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            disposition = f'attachment; filename="{words(name)}"'
            ctype = f'application/octet-stream; name="{words(name)}"'
        lines += [f"--{boundary}", f"Content-Type: {ctype}",
                  f"Content-Disposition: {disposition}", "Content-Transfer-Encoding: base64", ""]
        encoded = base64.b64encode(data).decode()
        lines += [encoded[i:i + 76] for i in range(0, len(encoded), 76)]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


class _GbkZipInfo(zipfile.ZipInfo):
    """Python writes non-ASCII names as UTF-8 with flag 0x800; Chinese Windows
    archivers (WinRAR, 360压缩, the Explorer) write GBK bytes without the flag."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def gbk_zip_bytes(members: Sequence[tuple[str, bytes]], when: dt.datetime) -> bytes:
    """A zip as Chinese Windows archivers write it: GBK names, no UTF-8 flag."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = _GbkZipInfo(name, when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def _set_time(path: Path, when: dt.datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


# ------------------------------------------------------------------------ the demo


def june_entries(plan: Plan, town_code: str, seed: int = DEMO_SEED) -> Entries:
    """What a town had at the end of June: :func:`older_version` (fewer projects, one
    still 洽谈中), its figures standing at June 30."""
    entries = older_version(sample_entries(plan, town_code, seed))
    guide = [{**g, "as_of": dt.date(plan.year, *JUNE)} for g in entries.get("guide", [])]
    return {**entries, "guide": guide} if guide else entries


def build_june_inbox(plan: Plan, inbox: Path, seed: int = DEMO_SEED) -> None:
    """The first round's inbox: every town's June file, plainly in the folder."""
    from xlz.books.common import town_file_name
    from xlz.books.townbook import build_town_workbook

    inbox.mkdir(parents=True, exist_ok=True)
    tz = dt.timezone(dt.timedelta(hours=8))
    for i, town in enumerate(plan.towns):
        path = inbox / town_file_name(plan, town)
        build_town_workbook(plan, town.code, path, june_entries(plan, town.code, seed))
        _set_time(path, dt.datetime(plan.year, 7, 3 + i % 5, 9, 0, tzinfo=tz))


def build_inbox(plan: Plan, inbox: Path, seed: int = DEMO_SEED) -> dict[str, Any]:
    """Write the sample inbox (the second round: September); returns what was put where
    (for the summary and tests). 江安镇 (:data:`LATE_TOWN`) has sent nothing yet."""
    from xlz.books.common import town_file_name
    from xlz.books.townbook import build_town_workbook

    inbox.mkdir(parents=True, exist_ok=True)
    tz = dt.timezone(dt.timedelta(hours=8))
    staging = inbox.parent / ".xlz-demo-staging"
    staging.mkdir(exist_ok=True)

    def workbook(code: str, entries: Mapping[str, Any]) -> bytes:
        path = staging / f"{code}.xlsx"
        build_town_workbook(plan, code, path, entries)
        data = path.read_bytes()
        path.unlink()
        return data

    notes: dict[str, Any] = {}
    for i, town in enumerate(plan.towns):
        if town.code == LATE_TOWN:
            continue
        entries = sample_entries(plan, town.code, seed)
        final_time = dt.datetime(plan.year, 12, 10 + i % 10, 9 + i % 8, 30, tzinfo=tz)
        name = town_file_name(plan, town)
        if town.code == RESUBMIT_TOWN:
            older = workbook(town.code, older_version(entries))
            (inbox / f"{town.short}上半年报送.eml").write_bytes(eml_bytes(
                f"{town.short}科技招商填报表（上半年）", dt.datetime(plan.year, 6, 30, 17, 5,
                                                                  tzinfo=tz),
                [(f"{town.short}科技招商填报表（6月）.xlsx", older)]))
            archive = inbox / f"{town.short}全年报送.zip"
            archive.write_bytes(gbk_zip_bytes(
                [(f"{town.short}报送/{town.short}科技招商填报表（终稿）.xlsx",
                  workbook(town.code, entries))], final_time.replace(tzinfo=None)))
            _set_time(archive, final_time)
            notes["resubmission"] = (archive.name, f"{town.short}上半年报送.eml")
            continue
        if town.code == FORGOT_TOWN:
            (inbox / f"{town.short}报送（忘带附件）.eml").write_bytes(eml_bytes(
                f"{town.short}科技招商填报表", final_time - dt.timedelta(hours=1), []))
            (inbox / f"{town.short}报送.eml").write_bytes(eml_bytes(
                f"{town.short}科技招商填报表（补发附件）", final_time,
                [(name, workbook(town.code, entries))], name_style="rfc2047"))
            continue
        if town.code == ERROR_TOWN:
            entries = with_errors(entries)
        if town.code == RENAMED_TOWN:
            name = "新建 Microsoft Excel 工作表 (2).xlsx"
        path = inbox / name
        path.write_bytes(workbook(town.code, entries))
        _set_time(path, final_time)
    staging.rmdir()
    return notes


def run_demo(out_dir: str | os.PathLike[str], plan: Plan | None = None,
             seed: int = DEMO_SEED) -> tuple[Path, Any]:
    """Templates and two rounds in one ledger: June (every town), then September (more
    progress, a status change, new projects, 江安镇 missing, 九华镇 with 错误 and its
    feedback), and the bulletin on September. Returns (city workbook, result of the
    second round); the June workbook and the bulletin lie beside it."""
    from xlz.books.templates import build_templates
    from xlz.core.plan import load_plan
    from xlz.ops.bulletin import make_bulletin
    from xlz.ops.consolidate import consolidate

    active = plan or load_plan()
    out = Path(out_dir)
    build_templates(out / "模板", active)
    june = out / "收件箱-6月"
    build_june_inbox(active, june, seed)
    name = f"{active.year}年{active.city}科技招商汇总表"
    consolidate([june], out / f"{name}（6月）.xlsx", active, force=True)
    inbox = out / "收件箱"
    build_inbox(active, inbox, seed)
    city = out / f"{name}.xlsx"
    result = consolidate([inbox], city, active, force=True, feedback=out / "反馈")
    assert result.round is not None
    make_bulletin(result.round.path, out / f"通报（截至{result.round.period:%Y-%m-%d}）.docx",
                  plan=active, force=True)
    return city, result


DEMO_STORY = (
    "演示共汇总两轮，记入同一台账：6月（收件箱-6月，13个镇区都已报送）和9月（收件箱）。\n"
    "9月收件箱中的情况：\n"
    "  · 各镇区比6月多报送了项目，6月洽谈中的项目已签约（见“进度对比”“项目变化”）；\n"
    "  · 江安镇还没有报送9月的数据：列为未报送（不按 0 计），联系人取自它6月的报送；\n"
    "  · 高新区先用邮件报送了6月的旧版本，后在压缩包中报送终稿：以终稿为准，旧版本列入“被替换的文件”；\n"
    "  · 石庄镇第一封邮件忘带附件（列入问题清单），随后补发；\n"
    "  · 磨头镇的文件被改名为“新建 Microsoft Excel 工作表 (2).xlsx”，仍按模板标识识别；\n"
    "  · 九华镇的文件有错误（项目类别为空、已注册项目缺企业名称）：未通过校验，不计入汇总，"
    "因此九华镇的任务显示为未完成；发回九华镇的标注文件和反馈说明在“反馈”文件夹中。\n"
    "通报（.docx 文档）由台账中的9月一期生成，可修改后印发。\n"
)
