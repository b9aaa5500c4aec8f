"""The plan transcription, figure by figure against the seed document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlz import check_plan, load_plan, render_direction
from xlz.cli import main

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_45cfed530a90b8e8.txt"
PLAN = load_plan()

# 附件2 as printed: 镇区, 总数, 发明专利实审数, 实用新型专利授权数, 平台类, 基金类 (None = blank).
ATTACHMENT2 = [
    ("丁堰镇", 22, 22, 110, None, None),
    ("东陈镇", 19, 19, 95, None, None),
    ("白蒲镇", 24, 24, 120, None, None),
    ("下原镇", 24, 24, 120, None, None),
    ("吴窑镇", 19, 19, 95, None, None),
    ("磨头镇", 24, 24, 120, None, None),
    ("九华镇", 24, 24, 120, None, None),
    ("石庄镇", 19, 19, 95, None, None),
    ("江安镇", 24, 24, 120, None, None),
    ("搬经镇", 19, 19, 95, None, None),
    ("长江镇（如皋港工业园区）", 55, 55, 275, 1, 1),
    ("经济技术开发区（城北街道）", 55, 55, 275, 1, 1),
    ("高新区（如城街道、城南街道）", 70, 70, 350, 1, 2),
]
METRICS = ("projects", "invention_patents", "utility_patents", "platform", "fund")


def test_attachment2_rows_as_printed() -> None:
    rows = PLAN.attachment2.rows
    assert [r.label for r in rows] == [r[0] for r in ATTACHMENT2]
    for row, printed in zip(rows, ATTACHMENT2, strict=True):
        assert tuple(row.get(m) for m in METRICS) == printed[1:], row.label


def test_attachment2_printed_total_kept() -> None:
    total = PLAN.attachment2.printed_total
    assert total.label == "合计"
    assert tuple(total.get(m) for m in METRICS) == (400, 400, 2000, 3, 4)


def test_city_targets() -> None:
    t = PLAN.city_targets
    assert (t.projects, t.platform, t.fund) == (370, 3, 4)
    assert t.incubation_area_m2 == 400_000
    assert (t.new_national_incubators, t.new_provincial_incubators) == (1, 1)
    assert PLAN.staffing.city_center_min == 3 and PLAN.staffing.town_min == 2


def test_thirteen_towns_with_stable_codes_and_aliases() -> None:
    assert len(PLAN.towns) == 13
    assert len({t.code for t in PLAN.towns}) == 13
    for alias, code in [("高新区", "gaoxin"), ("开发区", "kaifaqu"), ("长江镇", "changjiang"),
                        ("如皋港工业园区", "changjiang"), ("城北街道", "kaifaqu"),
                        ("如城街道", "gaoxin"), ("城南街道", "gaoxin"), ("丁堰镇", "dingyan"),
                        ("经济技术开发区（城北街道）", "kaifaqu"), ("长江镇(如皋港工业园区)", "changjiang"),
                        (" 丁 堰 镇 ", "dingyan")]:
        town = PLAN.resolve_town(alias)
        assert town is not None and town.code == code, alias
    assert PLAN.resolve_town("南通市") is None
    # every town name used in 附件3 and 附件4 resolves
    for carrier in PLAN.carriers:
        resolved = PLAN.resolve_town(carrier.town_label)
        assert resolved is not None and resolved.code == carrier.town


def test_categories_fields_parks() -> None:
    assert PLAN.category_names == ("科创类", "人才类", "平台类", "服务类", "基金类")
    assert [f.name for f in PLAN.fields] == [
        "精密光学制造", "高端装备制造", "光电及泛半导体", "前沿新材料", "氢能",
        "汽车及核心零部件", "储能节能", "合成生物学", "大健康"]
    assert PLAN.field_names[-1] == "其他"
    assert len(PLAN.parks) == 7
    parks = {p.name: p.fields for p in PLAN.parks}
    assert parks["沪苏科创产业园"] == ("精密光学制造", "高端装备制造")
    assert parks["长寿未来农业园"] == ("合成生物学", "大健康")
    assert parks["电力及智能装备产业园"] == ("储能节能",)


def test_activities_attachment3() -> None:
    acts = PLAN.activities
    assert [a.seq for a in acts] == list(range(1, 21))
    assert acts[0].name == "如皋市科创载体建设推进会" and acts[0].month == 2
    assert acts[6].time == "全年" and acts[6].month is None
    assert set(acts[6].host_towns) == {"gaoxin", "kaifaqu", "changjiang"}
    assert acts[12].name == "如皋市科技·人才洽谈会" and acts[12].host == "市委市政府"
    assert len(acts[19].host_towns) == 13
    months = [a.month for a in acts]
    assert months == [2, 2, 3, 3, 4, 5, None, 6, 7, 7, 8, 9, 10, 10, 10, 10, 11, 11, 12, None]


def test_carriers_attachment4_and_direction_rendering() -> None:
    carriers = PLAN.carriers
    assert len(carriers) == 25
    by_town: dict[str, int] = {}
    for c in carriers:
        by_town[c.town_label] = by_town.get(c.town_label, 0) + 1
        assert render_direction(c.level, c.type, c.specialty) == c.direction
    assert by_town == {"高新区": 9, "开发区": 3, "长江镇": 2, "搬经镇": 1, "丁堰镇": 1,
                       "江安镇": 1, "磨头镇": 2, "吴窑镇": 4, "下原镇": 2}
    assert carriers[1].direction == "省级专业孵化器（合成生物）"
    assert carriers[8].method == "升级" and carriers[8].direction == "国家级孵化器"
    assert carriers[6].direction == "" and carriers[6].level is None


def test_leading_group_attachment1() -> None:
    lg = PLAN.leading_group
    assert lg.leader[0].name == "王鸣昊"
    assert [p.name for p in lg.deputies] == ["顾留忠", "陈鸣华", "杜晓峰", "唐余宽"]
    assert len(lg.members) == 29
    assert lg.office.head == "丛明昌"


def test_every_printed_figure_appears_in_the_seed() -> None:
    """Cross-check against the seed text itself: names and figures are really there."""
    if not SEED.exists():
        pytest.skip("seed document not beside the checkout")
    text = SEED.read_text(encoding="utf-8")
    for row in PLAN.attachment2.rows:
        assert row.label in text
    for c in PLAN.carriers:
        assert c.name in text and (not c.direction or c.direction in text)
    for a in PLAN.activities:
        assert a.name.split("（")[0] in text
    for person in (*PLAN.leading_group.deputies, *PLAN.leading_group.members):
        assert re.search(r"\s*".join(person.name), text), person.name
    assert PLAN.city_targets.text in text.replace("\n", "")
    # 附件2's figures, in print order, after its title
    a2 = text[text.index("如皋市科技招商任务分解表\n"):text.index("附件3")]
    printed = [int(n) for n in re.findall(r"^\t(\d+)$", a2, flags=re.M)]
    expected: list[int] = []
    for row in (*PLAN.attachment2.rows, PLAN.attachment2.printed_total):
        expected += [v for m in METRICS if (v := row.get(m)) is not None]
    assert printed == expected


def test_plan_check_reports_inconsistencies_without_changing_figures() -> None:
    report = check_plan(PLAN)
    totals = [f for f in report if f.code == "plan.attachment2.total_mismatch"]
    assert [(f.value, "398" in f.message or "1990" in f.message) for f in totals] == [
        (400, True), (400, True), (2000, True)]
    assert "398" in totals[0].message and "1990" in totals[2].message
    city = [f for f in report if f.code == "plan.attachment2.city_target_mismatch"]
    assert {f.value for f in city} == {400, 398}
    assert all("370" in f.message for f in city)
    # nothing else is wrong with the transcription, and nothing was "corrected"
    assert len(report) == 5
    assert PLAN.attachment2.printed_total.projects == 400


def test_cli_plan_json() -> None:
    result = CliRunner().invoke(main, ["plan", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["id"] == "rugao-2023"
    assert data["attachment2"]["printed_total"]["utility_patents"] == 2000
    assert data["checks"]["counts"] == {"错误": 0, "提醒": 5}
    assert len(data["towns"]) == 13


def test_cli_plan_human() -> None:
    result = CliRunner().invoke(main, ["plan"])
    assert result.exit_code == 0
    assert "高新区（如城街道、城南街道） | 70 | 70 | 350 | 1 | 2" in result.output
    assert "合计 | 400 | 400 | 2000 | 3 | 4" in result.output


def test_cli_bad_plan_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 1}', encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "--plan", str(bad)])
    assert result.exit_code == 2
    missing = CliRunner().invoke(main, ["plan", "--plan", "no-such-plan"])
    assert missing.exit_code != 0 and "找不到计划文件" in missing.output
