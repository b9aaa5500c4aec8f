"""The deflate backend: ISA-L when installed, the standard library's zlib otherwise.

Consolidation inflates every part of every town workbook (the container guard) and
deflates the ~100 MB 项目信息库 part of the city workbook. ISA-L (``isal``, wheels for
Windows, macOS and Linux) does both with the same streams and API: at level 1 it
deflates ~4x faster than zlib, with slightly smaller output, and inflates ~2x
faster (measured on the 500-town benchmark files). Without the wheel everything works
the same, slower.
"""

from __future__ import annotations

from typing import Any

zlib: Any
try:
    from isal import isal_zlib as zlib
except ImportError:  # pragma: no cover - isal is a dependency; kept for odd platforms
    import zlib

BACKEND: str = "isal" if zlib.__name__.endswith("isal_zlib") else "zlib"
