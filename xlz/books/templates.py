"""The whole set of templates: one per town and the city template, in plan order."""

from __future__ import annotations

from pathlib import Path

from xlz.books.citytemplate import build_city_template
from xlz.books.common import city_file_name, town_file_name
from xlz.books.townbook import build_town_workbook
from xlz.core.plan import Plan, load_plan


def build_templates(out_dir: str | Path, plan: Plan | None = None) -> list[Path]:
    """The 13 town templates and the city template, in plan order."""
    plan = plan or load_plan()
    folder = Path(out_dir)
    paths = [build_town_workbook(plan, t.code, folder / town_file_name(plan, t))
             for t in plan.towns]
    paths.append(build_city_template(plan, folder / city_file_name(plan)))
    return paths
