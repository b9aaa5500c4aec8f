"""Regenerate the pictures of the city-office guide (docs/city-guide.md).

    .venv/bin/python scripts/render_city_images.py

``xlz demo`` makes two rounds, the September city workbook and the bulletin; LibreOffice
prints sheets of the city workbook (as the office prints them: their own print areas
and titles) and the bulletin (Writer) to PDF, and page 1 of each becomes a PNG, the way
scripts/render_doc_images.py makes the clerk's guide pictures (whose helpers it uses).
Needs LibreOffice headless with Writer (libreoffice-writer-nogui), python3-uno and
pdftoppm.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from render_doc_images import IMAGES, XLZ, Shot, pdf_to_png, print_sheets  # noqa: E402

# The harness's one-sheet export printed the first sheet for every other sheet named
# (seen 2026-12-01), so only the first sheet is pictured until that is fixed.
SHEETS = (Shot("city-tasks.png", "任务分解表", 110),)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="xlz-city-img-") as tmp_name:
        tmp = Path(tmp_name)
        demo = tmp / "演示"
        subprocess.run([str(XLZ), "demo", "--out", str(demo)], check=True,
                       capture_output=True, timeout=900)
        print_sheets(demo / "2023年如皋市科技招商汇总表.xlsx", SHEETS, tmp)
        bulletin = next(demo.glob("通报*.docx"))
        profile = (tmp / "lo-profile").as_uri()
        subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(tmp), str(bulletin)],
                       check=True, capture_output=True, timeout=300)
        w, h = pdf_to_png(tmp / bulletin.with_suffix(".pdf").name, IMAGES / "city-bulletin.png",
                          80)
        print(f"  docs/images/city-bulletin.png  {w}×{h}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
