"""The portal's operations (``xlz serve``, docs/portal.md): set up a data folder, issue and
revoke the towns' links, take a clerk's upload, say where the round stands, build the
round's city workbook. The web door (:mod:`xlz.web`) and the command line call these;
nothing here knows HTTP.

An upload is kept before anything reads it (its bytes by SHA-256 in the ledger's
archive, a row in 门户.sqlite), then checked on a *copy* in the data folder: the copy is
what ``validate`` marks and what the clerk downloads; the archived bytes stay as sent.
The file name the browser sends is shown, never used as a path.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Final

from xlz.books.common import town_file_name
from xlz.books.portallinks import TownLink, write_links_workbook
from xlz.core.errors import InputError, XlzError, make_error
from xlz.core.findings import Finding, Severity
from xlz.core.plan import Plan, Town, load_plan
from xlz.io.ledger.archive import archive_folder, keep
from xlz.io.ledger.schema import DEFAULT_NAME as LEDGER_NAME
from xlz.io.portal import Store, Upload, hash_password, now, password_matches

DEFAULT_URL: Final = "http://127.0.0.1:8000"
# A filled town workbook is a few hundred KB; 20 MB leaves room for pasted pictures.
DEFAULT_MAX_UPLOAD: Final = 20 * 1024 * 1024
MARKED: Final = "标注"
TEMPLATES: Final = "模板"
BUILDS: Final = "汇总"
LINKS_BOOK: Final = "报送链接.xlsx"
_SUFFIX: Final = re.compile(r"\.[A-Za-z0-9]{1,5}$")


# ---------------------------------------------------------------------- set-up
@dataclass(frozen=True, slots=True)
class Setup:
    """What ``--init`` (or ``--reissue``) hands out once: the secrets are stored hashed
    and cannot be shown again."""

    folder: Path
    links: list[TownLink]
    links_workbook: Path | None
    password: str | None = None
    api_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "password": self.password,
                "api_token": self.api_token,
                "links_workbook": str(self.links_workbook) if self.links_workbook else None,
                "links": [{"town": x.town, "name": x.name, "url": x.url,
                           "issued_at": x.issued_at} for x in self.links]}


def _plan_of(store: Store, plan: Plan | None) -> Plan:
    return plan or load_plan(store.setting("plan"))


def find_town(plan: Plan, text: str) -> Town:
    """The town ``text`` names (code, official, short name or alias)."""
    wanted = text.strip()
    for town in plan.towns:
        if wanted == town.code or wanted in town.all_names:
            return town
    raise make_error(InputError, "portal.unknown_town", None, value=text,
                     known="、".join(t.short for t in plan.towns))


def init_portal(folder: str | Path, plan: Plan | None = None, *,
                base_url: str = DEFAULT_URL) -> Setup:
    """Create the data folder: 门户.sqlite, an admin password and an API token for the
    office, one link per town (written to 报送链接.xlsx) and the towns' templates."""
    from xlz.books.townbook import build_town_workbook

    plan = plan or load_plan()
    store = Store.create(folder)
    password, api_token = secrets.token_urlsafe(9), secrets.token_urlsafe(24)
    store.set_setting("plan", plan.id)
    store.set_setting("base_url", base_url.rstrip("/"))
    store.set_setting("secret", secrets.token_hex(32))
    store.set_setting("admin_password", hash_password(password))
    store.set_setting("api_token", hashlib.sha256(api_token.encode()).hexdigest())
    templates = store.folder / TEMPLATES
    templates.mkdir(exist_ok=True)
    for town in plan.towns:
        build_town_workbook(plan, town.code, templates / town_file_name(plan, town))
    links = [_issue(store, town) for town in plan.towns]
    book = store.folder / LINKS_BOOK
    write_links_workbook(book, links, admin_url(store))
    store.audit("cli", "init", plan=plan.id, towns=len(links))
    return Setup(store.folder, links, book, password, api_token)


def admin_url(store: Store) -> str:
    return f"{store.setting('base_url') or DEFAULT_URL}/office"


