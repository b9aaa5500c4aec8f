"""The plan: towns, targets and lists of one year, loaded from a JSON file in the package.

A new year or another city is a new plan file, never a code change. Figures are kept
exactly as printed in the source document; inconsistencies are reported by
:mod:`xlz.core.plancheck`, never corrected here.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from xlz.core.text import match_key

Metric = Literal["projects", "invention_patents", "utility_patents", "platform", "fund"]
METRICS: tuple[Metric, ...] = (
    "projects",
    "invention_patents",
    "utility_patents",
    "platform",
    "fund",
)
DEFAULT_PLAN = "rugao-2023"
"""The plan used when none is named: Rugao's 2023 tech-investment plan."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Town(_Model):
    """A town (镇区) of 附件2: stable code, official name, short name and the aliases clerks type."""

    code: str
    name: str  # official name as printed in 附件2
    short: str  # the short name used in 附件3/附件4 and by clerks
    aliases: tuple[str, ...] = ()
    # Who the city office calls when the town is late (name and phone, free text). The
    # plan document names none, so the shipped plan leaves it empty ("—" on paper); a
    # town's own 填报人/联系电话 from its last submission is preferred when known.
    contact: str = ""

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.name, self.short, *self.aliases)


class Category(_Model):
    """A project category (项目类别) and the 附件2 metric it counts toward."""

    code: str
    name: str
    metric: Literal["projects", "platform", "fund"]
    definition: str


class KeyField(_Model):
    """A key industry field (产业领域) with its listed sub-directions."""

    name: str
    directions: tuple[str, ...]


class Park(_Model):
    """A park and the fields assigned to it (招商图谱)."""

    name: str
    direction: str  # as printed in section 三.1
    fields: tuple[str, ...]


class CityTargets(_Model):
    """The city-wide targets of the plan text (projects, platforms, funds, incubation area,
    new incubators)."""

    projects: int
    platform: int
    fund: int
    incubation_area_m2: int
    new_national_incubators: int
    new_provincial_incubators: int
    text: str


CarrierTarget = Literal["incubation_area_m2", "new_national_incubators",
                        "new_provincial_incubators"]


class CarrierCount(_Model):
    """How one carrier-based city target is counted (:func:`xlz.core.summary.carrier_progress`):
    a carrier counts when each field of ``counts`` (a 孵化载体 column key) holds one of
    its values and each date field of ``in_year`` falls in the plan year; it adds its
    ``sum`` field (e.g. the area) or, without one, 1. Which statuses count is the city
    office's call, so it is data here, not code."""

    target: CarrierTarget
    counts: dict[str, tuple[str, ...]]
    in_year: tuple[str, ...] = ()
    sum: str | None = None
    note: str  # how it is counted, in Chinese, for the city workbook


class Reporting(_Model):
    """What a town's 数据截至日期 may be: a date in the plan year or up to
    ``as_of_grace_days`` after it (year-end figures reported in January)."""

    as_of_grace_days: int


class Staffing(_Model):
    """The minimum staffing the plan asks of the city centre and of each town."""

    city_center_min: int
    town_min: int


class TargetRow(_Model):
    """One printed row of 附件2. ``None`` is a cell printed blank (no target), never 0."""

    label: str
    projects: int | None
    invention_patents: int | None
    utility_patents: int | None
    platform: int | None
    fund: int | None

    def get(self, metric: Metric) -> int | None:
        value: int | None = getattr(self, metric)
        return value


class TownTargetRow(TargetRow):
    """A town's row of 附件2 (``town`` is the town code)."""

    town: str


class Attachment2(_Model):
    """附件2 as printed: the town rows and the printed 合计 (which need not be their sum)."""

    title: str
    headers: dict[str, str]
    rows: tuple[TownTargetRow, ...]
    printed_total: TargetRow


class Activity(_Model):
    """A scheduled activity, one row of 附件3."""

    seq: int
    name: str
    time: str  # as printed: "2月" or "全年"
    month: int | None  # None for 全年
    host: str  # as printed
    host_towns: tuple[str, ...]


class Carrier(_Model):
    """A planned incubation carrier, one row of 附件4."""

    seq: int
    town: str
    town_label: str  # 建设镇区 as printed
    name: str
    method: str
    direction: str  # 建设方向 as printed ("" when blank)
    level: str | None
    type: str | None
    specialty: str | None


class Person(_Model):
    """A member of the leading group (附件1)."""

    name: str
    title: str


class Office(_Model):
    """The leading group's office (附件1)."""

    head: str
    text: str


class LeadingGroup(_Model):
    """The leading group of 附件1."""

    title: str
    leader: tuple[Person, ...]
    deputies: tuple[Person, ...]
    members: tuple[Person, ...]
    office: Office


