"""docs/rules.md is generated from the catalogue; this fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from xlz import RULES, load_plan
from xlz.core.rulesdoc import render_rules_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rules_doc_is_current() -> None:
    expected = render_rules_markdown(load_plan())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/rules.md is stale: run `xlz rules --markdown > docs/rules.md`"
    )
    for code in RULES:
        assert f"`{code}`" in expected


def test_api_doc_is_current() -> None:
    from scripts.render_api_doc import render

    api = DOC.with_name("api.md")
    assert api.read_text(encoding="utf-8") == render(), (
        "docs/api.md is stale: run `.venv/bin/python scripts/render_api_doc.py > docs/api.md`"
    )


def test_docs_point_only_inside_the_repository() -> None:
    import re

    root = DOC.parents[1]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert "shared/" not in text, f"{page.name} names the steering folder shared/"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(root), f"{page.name}: {target} is outside the repo"
            assert resolved.exists(), f"{page.name}: {target} does not exist"


def test_standard_doc_states_the_version_the_code_writes() -> None:
    from xlz.core.layout import STANDARD_VERSION

    text = DOC.with_name("standard.md").read_text(encoding="utf-8")
    assert text.startswith(f"# The xlz workbook standard, version {STANDARD_VERSION}\n")
    for number in range(1, 7):
        assert f"\n## {number}. " in text
