"""The public API (``xlz/__init__.py``) stays curated and self-consistent.

- ``__all__``, the lazy ``_EXPORTS`` map and the ``TYPE_CHECKING`` mirror name the same
  objects from the same modules;
- every exported class and function says ``__module__ == "xlz"`` and has a docstring
  (data exports have an attribute docstring where they are defined);
- no public signature — parameters and returns of exported functions, fields,
  constructor parameters, public methods and properties of exported classes — mentions
  a type that is neither exported nor from the standard library (or pandas, the
  optional extra behind ``to_pandas``);
- exports still pickle (the consolidation pool sends some between processes);
- ``RULES`` is read-only.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pickle
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import xlz
from scripts.render_api_doc import attribute_docstring
from xlz import _EXPORTS

INIT = Path(xlz.__file__)
STDLIB = frozenset(sys.stdlib_module_names) | {"builtins"}
THIRD_PARTY_OK = {"pandas"}  # the optional extra behind Report/ConsolidationResult.to_pandas


def _mirror() -> dict[str, str]:
    """name → module from the ``if TYPE_CHECKING:`` block of xlz/__init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            out = {}
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    assert alias.asname is None
                    out[alias.name] = stmt.module
            return out
    raise AssertionError("no TYPE_CHECKING block in xlz/__init__.py")


def test_all_exports_and_typing_mirror_agree() -> None:
    assert sorted(xlz.__all__) == sorted([*_EXPORTS, "__version__"])
    assert len(xlz.__all__) == len(set(xlz.__all__))
    assert _mirror() == _EXPORTS
    assert xlz.__dir__() == sorted(xlz.__all__)
    for name, module in _EXPORTS.items():
        assert getattr(xlz, name) is getattr(importlib.import_module(module), name), name


def _is_code(obj: Any) -> bool:
    """A class or a function (also one wrapped by functools.cache)."""
    return isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__"))