def _issue(store: Store, town: Town) -> TownLink:
    token = store.issue(town.code)
    base = store.setting("base_url") or DEFAULT_URL
    return TownLink(town.code, town.name, f"{base}/t/{token}", now())


def reissue(folder: str | Path, town_text: str, plan: Plan | None = None) -> Setup:
    """A new link for one town; its old link stops working at once."""
    store = Store.open(folder)
    town = find_town(_plan_of(store, plan), town_text)
    link = _issue(store, town)
    store.audit("cli", "reissue", town.code)
    return Setup(store.folder, [link], None)


def revoke(folder: str | Path, town_text: str, plan: Plan | None = None) -> Town:
    """The town's link stops working; it gets none until ``reissue``."""
    store = Store.open(folder)
    town = find_town(_plan_of(store, plan), town_text)
    store.revoke(town.code)
    store.audit("cli", "revoke", town.code)
    return town


def check_password(store: Store, password: str) -> bool:
    stored = store.setting("admin_password")
    return stored is not None and password_matches(password, stored)


def check_api_token(store: Store, token: str) -> bool:
    stored = store.setting("api_token")
    got = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return stored is not None and secrets.compare_digest(got, stored)


def template_path(store: Store, plan: Plan, town: Town) -> Path:
    """The town's template (generated at ``--init``; again if someone removed it)."""
    path = store.folder / TEMPLATES / town_file_name(plan, town)
    if not path.is_file():
        from xlz.books.townbook import build_town_workbook

        path.parent.mkdir(exist_ok=True)
        build_town_workbook(plan, town.code, path)
    return path


# ---------------------------------------------------------------------- uploads
@dataclass(slots=True)
class Submission:
    """The answer to one upload (the API's JSON, the result page)."""

    upload: Upload
    town: Town

    @property
    def accepted(self) -> bool:
        return self.upload.accepted

    def to_dict(self) -> dict[str, Any]:
        u = self.upload
        return {"accepted": u.accepted, "passed": u.passed, "town": self.town.code,
                "town_name": self.town.short, "upload": u.id, "sha256": u.sha256,
                "errors": u.errors, "warnings": u.warnings, "code": u.code,
                "message": u.message, "findings": u.findings,
                "marked": u.marked is not None}


