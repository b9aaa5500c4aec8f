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
