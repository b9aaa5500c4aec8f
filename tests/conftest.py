"""Shared pytest configuration."""

from __future__ import annotations

import os

import pytest

# xlwings decides at import time whether its PRO parts (the remote engine that the
# add-in tests drive) are enabled. The literal key "noncommercial" is permitted for
# this project: PolyForm Noncommercial 1.0 names government institutions among the
# permitted users (docs/install-guide.md). The add-in's RunPython path needs no key.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


# --- libreoffice marker -------------------------------------------------------------
# Tests marked @pytest.mark.libreoffice need soffice and /usr/bin/python3 with `uno`.
# Locally they are skipped with the reason; when CI is set (CI installs LibreOffice) they
# fail instead, because a skip there would hide a broken install.
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("libreoffice") is None:
        return
    from tests.lo.harness import lo_unavailable_reason

    reason = lo_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"LibreOffice unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"LibreOffice unavailable: {reason}")
