"""The house rules that a linter of imports cannot see (the layers themselves are the
import-linter contracts in pyproject.toml, run by scripts/test.sh).

- No module takes another module's ``_private`` names: neither ``from xlz.x import _y``
  nor ``module._y`` through an imported xlz module.
- Every module of the package lives in a layer folder (or is a door at the top).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xlz"
LAYERS = {"core", "ooxml", "io", "books", "ops", "addin", "web"}
DOORS = {"__init__.py", "__main__.py", "cli.py", "live.py"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xlz"):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{path.name}:{node.lineno} from {node.module} import {alias.name}")
                module_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("xlz"):
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in module_aliases and base.id != "self":
                found.append(f"{path.name}:{node.lineno} {base.id}.{node.attr}")
    return found


def test_no_module_takes_another_modules_private_names() -> None:
    problems = [v for path in _modules() for v in _violations(path)]
    assert problems == []


def test_the_checker_sees_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from xlz.io.read import _secret\nfrom xlz.core import layout as L\n"
                      "x = L._hidden\n", encoding="utf-8")
    assert len(_violations(sample)) == 2


def test_every_module_lives_in_a_layer() -> None:
    strays = [p.relative_to(PACKAGE).as_posix() for p in _modules()
              if (p.parent == PACKAGE and p.name not in DOORS)
              or (p.parent != PACKAGE and p.relative_to(PACKAGE).parts[0] not in LAYERS)]
    assert strays == []


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round a circle (import-linter's
    layers see only cycles across layers; this sees those inside one folder too)."""
    import grimp

    graph = grimp.build_graph("xlz")
    modules = sorted(m for m in graph.modules if m.startswith("xlz."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in sorted(graph.find_modules_directly_imported_by(m)):
            if not n.startswith("xlz."):
                continue
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    assert circles == []
