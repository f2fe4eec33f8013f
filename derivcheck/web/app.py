"""The Starlette application of ``derivcheck serve``: the check page, the JSON API, staff pages.

    app = create_app(Config(audience="student"))   # loads the key, forks the workers
    uvicorn.run(app, host="127.0.0.1", port=8000)

API (JSON in, JSON out; every error is ``{"error": MESSAGE}`` with a 4xx/5xx status):

* ``POST /api/check``   ``{"question": ID, "answer": TEXT_OR_LIST}`` -> the object
  ``derivcheck check --json`` prints (``Result.to_dict(audience)``)
* ``POST /api/grade``   a submission file as the body (YAML or JSON: ``student``,
  ``answers``), or ``{"submission": FILE_TEXT}`` -> ``GradeReport.to_dict(audience)``,
  one element of what ``derivcheck grade --format json`` prints (``?format=csv``: its CSV)
* ``POST /api/preview`` ``{"question", "answer"}`` -> how the grader reads the answer
  (LaTeX and MathML of every reading, or where the parse stopped)
* ``GET /api/questions`` and ``GET /api/questions/ID`` -> ask, kind, points, notation
  (staff: also the rubric, the key and the claims behind it)
* ``GET /api/health``
* staff only: ``GET /staff`` (every question, its key status), ``GET /staff/questions/ID``,
  ``GET /staff/report`` (the verification report, rendered by :mod:`derivcheck.reports`)

The audience is fixed when the server starts (``--audience``, default student).
A staff server answers with the staff view unless a request asks for
``"audience": "student"`` (body or query); a student server refuses staff
requests (403).  The student view never contains the key, a rubric or a key
value (``Result.staff`` is dropped by :meth:`Result.to_dict`).

Hardening: request bodies are capped (:attr:`Config.max_body`), every check
runs in a forked worker under the grader's time limit plus a hard limit
(:mod:`.pool`), a response never carries a stack trace (errors are logged on
the server), and only the files of :data:`STATIC_FILES` are served.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import jobs
from .pool import Busy, CheckPool, HardTimeout, WorkerFailed

log = logging.getLogger("derivcheck.serve")

HERE = Path(__file__).parent
#: the only files served besides the pages (name -> media type); nothing else on disk is reachable
STATIC_FILES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
AUDIENCES = ("student", "staff")


@dataclass
class Config:
    audience: str = "student"
    only: Optional[str] = None  # offer only the questions this pattern names (prefix or glob)
    results_file: Optional[str] = None  # the verification results the staff report renders
    workers: int = 2
    time_limit_s: float = 5.0  # per answer, the grader's own limit
    grace_s: float = 3.0  # hard limit = time limit + grace (the worker is replaced)
    preview_limit_s: float = 2.0
    queue_limit_s: float = 30.0  # how long a request waits for a free worker before 503
    max_body: int = 64 * 1024  # /api/check and /api/preview
    max_upload: int = 512 * 1024  # /api/grade (the submission loader's own cap)
    offered: Optional[tuple] = field(default=None, repr=False)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------
# Question selection (--only PATTERN)
# --------------------------------------------------------------------------
def select_questions(pattern: Optional[str], known) -> tuple:
    """The question IDs ``pattern`` names: an assignment or ID prefix, or a glob; all when None."""
    import fnmatch

    known = list(known)
    if not pattern:
        return tuple(known)
    p = pattern.strip()
    hits = [q for q in known if q == p or q.startswith(p.rstrip("/") + "/") or fnmatch.fnmatchcase(q, p)]
    if not hits:
        from derivcheck.catalogue import did_you_mean

        raise ValueError(f"--only {pattern!r} names no question; IDs are '<assignment>/<number>'."
                         + did_you_mean(p, known))
    return tuple(hits)


# --------------------------------------------------------------------------
# The application state
# --------------------------------------------------------------------------
class State:
    def __init__(self, config: Config):
        from derivcheck.grading.questions import questions

        if config.audience not in AUDIENCES:
            raise ValueError(f"audience must be student or staff, not {config.audience!r}")
        self.config = config
        jobs.warm()  # the key is loaded (and verified) once, here, before the workers are forked
        allq = questions()
        offered = config.offered or select_questions(config.only, allq)
        self.all_questions = allq
        self.questions = {qid: allq[qid] for qid in offered}
        self.pool = CheckPool(jobs.JOBS, n=config.workers, queue_limit_s=config.queue_limit_s)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.static = {name: (HERE / "static" / name).read_bytes() for name in STATIC_FILES}

    # -- audience ----------------------------------------------------------------------
    def audience(self, request: Request, body: Optional[dict] = None) -> str:
        asked = request.query_params.get("audience") or (body or {}).get("audience")
        if asked is None:
            return self.config.audience
        if asked not in AUDIENCES:
            raise ApiError(400, "audience must be 'student' or 'staff'")
        if asked == "staff" and self.config.audience != "staff":
            raise ApiError(403, "this server shows the student view only (start it with --audience staff)")
        return asked

    def require_staff(self, request: Request) -> None:
        if self.config.audience != "staff":
            raise ApiError(403, "staff pages are off on this server (start it with --audience staff)")

    # -- checks ------------------------------------------------------------------------
    async def check(self, qid: str, answer: Any) -> dict:
        """The staff dictionary of one answer's result (a timeout or a failed worker is a result too)."""
        from derivcheck.grading.results import NEEDS_HUMAN, TIMEOUT, UNKNOWN_QUESTION

        if qid not in self.questions:
            if qid in self.all_questions:
                return _result(qid, UNKNOWN_QUESTION, 0.0, f"question {qid} is not offered by this server "
                               f"(GET /api/questions lists its {len(self.questions)} questions)", answer)
            return jobs.check(qid, answer, 0)  # the grader's own unknown-question result (a lookup, no check)
        q = self.questions[qid]
        limit = self.config.time_limit_s
        try:
            return await self.pool.run("check", (qid, answer, limit), limit + self.config.grace_s)
        except HardTimeout:
            return _result(qid, TIMEOUT, q.points,
                           f"checking this answer ran past the {limit:g} s limit (an answer this costly to "
                           "evaluate goes to a person)", answer)
        except WorkerFailed as exc:
            log.error("check %s failed in a worker: %s", qid, exc)
            return _result(qid, NEEDS_HUMAN, q.points, "internal error while checking; graded by a person", answer)

    async def preview(self, qid: str, answer: Any) -> dict:
        if qid not in self.questions:
            raise ApiError(404, f"unknown question ID {qid!r}")
        try:
            return await self.pool.run("preview", (qid, answer), self.config.preview_limit_s)
        except HardTimeout:
            return {"question": qid, "items": [], "error": "the preview took too long; the check still runs"}
        except WorkerFailed as exc:
            log.error("preview %s failed in a worker: %s", qid, exc)
            return {"question": qid, "items": [], "error": "internal error while reading the answer"}


