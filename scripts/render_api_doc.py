"""Render docs/api.md from the docstrings of the public API (``xlz.__all__``).

    .venv/bin/python scripts/render_api_doc.py > docs/api.md

Kept out of the package: nothing at run time needs it. ``tests/test_docs.py`` fails when
docs/api.md differs from what this prints.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import itertools
import re
import sys
from pathlib import Path
from typing import Any, ForwardRef

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xlz  # noqa: E402
from xlz import _EXPORTS  # noqa: E402

HEADER = """\
# xlz Python API

Generated from the docstrings by `scripts/render_api_doc.py` — do not edit by hand;
`tests/test_docs.py` fails when this file is stale. Everything here is imported from the
package itself (`import xlz`, then `xlz.validate(...)`); every other module of xlz is
private. Task-by-task documentation starts at [README.md](README.md).
"""


def attribute_docstring(module: str, name: str) -> str:
    """The string literal right after ``name = ...`` (or ``name: T = ...``) in ``module``."""
    source = Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8")
    body = ast.parse(source).body
    for node, following in itertools.pairwise(body):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) \
                and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant) \
                and isinstance(following.value.value, str):
            return inspect.cleandoc(following.value.value)
    return ""


def groups() -> list[tuple[str, list[str]]]:
    """The export groups, as the comments in ``_EXPORTS`` (xlz/__init__.py) name them."""
    text = Path(xlz.__file__).read_text(encoding="utf-8")
    body = text[text.index("_EXPORTS: dict[str, str] = {"):]
    body = body[:body.index("\n}\n")]
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines()[1:]:
        line = line.strip()
        if line.startswith("# "):
            out.append((line[2:], []))
        elif line.startswith('"'):
            if not out:
                out.append(("Other", []))
            out[-1][1].append(line.split('"')[1])
    return out


_PUBLIC = {id(getattr(xlz, n)): n for n in _EXPORTS}


def _annotation(annotation: Any, namespace: dict[str, Any]) -> str:
    """The annotation as written, with private aliases of exports shown by their public
    name (``FileResult`` inside xlz.core.consolidation is ``xlz.SubmittedFile``)."""
    if isinstance(annotation, ForwardRef):
        annotation = annotation.__forward_arg__
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    text = re.sub(r"\bxlz\.(?:[a-z_]+\.)*", "", text)

    def public(match: re.Match[str]) -> str:
        word = match.group(0)
        obj = namespace.get(word)
        return _PUBLIC.get(id(obj), word) if obj is not None else word

    return re.sub(r"(?<![.\w])[A-Za-z_]\w*", public, text)


def _default(value: Any) -> str:
    text = repr(value)
    if " at 0x" in text or len(text) > 60:
        return "…"
    return re.sub(r"\bxlz\.(?:[a-z_]+\.)*", "", text)


def signature(obj: Any, *, skip_self: bool = False) -> str:
    """``(param: type = default, …) -> type`` as written in the source."""
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    defining = _EXPORTS.get(getattr(obj, "__name__", ""))
    if defining:
        module = importlib.import_module(defining)
    namespace: dict[str, Any] = dict(vars(module)) if module else {}
    namespace.update(getattr(obj, "__globals__", {}))
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    params = []
    star_done = False
    for i, p in enumerate(sig.parameters.values()):
        if skip_self and i == 0:
            continue
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation, namespace)}"
        if p.default is not p.empty:
            text += f" = {_default(p.default)}"
        params.append(text)
    out = f"({', '.join(params)})"
    if sig.return_annotation is not sig.empty and sig.return_annotation not in ("None", None):
        out += f" -> {_annotation(sig.return_annotation, namespace)}"
    return out


def _doc(obj: Any) -> str:
    """The object's own docstring, reST roles and double backticks made Markdown."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", "")
    if not doc:
        return ""
    return _markdown(inspect.cleandoc(doc))


def _markdown(text: str) -> str:
    text = re.sub(r":(?:func|class|meth|data|attr|mod|exc):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _model_signature(cls: type) -> str:
    """A pydantic model's fields as a signature, annotations as written."""
    written: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if base.__module__.startswith("xlz"):
            written.update(inspect.get_annotations(base))
    namespace = dict(vars(importlib.import_module(_EXPORTS[cls.__name__])))
    params = []
    for field, info in cls.model_fields.items():  # type: ignore[attr-defined]
        text = f"{field}: {_annotation(written.get(field, info.annotation), namespace)}"
        if not info.is_required():
            text += f" = {_default(info.default)}"
        params.append(text)
    return f"({', '.join(params)})"


def _members(cls: type) -> list[str]:
    """Public methods and properties the class itself defines (those with a docstring)."""
    lines = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, property):
            func, sig = value.fget, ""
        elif isinstance(value, (staticmethod, classmethod)):
            func = value.__func__
            sig = signature(func, skip_self=isinstance(value, classmethod))
        elif inspect.isfunction(value):
            func, sig = value, signature(value, skip_self=True)
        else:
            continue
        doc = _doc(func) if func is not None else ""
        if not doc:
            continue
        first, *rest = doc.split("\n\n", 1)
        lines.append(f"- `{attr}{sig}` — {' '.join(first.split())}")
        for para in rest:
            lines.append(f"  {' '.join(para.split())}")
    return lines


def render_export(name: str) -> list[str]:
    obj = getattr(xlz, name)
    module = _EXPORTS[name]
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        lines = [f"### class `xlz.{name}`", "", _doc(obj), ""]
        lines.append("Members: " + ", ".join(f"`{m.name}` (`{m.value!r}`)" for m in obj) + ".")
        return [*lines, ""]
    if isinstance(obj, type):
        sig = _model_signature(obj) if hasattr(obj, "model_fields") else signature(obj)
        lines = [f"### class `xlz.{name}{sig}`", "", _doc(obj), ""]
        members = _members(obj)
        if members:
            lines += [*members, ""]
        return lines
    if callable(obj):
        return [f"### `xlz.{name}{signature(obj)}`", "", _doc(obj), ""]
    doc = _markdown(attribute_docstring(module, name))
    alias = vars(importlib.import_module(module)).get("__annotations__", {}).get(name)
    if alias == "TypeAlias":  # show what the alias stands for, not a quoted string
        shown = f" = {obj}"
    else:
        shown = f" = {obj!r}" if isinstance(obj, (str, int)) else ""
    return [f"### `xlz.{name}{shown}`", "", doc, ""]


def render() -> str:
    """docs/api.md as it should read."""
    lines = [HEADER]
    for title, names in groups():
        lines += [f"## {title}", ""]
        for name in names:
            lines += render_export(name)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
