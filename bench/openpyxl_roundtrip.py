"""What a plain openpyxl load + save does to a filled town workbook, next to what
``xlz validate`` + ``xlz fill`` change (issue 4: "measure it, then do better").

    .venv/bin/python bench/openpyxl_roundtrip.py

Prints how many zip parts each approach changes and the 任务分解 row as a reader that
does not recalculate (python-calamine, like most batch tools) sees it afterwards.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def main() -> None:
    import python_calamine as pc
    from openpyxl import load_workbook

    import xlz
    from xlz.books.townbook import build_town_workbook
    from xlz.ops.demo import sample_entries

    plan = xlz.load_plan()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = build_town_workbook(plan, "gaoxin", folder / "src.xlsx",
                                  sample_entries(plan, "gaoxin", pipeline=0))
        via_openpyxl = folder / "openpyxl.xlsx"
        load_workbook(src).save(via_openpyxl)
        via_xlz = folder / "xlz.xlsx"
        shutil.copy(src, via_xlz)
        xlz.validate(via_xlz)
        xlz.fill(via_xlz)
        before = parts(src)
        for label, path in (("openpyxl load+save", via_openpyxl),
                            ("xlz validate+fill", via_xlz)):
            after = parts(path)
            changed = sorted(k for k in before if after.get(k) != before[k])
            dropped = sorted(k for k in before if k not in after)
            row = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
                "任务分解").to_python()[1][:4]
            print(f"{label:<20} parts changed {len(changed):>2}/{len(before)}"
                  f"  dropped {dropped or '—'}  任务分解 row 2 as read: {row}")
        print(f"{'template as built':<20} 任务分解 row 2 as read: "
              f"{pc.CalamineWorkbook.from_path(str(src)).get_sheet_by_name('任务分解').to_python()[1][:4]}")


if __name__ == "__main__":
    main()