def display_name(name: str | None) -> str:
    """The browser's file name, for showing only: the last path component, no control
    characters, at most 120 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:120] or "（无文件名）"


def _copy_name(town: Town, upload_id: int, name: str) -> str:
    # Only the suffix of the clerk's name is kept (it decides .et's message, and which
    # program opens the download); the rest is ours.
    match = _SUFFIX.search(name)
    suffix = match.group(0).lower() if match else ".xlsx"
    return f"{town.short}-第{upload_id}次上传{suffix}"


def submit(store: Store, plan: Plan, town: Town, received: Path, name: str, *,
           via: str = "网页") -> Submission:
    """Keep, record and check one upload for ``town`` (whose link it came through).
    ``received`` is the uploaded bytes in a temporary file (the caller removes it)."""
    name = display_name(name)
    digest = _sha256(received)
    folder = archive_folder(store.folder / LEDGER_NAME)
    archived = keep(folder, received, digest, name)
    round_id, _ = store.current_round()
    upload_id = store.add_upload(round_id=round_id, town=town.code, via=via, name=name,
                                 sha256=digest, size=received.stat().st_size,
                                 archived=archived)
    store.audit(f"town:{town.code}", "upload", town.code, upload=upload_id, sha256=digest,
                via=via)
    work = store.folder / MARKED / str(upload_id)
    work.mkdir(parents=True, exist_ok=True)
    copy = work / _copy_name(town, upload_id, name)
    shutil.copyfile(received, copy)
    try:
        fields = _check(copy, plan, town)
    except XlzError as exc:
        fields = {"state": "refused", "code": exc.code, "message": exc.message}
    store.finish_upload(upload_id, **fields)
    upload = store.upload(upload_id)
    assert upload is not None
    return Submission(upload, town)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check(copy: Path, plan: Plan, town: Town) -> dict[str, Any]:
    """Identify the copy (whose is it?), then validate it in place (or beside it)."""
    from xlz.io.intake import classify
    from xlz.io.read import read_workbook
    from xlz.ops.workbook import identify_workbook, validate

    fmt = classify(copy)
    ctx = identify_workbook(read_workbook(copy, fmt=fmt), plan, name=copy.name)
    if ctx.town is not None and ctx.town.code != town.code:
        error = make_error(InputError, "portal.wrong_town", copy, found=ctx.town.name,
                           town=town.name)
        return {"format": fmt, "state": "refused", "code": error.code,
                "message": error.message, "findings": _dicts(ctx.findings)}
    if not ctx.accepted:
        refusal = next((f for f in ctx.findings if f.severity is Severity.ERROR), None)
        return {"format": fmt, "state": "refused",
                "code": refusal.code if refusal else "file.not_template",
                "message": refusal.message if refusal else "文件不是 xlz 标准模板。",
                "findings": _dicts(ctx.findings)}
    result = validate(copy, plan=plan)
    marked = Path(result.report_path) if result.report_path else copy
    # 填报人/联系电话 (standard 2) when this xlz reads them: the office's contact list
    report, guide = result.report, getattr(result, "guide", None)
    return {"format": fmt, "state": "checked", "accepted": 1, "passed": int(report.ok),
            "errors": len(report.errors), "warnings": len(report.warnings),
            "marked": marked.relative_to(copy.parents[2]).as_posix(),
            "findings": _dicts(report.sorted()),
            "reporter": guide.reporter if guide else None,
            "phone": guide.phone if guide else None}


def _dicts(findings: Any) -> list[dict[str, Any]]:
    out = []
    for f in findings:
        assert isinstance(f, Finding)
        d = f.to_dict()
        out.append({k: d[k] for k in ("code", "severity", "sheet", "cell", "row", "value",
                                      "message", "address")})
    return out


def marked_file(store: Store, upload: Upload) -> Path | None:
    """The validated, marked copy of an upload (inside the data folder), if any."""
    if upload.marked is None:
        return None
    path = (store.folder / upload.marked).resolve()
    root = (store.folder / MARKED).resolve()
    return path if path.is_file() and path.is_relative_to(root) else None


# ---------------------------------------------------------------------- status
@dataclass(slots=True)
class TownState:
    town: Town
    state: str  # 已报送 | 未通过校验 | 未报送
    counting: Upload | None  # the upload that counts (the latest accepted one)
    uploads: list[Upload]  # the town's uploads of the round, oldest first
    contact: str

    def to_dict(self) -> dict[str, Any]:
        c = self.counting
        return {"town": self.town.code, "name": self.town.name, "short": self.town.short,
                "state": self.state, "contact": self.contact, "uploads": len(self.uploads),
                "counting": None if c is None else {
                    "upload": c.id, "received_at": c.received_at, "name": c.name,
                    "sha256": c.sha256, "passed": c.passed, "errors": c.errors,
                    "warnings": c.warnings}}


@dataclass(slots=True)
class RoundStatus:
    round_id: int
    opened_at: str
    towns: list[TownState]
    builds: list[dict[str, Any]] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for t in self.towns if t.state == state)

    @property
    def uploads(self) -> int:
        return sum(len(t.uploads) for t in self.towns)

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round_id, "opened_at": self.opened_at,
                "uploads": self.uploads,
                "counts": {s: self.count(s) for s in ("已报送", "未通过校验", "未报送")},
                "towns": [t.to_dict() for t in self.towns]}


def counting_upload(uploads: list[Upload]) -> Upload | None:
    """The latest accepted upload counts, as consolidation takes the latest file of a
    town: one with 错误 still counts as the town's (未通过校验) until a better one comes."""
    return next((u for u in reversed(uploads) if u.accepted), None)