def _result(qid: str, verdict: str, points: float, message: str, answer: Any = None) -> dict:
    from derivcheck.grading.results import Result

    r = Result(qid, verdict, 0.0, points, message)
    r.answer = answer  # echoed back, as the grader does
    return r.to_dict("staff")


def for_audience(d: dict, audience: str) -> dict:
    """The result dictionary as :meth:`Result.to_dict` gives it to ``audience``."""
    return rebuild(d).to_dict(audience)


def rebuild(d: dict):
    """A :class:`Result` from its staff dictionary (what the workers send back), types kept as they are."""
    import dataclasses

    from derivcheck.grading.results import Result

    names = {f.name for f in dataclasses.fields(Result)}
    return Result(**{k: v for k, v in d.items() if k in names})


# --------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------
async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise ApiError(413, f"request body over {limit} bytes")
        except ValueError:
            raise ApiError(400, "bad Content-Length") from None
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client went away") from None
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {str(exc)[:200]}") from None


async def _question_and_answer(request: Request, st: State) -> tuple:
    body = _json(await _body(request, st.config.max_body))
    if not isinstance(body, dict):
        raise ApiError(400, 'send a JSON object {"question": ID, "answer": TEXT_OR_LIST}')
    qid = body.get("question")
    if not isinstance(qid, str) or not qid.strip() or len(qid) > 200:
        raise ApiError(400, '"question" must be a question ID such as "ift6135-h22/4.1"')
    if "answer" not in body:
        raise ApiError(400, '"answer" is missing (LaTeX text, or a list of steps for a derivation)')
    return body, qid.strip(), body["answer"]


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------
def _state(request: Request) -> State:
    return request.app.state.derivcheck


async def api_check(request: Request) -> Response:
    st = _state(request)
    body, qid, answer = await _question_and_answer(request, st)
    audience = st.audience(request, body)
    return JSONResponse(for_audience(await st.check(qid, answer), audience))


async def api_preview(request: Request) -> Response:
    st = _state(request)
    _, qid, answer = await _question_and_answer(request, st)
    return JSONResponse(await st.preview(qid, answer))


