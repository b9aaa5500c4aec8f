"""Portal load: a real ``xlz serve`` (uvicorn, a child process on 127.0.0.1 and a free
port) and 13 towns uploading at once through ``POST /api/submissions``.

Each town uploads its own template ``--uploads`` times (one thread per town, so 13
uploads are in flight at once); then the run checks that no answer was a 5xx, that every
upload is in 门户.sqlite with its bytes in the archive, and that ``/api/status`` counts
exactly 13 towns 已报送 and 13 × uploads uploads. Prints throughput and latency
percentiles. Traffic goes to loopback only; the request loop is bounded by count, and
the server is stopped by its PID.

    .venv/bin/python bench/bench_serve.py [--uploads 20] [--keep DIR]

``tests/test_serve_load.py`` runs :func:`run` with 5 uploads per town.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOWNS = 13


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    body = head.encode("utf-8") + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request(url: str, token: str, body: bytes | None = None,
            content_type: str | None = None, timeout: float = 120) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, headers=headers,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return e.code, json.loads(payload)
        except ValueError:
            return e.code, payload.decode("utf-8", "replace")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(data: Path, port: int) -> Server:
    process = subprocess.Popen(
        [sys.executable, "-m", "xlz", "serve", "--data", str(data), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return Server(process, url)
        except OSError:
            time.sleep(0.2)
    Server(process, url).stop()
    raise RuntimeError("the server did not answer within 60 s")


def run(data: Path, uploads: int) -> dict[str, Any]:
    """Init a portal in ``data``, serve it, upload, check; the figures and the checks."""
    from xlz.books.common import town_file_name
    from xlz.core.plan import load_plan
    from xlz.ops.portal import init_portal

    setup = init_portal(data)
    plan = load_plan()
    books = {t.code: (data / "模板" / town_file_name(plan, t)).read_bytes() for t in plan.towns}
    tokens = {link.town: link.url.rsplit("/", 1)[1] for link in setup.links}
    server = start_server(data, free_port())
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(TOWNS)

    def town(code: str) -> None:
        barrier.wait()
        for i in range(uploads):
            body, ctype = _multipart(f"{code}-{i}.xlsx", books[code])
            t0 = time.perf_counter()
            status, _ = request(server.url + "/api/submissions", tokens[code], body, ctype)
            with lock:
                latencies.append(time.perf_counter() - t0)
                statuses.append(status)

    try:
        threads = [threading.Thread(target=town, args=(c,)) for c in tokens]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        status, state = request(server.url + "/api/status", setup.api_token or "")
    finally:
        server.stop()
    with sqlite3.connect(data / "门户.sqlite") as conn:
        rows = conn.execute("SELECT archived, state FROM uploads").fetchall()
    archive = data / "科技招商台账.sqlite.files"
    latencies.sort()
    return {
        "uploads": len(latencies), "wall_s": round(wall, 2),
        "throughput_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3),
        "max_s": round(latencies[-1], 3),
        "server_errors": sum(1 for s in statuses if s >= 500),
        "statuses": sorted(set(statuses)),
        "recorded": len(rows),
        "archived": sum(1 for a, _ in rows if a and (archive / a).is_file()),
        "checked": sum(1 for _, s in rows if s == "checked"),
        "status_code": status,
        "status": state if isinstance(state, dict) else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=20, help="uploads per town")
    parser.add_argument("--keep", type=Path, help="keep the data folder here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="xlz-serve-bench-"))
    result = run(folder / "数据", args.uploads)
    counts = result["status"].get("counts")
    print(f"{result['uploads']} uploads by {TOWNS} towns at once in {result['wall_s']} s: "
          f"{result['throughput_per_s']} uploads/s; latency p50 {result['p50_s']} s, "
          f"p95 {result['p95_s']} s, max {result['max_s']} s; "
          f"5xx {result['server_errors']}; recorded {result['recorded']}, archived "
          f"{result['archived']}; /api/status counts {counts}, uploads "
          f"{result['status'].get('uploads')}")


if __name__ == "__main__":
    main()