def town_state(plan: Plan, town: Town, uploads: list[Upload]) -> TownState:
    counting = counting_upload(uploads)
    state = "未报送" if counting is None else "已报送" if counting.passed else "未通过校验"
    known = next((u for u in reversed(uploads) if u.reporter or u.phone), None)
    contact = " ".join(x for x in (known.reporter, known.phone) if x) if known else ""
    # the plan's contact for the town, where the plan names one
    planned = str(getattr(town, "contact", "") or "")
    return TownState(town, state, counting, uploads, contact or planned or "—")


def round_status(store: Store, plan: Plan) -> RoundStatus:
    round_id, opened = store.current_round()
    mine: dict[str, list[Upload]] = {t.code: [] for t in plan.towns}
    for u in store.uploads(round_id):
        mine.setdefault(u.town, []).append(u)
    towns = [town_state(plan, t, mine[t.code]) for t in plan.towns]
    return RoundStatus(round_id, opened, towns, store.builds(round_id))


# ---------------------------------------------------------------------- the round
@dataclass(frozen=True, slots=True)
class Built:
    build_id: int
    city: Path
    bulletin: Path | None
    summary: dict[str, Any]


def build_round(store: Store, plan: Plan, *,
                bulletin: Callable[[Path, Path, str], Path] | None = None) -> Built:
    """Consolidate the file that counts for each town (its original bytes, as sent) into
    the round's city workbook, recorded in the ledger; then the bulletin when
    ``bulletin(ledger, out, period)`` is given. Raises :class:`XlzError`."""
    from xlz.ops.consolidate import consolidate

    status = round_status(store, plan)
    stamp = now().replace(":", "").replace("-", "")[:15]
    folder = store.folder / BUILDS / f"第{status.round_id}轮-{stamp}"
    inputs = folder / "报送"
    inputs.mkdir(parents=True, exist_ok=True)
    sources = []
    for t in status.towns:
        u = t.counting
        if u is None or u.archived is None:
            continue
        source = archive_folder(store.folder / LEDGER_NAME) / u.archived
        target = inputs / _copy_name(t.town, u.id, u.name)
        shutil.copyfile(source, target)
        sources.append(target)
    if not sources:
        raise make_error(InputError, "portal.no_file", None)
    ledger = store.folder / LEDGER_NAME
    result = consolidate(sources, folder / f"市级汇总表-第{status.round_id}轮.xlsx", plan,
                         ledger=ledger)
    c = result.consolidation
    summary: dict[str, Any] = {
        "files": len(c.files), "projects": len(c.projects), "issues": len(c.issues),
        "towns": {s: sum(1 for t in c.towns if t.state == s)
                  for s in ("已报送", "未通过校验", "未报送")},
        "period": result.round.period.isoformat() if result.round else None}
    doc: Path | None = None
    if bulletin is not None and result.round is not None:
        try:
            doc = bulletin(ledger, folder / f"通报-第{status.round_id}轮.docx",
                           result.round.period.isoformat())
        except XlzError as exc:  # the city workbook stands; say why there is no bulletin
            summary["bulletin_error"] = exc.message
    build_id = store.add_build(status.round_id, result.out.relative_to(store.folder).as_posix(),
                               doc.relative_to(store.folder).as_posix() if doc else None,
                               summary)
    store.audit("office", "build", build=build_id, **summary)
    return Built(build_id, result.out, doc, summary)


def default_bulletin() -> Callable[[Path, Path, str], Path] | None:
    """``xlz bulletin``'s operation, when this installation has it."""
    try:  # by name: the bulletin is another issue's, and may not be installed yet
        make_bulletin = importlib.import_module("xlz.ops.bulletin").make_bulletin
    except ImportError:
        return None

    def make(ledger: Path, out: Path, period: str) -> Path:
        return Path(make_bulletin(ledger, out, period=period).out)

    return make


def built_file(store: Store, build_id: int, kind: str) -> Path | None:
    row = store.build(build_id)
    rel = None if row is None else row.get("city" if kind == "city" else "bulletin")
    if not rel:
        return None
    path = (store.folder / rel).resolve()
    root = (store.folder / BUILDS).resolve()
    return path if path.is_file() and path.is_relative_to(root) else None