async def _submission(request: Request, st: State) -> tuple:
    """``(request options, submission)``: the body is the file (YAML or JSON), or ``{"submission": TEXT}``.

    The file is read by the grader's hardened loader in a worker, so a hostile file costs a worker at most
    its hard limit."""
    raw = await _body(request, st.config.max_upload)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    opts: dict = {}
    if ctype == "application/json" and raw.lstrip()[:1] == b"{":
        body = _json(raw)
        if isinstance(body.get("submission"), str):
            opts = {k: v for k, v in body.items() if k != "submission"}
            raw = body["submission"].encode("utf-8")
    name = request.query_params.get("name") or "<upload>"
    try:
        sub = await st.pool.run("load_submission", (raw, name[:200]), st.config.preview_limit_s + st.config.grace_s)
    except WorkerFailed as exc:
        first = str(exc).split("\n")[0]
        kind, _, msg = first.partition(": ")
        if kind in ("SubmissionError", "ValueError"):
            raise ApiError(400, msg[:1000]) from None
        log.error("reading a submission failed: %s", exc)
        raise ApiError(400, "the submission could not be read (YAML or JSON with 'student' and 'answers')") from None
    except HardTimeout:
        raise ApiError(400, "reading the submission took too long") from None
    return opts, sub


async def api_grade(request: Request) -> Response:
    """Grade a submission as :func:`derivcheck.grading.api.grade` does, each answer in a worker."""
    import time

    from derivcheck.grading import formats
    from derivcheck.grading.api import assignment_points
    from derivcheck.grading.results import GradeReport, complete
    from derivcheck.grading.submission import assignments_of

    st = _state(request)
    opts, sub = await _submission(request, st)
    audience = st.audience(request, opts)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "format must be json or csv")
    start = time.perf_counter()
    items = list(sub["answers"].items())
    dicts = await asyncio.gather(*(st.check(str(qid), answer) for qid, answer in items))
    report = GradeReport(sub["student"], [rebuild(d) for d in dicts], warnings=sub.get("warnings", []),
                         source=sub.get("source"), assignments=assignments_of(sub))
    complete(report, assignment_points(report.assignments))
    report.elapsed_s = time.perf_counter() - start
    if fmt == "csv":
        return Response(formats.to_csv([report]), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="grades.csv"'})
    return JSONResponse(report.to_dict(audience))


async def api_questions(request: Request) -> Response:
    st = _state(request)
    audience = st.audience(request)
    return JSONResponse({"audience": audience,
                         "questions": [_describe(q, audience, brief=True) for q in st.questions.values()]})


async def api_question(request: Request) -> Response:
    st = _state(request)
    qid = request.path_params["qid"]
    if qid not in st.questions:
        raise ApiError(404, f"unknown question ID {qid!r}")
    return JSONResponse(_describe(st.questions[qid], st.audience(request), brief=False))


def _describe(q, audience: str, brief: bool) -> dict:
    d = q.describe()
    d["assignment"], d["number"] = q.id.split("/", 1)
    if q.kind == "derivation" and not d.get("notation"):
        d["notation"] = _derivation_notation(q)
    if audience == "staff" and not brief:
        d["staff"] = staff_view(q)
    return d


def _derivation_notation(q) -> Optional[str]:
    """The notation a derivation's steps are read in (the step checker's context), if it has one."""
    try:
        from derivcheck.grading.questions import contexts
        from derivcheck.grading.steps import derivation_spec
    except ImportError:
        return None
    spec = derivation_spec(q)
    ctx = contexts().get(spec.context) if spec is not None else None
    return ctx.description if ctx is not None else None


def staff_view(q) -> dict:
    """Rubric, key entry and the claims behind it (staff only)."""
    from derivcheck.grading.keys import key_entry

    from derivcheck import REGISTRY, load_all

    entry = key_entry(q.id)
    reg = load_all(REGISTRY)
    claims = [{"id": c.id, "statement": c.statement, "assumptions": list(c.assumptions), "expect": c.expect.value,
               "title": c.title, "key": c.id in entry.claims} for c in reg.for_question(q.id)]
    return {"rubric": q.spec.rubric or None, "unavailable": q.spec.unavailable or None,
            "key": entry.describe(), "verification": entry.verification or None, "claims": claims}


async def api_health(request: Request) -> Response:
    st = _state(request)
    return JSONResponse({"ok": True, "audience": st.config.audience, "workers": st.pool.n,
                         "questions": len(st.questions), "time_limit_s": st.config.time_limit_s})


# -- pages ---------------------------------------------------------------------------
def _page(st: State, name: str, **ctx) -> HTMLResponse:
    html = st.templates.get_template(name).render(audience=st.config.audience, **ctx)
    return HTMLResponse(html)


async def page_index(request: Request) -> Response:
    st = _state(request)
    qs = [_describe(q, "student", brief=True) for q in st.questions.values()]
    assignments = list(dict.fromkeys(q["assignment"] for q in qs))
    return _page(st, "index.html", questions=qs, assignments=assignments,
                 questions_json=json.dumps(qs), config=st.config)


async def page_staff(request: Request) -> Response:
    from derivcheck.grading.keys import key_entry

    st = _state(request)
    st.require_staff(request)
    rows = []
    for q in st.questions.values():
        e = key_entry(q.id)
        rows.append({"id": q.id, "kind": q.kind, "points": q.points, "ask": q.ask, "key_status": e.status,
                     "claims": list(e.claims), "rubric": bool(q.spec.rubric)})
    return _page(st, "staff.html", rows=rows, report=bool(_results_doc(st.config.results_file)))


async def page_staff_question(request: Request) -> Response:
    st = _state(request)
    st.require_staff(request)
    qid = request.path_params["qid"]
    if qid not in st.questions:
        raise ApiError(404, f"unknown question ID {qid!r}")
    q = st.questions[qid]
    view = staff_view(q)
    doc = _results_doc(st.config.results_file) or {}
    status = {c["id"]: c.get("status") for c in doc.get("claims", [])}
    for c in view["claims"]:
        c["status"] = status.get(c["id"], "not run")
        c["statement_mathml"] = jobs.mathml(c["statement"], True)
    return _page(st, "staff_question.html", q=_describe(q, "staff", brief=True), view=view,
                 key_json=json.dumps(view["key"], indent=1, default=str),
                 verification_json=json.dumps(view["verification"], indent=1, default=str))


async def page_staff_report(request: Request) -> Response:
    st = _state(request)
    st.require_staff(request)
    html = _report_html(st.config.results_file)
    if html is None:
        return _page(st, "no_report.html", path=st.config.results_file or _default_results())
    return HTMLResponse(html)


def _default_results() -> str:
    try:
        from derivcheck.store import results_path  # the results store, where the project has one

        return str(results_path())
    except ImportError:
        from derivcheck.cli import LAST_RESULTS

        return str(LAST_RESULTS)


@functools.lru_cache(maxsize=4)
def _results_doc_cached(path: str, mtime: float) -> Optional[dict]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("claims"), list) else None


