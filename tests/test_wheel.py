"""The wheel is complete: built from the sources, installed into a fresh venv and run from
a folder outside the repository, it builds the add-in (the VBA sources and the ribbon
ship as package data) and loads the plan.

The fresh venv gets no copy of the dependencies: a ``.pth`` file points it at this
venv's site-packages, whose ``.pth`` files (among them the editable install of the
checkout) are not processed from there — so ``xlz`` can only come from the wheel, and
the test asserts that it does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(dist: Path, tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "xlz", source / "xlz",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
           str(source)]
    try:  # offline when this venv's setuptools is new enough for pyproject.toml
        import setuptools

        if int(setuptools.__version__.split(".")[0]) >= 77:
            cmd.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    assert run.returncode == 0, run.stdout + run.stderr
    (wheel,) = dist.glob("xlz-*.whl")
    return wheel


@pytest.mark.slow
def test_installed_wheel_builds_the_addin(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist", tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("xlz/addin/macros/customUI14.xml", "xlz/addin/macros/XlzRibbon.bas",
                 "xlz/plans/rugao-2023.json", "xlz/py.typed"):
        assert data in names, data

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    site = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run(
        [python, "-c", "import xlz, xlz.addin; print(xlz.__file__); print(xlz.addin.MACROS_DIR);"
         " print(xlz.load_plan().id)"],
        capture_output=True, text=True, env=env, cwd=work, check=True).stdout.split("\n")
    assert Path(where[0]).is_relative_to(env_dir), where  # not the checkout
    assert Path(where[1]).is_relative_to(env_dir), where
    assert where[2] == "rugao-2023"

    xlz_cli = bindir / ("xlz.exe" if os.name == "nt" else "xlz")
    build = subprocess.run([xlz_cli, "addin", "build", "--out", str(work / "out")],
                           capture_output=True, text=True, env=env, cwd=work)
    assert build.returncode == 0, build.stdout + build.stderr
    xlam = work / "out" / "xlz.xlam"
    assert xlam.is_file() and xlam.stat().st_size > 10_000
    with zipfile.ZipFile(xlam) as zf:
        assert "xl/vbaProject.bin" in zf.namelist()
        assert any(n.startswith("customUI/") for n in zf.namelist())
