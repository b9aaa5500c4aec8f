"""Render docs/api.md from the docstrings of the public API (``xlz.__all__``).

    .venv/bin/python scripts/render_api_doc.py > docs/api.md

Kept out of the package: nothing at run time needs it. ``tests/test_docs.py`` fails when
docs/api.md differs from what this prints.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path


def attribute_docstring(module: str, name: str) -> str:
    """The string literal right after ``name = ...`` (or ``name: T = ...``) in ``module``."""
    source = Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8")
    body = ast.parse(source).body
    for node, following in zip(body, body[1:]):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) \
                and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant) \
                and isinstance(following.value.value, str):
            return inspect.cleandoc(following.value.value)
    return ""


if __name__ == "__main__":
    sys.exit("not yet")
