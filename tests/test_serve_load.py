"""Issue 13's bounded load test: a real uvicorn server (``xlz serve`` in a child process
on 127.0.0.1, a free port, stopped by its PID) and 13 towns uploading at once, 5 uploads
each: no 5xx, every upload recorded with its bytes in the archive, the status counts
exact. The full 13 × 20 with throughput and p95 is ``bench/bench_serve.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_serve import TOWNS, run
from xlz import validate

UPLOADS = 5


@pytest.mark.slow
def test_thirteen_towns_upload_at_once(tmp_path: Path) -> None:
    result = run(tmp_path / "数据", UPLOADS)
    total = TOWNS * UPLOADS
    assert result["server_errors"] == 0 and result["statuses"] == [200], result
    assert result["uploads"] == result["recorded"] == result["archived"] == total
    assert result["checked"] == total
    assert result["status_code"] == 200
    status = result["status"]
    assert status["uploads"] == total
    # every town sent its blank template: what validate says of one decides them all
    template = next((tmp_path / "数据" / "模板").glob("*.xlsx"))
    state = "已报送" if validate(template, check=True).ok else "未通过校验"
    assert status["counts"] == {"已报送": 0, "未通过校验": 0, "未报送": 0, state: TOWNS}
    assert all(t["uploads"] == UPLOADS for t in status["towns"])