class Plan(_Model):
    """One year's plan as data: towns, categories, fields, targets (附件2), activities
    (附件3), carriers (附件4) and dropdown lists. Load it with :func:`load_plan`."""

    id: str
    standard: str
    year: int
    title: str
    issuer: str
    issued: str
    source: str
    city: str
    office: str
    towns: tuple[Town, ...]
    categories: tuple[Category, ...]
    fields: tuple[KeyField, ...]
    other_field: str
    parks: tuple[Park, ...]
    city_targets: CityTargets
    staffing: Staffing
    attachment2: Attachment2
    activities: tuple[Activity, ...]
    carriers: tuple[Carrier, ...]
    leading_group: LeadingGroup
    lists: dict[str, tuple[str, ...]]
    completed_statuses: tuple[str, ...]
    pipeline_statuses: tuple[str, ...]
    carrier_counts: tuple[CarrierCount, ...]
    reporting: Reporting
    # 排名: each metric's weight in a town's overall completion (the weighted mean of its
    # 完成率 over the metrics it has a target for). Missing metrics weigh 1: equal weights.
    ranking_weights: dict[Metric, float] = {}

    def weight(self, metric: Metric) -> float:
        return self.ranking_weights.get(metric, 1.0)

    # --- look-ups -----------------------------------------------------------------
    @functools.cached_property
    def _town_index(self) -> dict[str, Town]:
        index: dict[str, Town] = {}
        for town in self.towns:
            for name in town.all_names:
                index[match_key(name)] = town
        return index

    @functools.cached_property
    def town_name_keys(self) -> tuple[tuple[Town, tuple[str, ...]], ...]:
        """Each town with the match keys (:func:`~xlz.core.text.match_key`) of its
        names of two characters or more, in :attr:`Town.all_names` order. Computed once
        per plan: identifying each of 500 files by its name otherwise keyed the names of
        all 500 towns again (2 ms of a 20 ms file; bench/README.md)."""
        return tuple((town, tuple(k for k in map(match_key, town.all_names) if len(k) >= 2))
                     for town in self.towns)

    def town(self, code: str) -> Town:
        for town in self.towns:
            if town.code == code:
                return town
        raise KeyError(code)

    def resolve_town(self, text: str) -> Town | None:
        """The town a clerk meant by ``text`` (official name, short name or alias)."""
        return self._town_index.get(match_key(text))

    def target(self, town_code: str) -> TownTargetRow:
        for row in self.attachment2.rows:
            if row.town == town_code:
                return row
        raise KeyError(town_code)

    def carriers_of(self, town_code: str) -> tuple[Carrier, ...]:
        return tuple(c for c in self.carriers if c.town == town_code)

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    @property
    def field_names(self) -> tuple[str, ...]:
        return (*(f.name for f in self.fields), self.other_field)

    def choices(self, list_name: str) -> tuple[str, ...]:
        """The values of a dropdown list by its Chinese name (plan lists and derived ones)."""
        if list_name == "项目类别":
            return self.category_names
        if list_name == "产业领域":
            return self.field_names
        if list_name == "镇区":
            return tuple(t.short for t in self.towns)
        if list_name == "活动月份":
            return (*(f"{m}" for m in range(1, 13)), "全年")
        return self.lists[list_name]


def available_plans() -> list[str]:
    """The ids of the plans shipped with the package (for :func:`load_plan`)."""
    folder = resources.files("xlz") / "plans"
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


@functools.cache
def load_plan(name_or_path: str | Path = DEFAULT_PLAN) -> Plan:
    """Load a plan by its id (a file shipped in ``xlz/plans``) or from a JSON file path."""
    from xlz.core.errors import PlanError, make_error

    path = Path(name_or_path)
    available = "、".join(available_plans())
    try:
        if path.suffix == ".json" and path.exists():
            data = path.read_bytes()
        else:
            ref = resources.files("xlz") / "plans" / f"{name_or_path}.json"
            if not ref.is_file():
                raise make_error(PlanError, "plan.not_found", path, available=available)
            data = ref.read_bytes()
        return Plan.model_validate_json(data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise make_error(PlanError, "plan.invalid", path, reason=reason,
                         available=available) from exc
    except ValueError as exc:  # pydantic.ValidationError (schema, or not JSON at all)
        reason = _plan_reason(exc)
        raise make_error(PlanError, "plan.invalid", path, reason=reason,
                         available=available) from exc


def _plan_reason(exc: ValueError) -> str:
    """The first problems of a pydantic error, briefly: ``towns.0.code：Field required``."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)[:200]
    items = [f"{'.'.join(str(x) for x in e.get('loc', ())) or '（整个文件）'}：{e.get('msg', '')}"
             for e in errors()[:3]]
    return "；".join(items)[:300]