def _own_doc(obj: Any) -> str:
    """The docstring the object itself was given (not one a dataclass, named tuple or
    enum generates, nor one inherited)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    if not doc:
        return ""
    name = getattr(obj, "__name__", "")
    if doc.startswith(f"{name}(") or doc == "An enumeration.":
        return ""
    return str(doc).strip()


@pytest.mark.parametrize("name", sorted(_EXPORTS))
def test_export_is_named_xlz_and_documented(name: str) -> None:
    obj = getattr(xlz, name)
    if _is_code(obj):
        assert obj.__module__ == "xlz", f"{name}.__module__ is {obj.__module__}"
        assert _is_code(obj) and _own_doc(obj), f"xlz.{name} has no docstring"
    else:
        assert attribute_docstring(_EXPORTS[name], name), (
            f"xlz.{name}: give it an attribute docstring (a string right after the "
            f"assignment in {_EXPORTS[name]})"
        )


# --- signatures -------------------------------------------------------------------------


def _namespace() -> dict[str, Any]:
    """What annotations may name: the exports, plus the names modules import only under
    TYPE_CHECKING (pandas as pd)."""
    ns: dict[str, Any] = {n: getattr(xlz, n) for n in _EXPORTS}
    pd = pytest.importorskip("pandas")
    ns["pd"] = pd
    return ns


def _hints(obj: Any, module: str) -> dict[str, Any]:
    globalns = vars(importlib.import_module(module))
    return typing.get_type_hints(obj, globalns=dict(globalns), localns=_namespace())


def _callables(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for attr, value in vars(cls).items():
        if attr.startswith("_") and attr != "__init__":
            continue
        if isinstance(value, property) and value.fget is not None:
            yield attr, value.fget
        elif isinstance(value, (staticmethod, classmethod)):
            yield attr, value.__func__
        elif isinstance(value, types.FunctionType):
            yield attr, value


def _signature_hints(name: str) -> Iterator[tuple[str, Any]]:
    obj = getattr(xlz, name)
    if not isinstance(obj, type) and _is_code(obj):
        for param, hint in typing.get_type_hints(obj, localns=_namespace()).items():
            yield f"{name}({param})", hint
        return
    if not isinstance(obj, type):
        return
    for base in obj.__mro__:
        if not base.__module__.startswith("xlz"):
            continue  # pydantic's, Enum's, tuple's own attributes
        own = inspect.get_annotations(base)
        if own:
            shell = type("_Shell", (), {"__annotations__": dict(own)})
            module = _EXPORTS.get(base.__name__, base.__module__)
            for field, hint in _hints(shell, module).items():
                yield f"{name}.{field}", hint
        for attr, func in _callables(base):
            for param, hint in typing.get_type_hints(func, localns=_namespace()).items():
                yield f"{name}.{attr}({param})", hint


def _leaves(hint: Any) -> Iterator[type]:
    if typing.get_origin(hint) is typing.Literal:
        return
    origin = typing.get_origin(hint)
    if isinstance(origin, type):
        yield origin
    for arg in typing.get_args(hint):
        yield from _leaves(arg)
    if isinstance(hint, type) and not typing.get_args(hint):
        yield hint


def test_no_private_type_in_a_public_signature() -> None:
    exported = {id(getattr(xlz, n)) for n in _EXPORTS}
    leaks = []
    for name in sorted(_EXPORTS):
        for where, hint in _signature_hints(name):
            for leaf in _leaves(hint):
                top = leaf.__module__.split(".")[0]
                if top in STDLIB or top in THIRD_PARTY_OK or id(leaf) in exported:
                    continue
                leaks.append(f"{where}: {leaf.__module__}.{leaf.__qualname__}")
    assert not leaks, "private types in public signatures:\n" + "\n".join(leaks)


# --- behaviour of the exports -------------------------------------------------------------


def test_rules_is_read_only() -> None:
    rule = next(iter(xlz.RULES.values()))
    with pytest.raises(TypeError):
        xlz.RULES["x"] = rule  # type: ignore[index]
    with pytest.raises(TypeError):
        del xlz.RULES[rule.code]  # type: ignore[attr-defined]
    assert not hasattr(xlz.RULES, "update")


def _sample_objects() -> list[Any]:
    finding = xlz.Finding("project.name.required", xlz.Severity.ERROR, "项目信息", "B2", None,
                          "项目名称不能为空。", row=2)
    report = xlz.Report("丁堰镇.xlsx", [finding])
    inp = xlz.Input("丁堰镇.xlsx", "ab" * 32, None, "")
    submitted = xlz.SubmittedFile(inp, report, town=xlz.load_plan().towns[0])
    return [finding, report, inp, submitted, xlz.Severity.WARNING, xlz.Limits(),
            xlz.validate, xlz.Report]


def test_exports_pickle_within_and_across_processes() -> None:
    objects = _sample_objects()
    for obj in objects:
        copy = pickle.loads(pickle.dumps(obj))
        assert copy is obj if _is_code(obj) else copy == obj
    blob = pickle.dumps(objects)
    # A fresh interpreter has resolved no lazy name yet: unpickling must import them.
    code = ("import pickle, sys; objs = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(objs[3]).__module__, type(objs[3]).__qualname__, objs[0].code)")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                         check=True, cwd=INIT.parents[1]).stdout.decode()
    assert out.split() == ["xlz", "SubmittedFile", "project.name.required"]


def test_reprs_name_the_public_module() -> None:
    assert repr(xlz.Report).startswith("<class 'xlz.Report'>")
    assert repr(xlz.Limits()).startswith("Limits(")
    assert dataclasses.is_dataclass(xlz.SubmittedFile)


def test_import_stays_lazy() -> None:
    code = ("import sys, xlz; xlz.validate; xlz.Plan; xlz.Town; xlz.load_plan(); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('xlz.', 'pandas', "
            "'xlsxwriter', 'openpyxl')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=INIT.parents[1]).stdout.decode().split()
    for heavy in ("pandas", "xlsxwriter", "openpyxl", "xlz.ops.consolidate", "xlz.io.inbox"):
        assert heavy not in out, out