def _results_doc(path: Optional[str]) -> Optional[dict]:
    path = path or _default_results()
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return _results_doc_cached(path, mtime)


@functools.lru_cache(maxsize=2)
def _report_html_cached(path: str, mtime: float) -> Optional[str]:
    from derivcheck.reports.html import render_html

    doc = _results_doc_cached(path, mtime)
    if doc is None:
        return None
    try:
        return render_html(doc)
    except Exception:  # noqa: BLE001 - an old or partial results file
        log.exception("rendering the verification report from %s failed", path)
        return None


def _report_html(path: Optional[str]) -> Optional[str]:
    path = path or _default_results()
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return _report_html_cached(path, mtime)


async def static_file(request: Request) -> Response:
    st = _state(request)
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise ApiError(404, "not found")
    return Response(st.static[name], media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})


# --------------------------------------------------------------------------
# Errors: JSON, never a stack trace
# --------------------------------------------------------------------------
async def on_api_error(request: Request, exc: ApiError) -> Response:
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    messages = {404: "not found", 405: "method not allowed"}
    return JSONResponse({"error": messages.get(exc.status_code, str(exc.detail))}, status_code=exc.status_code)


async def on_busy(request: Request, exc: Busy) -> Response:
    return JSONResponse({"error": "the server is busy; try again in a moment"}, status_code=503,
                        headers={"Retry-After": "2"})


async def on_crash(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal error; the server log has the details"}, status_code=500)


class _Headers:
    """Security headers on every response (pages load only their own script and style)."""

    CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", self.CSP.encode()),
                            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(config: Optional[Config] = None, state: Optional[State] = None) -> Starlette:
    """The application; builds the :class:`State` (key, workers) unless one is given."""
    st = state or State(config or Config())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        st.pool.close()

    routes = [
        Route("/", page_index),
        Route("/api/health", api_health),
        Route("/api/check", api_check, methods=["POST"]),
        Route("/api/preview", api_preview, methods=["POST"]),
        Route("/api/grade", api_grade, methods=["POST"]),
        Route("/api/questions", api_questions),
        Route("/api/questions/{qid:path}", api_question),
        Route("/staff", page_staff),
        Route("/staff/report", page_staff_report),
        Route("/staff/questions/{qid:path}", page_staff_question),
        Route("/static/{name}", static_file),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: on_api_error, HTTPException: on_http_error, Busy: on_busy, Exception: on_crash})
    app.state.derivcheck = st
    app.add_middleware(_Headers)
    return app
