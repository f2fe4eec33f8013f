r"""derivcheck serve through a real HTTP client: every endpoint, bad input, the audience rule,
size and time limits, no stack trace in a response, no file outside the app served.

Two servers run on 127.0.0.1 for the whole module (student and staff audience); each loads the
key once and forks two workers.  Skipped with the reason when the 'serve' extra is missing.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _serve_helpers import LiveServer, web_stack_or_skip

web_stack_or_skip()

import httpx  # noqa: E402

from derivcheck.grading.api import check as grade_one  # noqa: E402
from derivcheck.grading.api import grade  # noqa: E402
from derivcheck.web import jobs  # noqa: E402
from derivcheck.web.app import Config, select_questions  # noqa: E402
from derivcheck.web.pool import CheckPool, HardTimeout, WorkerFailed  # noqa: E402

MATRIX_Q = "ift6135-h22/4.1"
MATRIX_RIGHT = r"\begin{pmatrix} 1 & \alpha \\ -\alpha & 1 \end{pmatrix}"
MATRIX_WRONG = r"\begin{pmatrix} 1 & \alpha \\ \alpha & 1 \end{pmatrix}"
EXPR_Q = "ift6135-h22/5.2"
EXPR_RIGHT = r"F_{12} - W_p F_1"
EXPR_WRONG = r"F_{12} - F_1 W_p"
TEXT_Q = "mit-hw4/4b"  # free text with a rubric (staff only)
#: 10^6 terms: far past a 2 s limit on any machine, cheap to parse
SLOW = r"\sum_{j=1}^{1000}\sum_{k=1}^{1000} K"
TIME_LIMIT = 2.0


@pytest.fixture(scope="module")
def student():
    srv = LiveServer(Config(audience="student", workers=2, time_limit_s=TIME_LIMIT))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def staff():
    srv = LiveServer(Config(audience="staff", workers=2, time_limit_s=TIME_LIMIT))
    yield srv
    srv.close()


def post(srv, path, body=None, **kw):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        if body is not None and "content" not in kw:
            kw["json"] = body
        return c.post(path, **kw)


def get(srv, path, **kw):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        return c.get(path, **kw)


def no_trace(r) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text, r.text[:500]


def strip_elapsed(d):
    if isinstance(d, dict):
        return {k: strip_elapsed(v) for k, v in d.items() if k != "elapsed_s"}
    if isinstance(d, list):
        return [strip_elapsed(x) for x in d]
    return d


# --------------------------------------------------------------------------
# endpoints
# --------------------------------------------------------------------------
def test_health_and_binding_default(student):
    r = get(student, "/api/health")
    assert r.status_code == 200
    assert r.json()["ok"] is True and r.json()["audience"] == "student"
    from derivcheck.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.audience == "student"


def test_check_right_and_wrong_matrix(student):
    right = post(student, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_RIGHT})
    wrong = post(student, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_WRONG})
    assert right.status_code == wrong.status_code == 200
    assert right.json()["verdict"] == "correct" and right.json()["score"] == right.json()["max_score"] > 0
    assert wrong.json()["verdict"] == "incorrect" and wrong.json()["score"] == 0


def test_check_equals_the_library_for_each_audience(student, staff):
    for srv, audience in ((student, "student"), (staff, "staff")):
        for answer in (EXPR_RIGHT, EXPR_WRONG):
            got = post(srv, "/api/check", {"question": EXPR_Q, "answer": answer}).json()
            want = grade_one(EXPR_Q, answer, time_limit_s=TIME_LIMIT).to_dict(audience)
            assert strip_elapsed(got) == strip_elapsed(want)
    assert post(student, "/api/check", {"question": EXPR_Q, "answer": EXPR_WRONG}).json()["verdict"] == "incorrect"


def test_check_equals_the_cli_json(staff):
    answer = EXPR_WRONG
    out = subprocess.run([sys.executable, "-m", "derivcheck.cli", "check", EXPR_Q, "--answer", answer, "--json"],
                         capture_output=True, text=True, timeout=300)
    cli = json.loads(out.stdout)
    got = post(staff, "/api/check", {"question": EXPR_Q, "answer": answer}).json()
    assert strip_elapsed(got) == strip_elapsed(cli)


def test_unknown_question_is_a_verdict_not_a_crash(student):
    r = post(student, "/api/check", {"question": "ift6135-h22/99", "answer": "x"})
    assert r.status_code == 200 and r.json()["verdict"] == "unknown-question"


def test_preview_shows_the_reading_in_tree_order(student):
    a = post(student, "/api/preview", {"question": EXPR_Q, "answer": r"\dot{W}_p = " + EXPR_RIGHT}).json()
    b = post(student, "/api/preview", {"question": EXPR_Q, "answer": EXPR_WRONG}).json()
    ra, rb = a["items"][0]["readings"], b["items"][0]["readings"]
    assert len(ra) == len(rb) == 1
    assert ra[0]["latex"].endswith(r"F_{12} - W_{p} \, F_{1}") and ra[0]["mathml"].startswith("<math")
    assert rb[0]["latex"] == r"F_{12} - F_{1} \, W_{p}"
    assert "after the last '='" in a["items"][0]["note"]


def test_preview_ambiguous_and_unreadable(student):
    amb = post(student, "/api/preview", {"question": "ift6135-a23/4.6.dstar", "answer": r"\log 2(1-D)"}).json()
    assert len(amb["items"][0]["readings"]) == 2
    bad = post(student, "/api/preview", {"question": MATRIX_Q, "answer": r"\begin{pmatrix} 1 & \alpha"}).json()
    err = bad["items"][0]["error"]
    assert err["position"] is not None and err["message"]
    cmd = post(student, "/api/preview", {"question": MATRIX_Q, "answer": r"\input{/etc/passwd}"}).json()
    assert "error" in cmd["items"][0]
    assert post(student, "/api/preview", {"question": "nope/1", "answer": "x"}).status_code == 404


def test_preview_mathml_is_sanitized():
    assert jobs.mathml(r"\text{<img src=x onerror=alert(1)>}") == ""
    assert "<script" not in jobs.mathml(r"\text{<script>alert(1)</script>}")
    assert jobs.mathml(r"\frac{1}{2}").startswith("<math")


def test_questions_and_question_detail(student, staff):
    qs = get(student, "/api/questions").json()["questions"]
    assert {q["question"] for q in qs} >= {MATRIX_Q, EXPR_Q, TEXT_Q}
    one = next(q for q in qs if q["question"] == MATRIX_Q)
    assert one["kind"] == "matrix" and one["points"] > 0 and one["notation"]
    detail_st = get(student, f"/api/questions/{TEXT_Q}").json()
    detail_sf = get(staff, f"/api/questions/{TEXT_Q}").json()
    assert "staff" not in detail_st and detail_sf["staff"]["rubric"]
    key = get(staff, f"/api/questions/{MATRIX_Q}").json()["staff"]
    assert key["key"]["status"] == "ok" and any(c["key"] for c in key["claims"])
    assert get(student, "/api/questions/nope/1").status_code == 404


def test_pages(student, staff):
    page = get(student, "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="answer"' in page.text and "/static/app.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert get(student, "/static/app.js").status_code == 200
    assert get(student, "/static/style.css").headers["content-type"].startswith("text/css")
    assert "/staff" not in page.text
    staff_page = get(staff, "/")
    assert "/staff/report" in staff_page.text
    idx = get(staff, "/staff")
    assert idx.status_code == 200 and MATRIX_Q in idx.text
    qv = get(staff, f"/staff/questions/{MATRIX_Q}")
    assert qv.status_code == 200 and "gan_dynamics.update_matrix" in qv.text
    assert get(staff, "/staff/report").status_code == 200


def test_staff_report_renders_saved_results(staff, student, tmp_path, monkeypatch, registry):
    from derivcheck.runner import document, verify

    claims = registry.select("gan_dynamics.eigenvalue_modulus")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document(verify(claims, registry=registry))))
    monkeypatch.setattr(staff.state.config, "results_file", str(path))
    r = get(staff, "/staff/report")
    assert r.status_code == 200 and "<html" in r.text.lower() and "gan_dynamics.eigenvalue_modulus" in r.text
    missing = tmp_path / "none.json"
    monkeypatch.setattr(staff.state.config, "results_file", str(missing))
    r = get(staff, "/staff/report")
    assert r.status_code == 200 and "derivcheck verify" in r.text and str(missing) in r.text
    assert get(student, "/staff/report").status_code == 403


# --------------------------------------------------------------------------
# grading a submission
# --------------------------------------------------------------------------
SUBMISSION = {"student": "anon-7", "answers": {MATRIX_Q: MATRIX_WRONG, EXPR_Q: EXPR_RIGHT, "ift6135-h22/4.2": "(0, 0)",
                                               "ift6135-h22/1.3a": "a longer KL gap", "ift6135-h22/99": "x"}}


def test_grade_equals_the_library_and_the_cli(student, staff, tmp_path):
    import yaml

    text = yaml.safe_dump(SUBMISSION, sort_keys=False)
    want = strip_elapsed(grade(text.encode(), name="<upload>", time_limit_s=TIME_LIMIT).to_dict("student"))
    as_yaml = post(student, "/api/grade", content=text.encode(), headers={"Content-Type": "application/yaml"})
    as_json = post(student, "/api/grade", content=json.dumps(SUBMISSION).encode(),
                   headers={"Content-Type": "application/json"})
    wrapped = post(student, "/api/grade", {"submission": text})
    for r in (as_yaml, wrapped):
        assert r.status_code == 200, r.text
        assert strip_elapsed(r.json()) == want
    assert strip_elapsed(as_json.json())["results"] == want["results"]
    verdicts = {r["question"]: r["verdict"] for r in as_yaml.json()["results"]}
    assert verdicts[MATRIX_Q] == "incorrect" and verdicts[EXPR_Q] == "correct"
    assert verdicts["ift6135-h22/4.2"] == "correct" and verdicts["ift6135-h22/1.3a"] == "needs-human"
    assert verdicts["ift6135-h22/99"] == "unknown-question"
    assert verdicts["ift6135-h22/5.5"] == "unanswered"  # the assignment's other questions score 0
    assert any(w["code"] == "unknown-question" for w in as_yaml.json()["warnings"])
    # the CLI on the same file, staff audience
    f = tmp_path / "anon-7.yaml"
    f.write_text(text)
    out = subprocess.run([sys.executable, "-m", "derivcheck.cli", "grade", str(f), "--format", "json",
                          "--audience", "staff", "--time-limit", str(TIME_LIMIT)],
                         capture_output=True, text=True, timeout=300)
    cli = json.loads(out.stdout)[0]
    got = post(staff, f"/api/grade?name={f}", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert strip_elapsed(got.json()) == strip_elapsed(cli)
    csv_r = post(student, "/api/grade?format=csv", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert csv_r.headers["content-type"].startswith("text/csv")
    lines = csv_r.text.strip().splitlines()
    assert lines[0].startswith("student,source,") and MATRIX_Q in lines[0] and lines[1].startswith("anon-7,")


@pytest.mark.parametrize("content,why", [
    (b"student: x\nanswers: [1, 2]\n", "mapping"),
    (b"- just\n- a list\n", "mapping"),
    (b"answers: {a: [unclosed\n", "line"),
    (b"a: &x [1]\nb: *x\n", "anchors"),
    (b"[1, 2]", "mapping"),
    (b"\xff\xfe\x00", "utf-8"),
])
def test_grade_bad_submissions(student, content, why):
    r = post(student, "/api/grade", content=content, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and why in r.json()["error"].lower(), r.text
    no_trace(r)


# --------------------------------------------------------------------------
# bad input, limits, errors
# --------------------------------------------------------------------------
@pytest.mark.parametrize("content,status", [
    (b"not json", 400),
    (b"[1", 400),
    (b"[]", 400),
    (b'{"answer": "x"}', 400),
    (b'{"question": 7, "answer": "x"}', 400),
    (b'{"question": "ift6135-h22/4.1"}', 400),
    (b'{"question": "ift6135-h22/4.1", "answer": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
    (b"\xff\xfe", 400),
])
def test_bad_requests_get_clear_json_errors(student, content, status):
    for path in ("/api/check", "/api/preview"):
        r = post(student, path, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == status, r.text
        assert isinstance(r.json()["error"], str) and r.json()["error"]
        no_trace(r)


def test_size_limits(student):
    big = {"question": MATRIX_Q, "answer": "x" * (student.state.config.max_body + 10)}
    r = post(student, "/api/check", big)
    assert r.status_code == 413 and "bytes" in r.json()["error"]
    many = {"question": "vae-simclr/1a", "answer": ["a = a"] * 1000}  # the grader's own limit: a verdict
    r = post(student, "/api/check", many)
    assert r.status_code == 200 and r.json()["verdict"] == "unparseable" and "items" in r.json()["message"]
    upload = b"student: x\nanswers:\n" + b"  mit-hw4/4c: " + b"i" * (student.state.config.max_upload + 10) + b"\n"
    r = post(student, "/api/grade", content=upload, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413
    # a chunked body without Content-Length is cut off too
    r = post(student, "/api/check", content=iter([b'{"question": "x", "answer": "'] + [b"y" * 4096] * 40 + [b'"}']),
             headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_routes_methods_and_files_outside_the_app(student):
    r = get(student, "/api/check")
    assert r.status_code == 405 and r.json()["error"]
    for path in ("/nope", "/static/app.py", "/static/../app.py", "/static/%2e%2e/%2e%2e/pyproject.toml",
                 "/static/..%2fapp.py", "/../pyproject.toml", "/static/templates/index.html",
                 "/static//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"):
        r = get(student, path)
        assert r.status_code == 404, path
        assert "[build-system]" not in r.text and "root:" not in r.text
        no_trace(r)


def test_crash_in_a_worker_never_shows_a_trace(monkeypatch):
    def broken(qid, answer, limit):
        raise RuntimeError("boom at /secret/path.py line 3")

    monkeypatch.setitem(jobs.JOBS, "check", broken)
    srv = LiveServer(Config(audience="staff", workers=1, time_limit_s=TIME_LIMIT))
    try:
        r = post(srv, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_RIGHT})
        assert r.status_code == 200 and r.json()["verdict"] == "needs-human"
        assert "boom" not in r.text and "secret" not in r.text
        no_trace(r)
    finally:
        srv.close()


# --------------------------------------------------------------------------
# the audience rule
# --------------------------------------------------------------------------
def test_student_view_has_no_key_or_rubric(student):
    rubric_words = "largest distance between the features"
    for q, a in ((MATRIX_Q, MATRIX_RIGHT), (MATRIX_Q, MATRIX_WRONG), (TEXT_Q, "some text"),
                 ("mit-hw4/4c", "i"), ("mit-hw4/8b.i", "{shape: invariant, location: invariant, color: invariant}")):
        r = post(student, "/api/check", {"question": q, "answer": a})
        body = r.json()
        assert "staff" not in body
        assert rubric_words not in r.text and "key_claims" not in r.text and "gan_dynamics." not in r.text
    sub = post(student, "/api/grade", SUBMISSION)
    assert all("staff" not in x for x in sub.json()["results"])
    assert rubric_words not in sub.text


def test_staff_sees_the_key_and_may_ask_for_the_student_view(staff):
    r = post(staff, "/api/check", {"question": TEXT_Q, "answer": "x"}).json()
    assert "largest distance" in r["staff"]["rubric"]
    r = post(staff, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_RIGHT}).json()
    assert r["staff"]["key_claims"] == ["gan_dynamics.update_matrix"]
    as_student = post(staff, "/api/check?audience=student", {"question": TEXT_Q, "answer": "x"}).json()
    assert "staff" not in as_student
    as_student = post(staff, "/api/check", {"question": TEXT_Q, "answer": "x", "audience": "student"}).json()
    assert "staff" not in as_student


def test_student_server_refuses_staff(student):
    r = post(student, "/api/check", {"question": TEXT_Q, "answer": "x", "audience": "staff"})
    assert r.status_code == 403 and "staff" in r.json()["error"]
    assert post(student, "/api/check?audience=staff", {"question": TEXT_Q, "answer": "x"}).status_code == 403
    assert post(student, "/api/check?audience=root", {"question": TEXT_Q, "answer": "x"}).status_code == 400
    for path in ("/staff", "/staff/report", f"/staff/questions/{MATRIX_Q}"):
        r = get(student, path)
        assert r.status_code == 403 and "Rubric" not in r.text, path
    assert get(student, f"/api/questions/{TEXT_Q}?audience=staff").status_code == 403


def test_student_view_has_no_key_value(student, staff):
    for srv in (student, staff):
        r = post(srv, "/api/check?audience=student", {"question": MATRIX_Q, "answer": MATRIX_WRONG}).json()
        assert r["verdict"] == "incorrect"
        # the key is [[1, a], [-a, 1]]: its value on the counterexample instance must not be shown
        alpha = r["details"]["judgement"]["counterexample"]["instance"]["alpha"]
        assert f"-{alpha}" not in json.dumps(r) and "reference" not in json.dumps(r["details"])


# --------------------------------------------------------------------------
# time limits: a slow answer never blocks the others
# --------------------------------------------------------------------------
def test_slow_answer_times_out_without_blocking_others(student):
    slow_result = {}

    def slow():
        slow_result["r"] = post(student, "/api/check", {"question": "mit-hw4/1", "answer": SLOW})

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    fast = [post(student, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_RIGHT}) for _ in range(3)]
    assert all(r.json()["verdict"] == "correct" for r in fast)
    assert t.is_alive(), "the slow answer finished before the fast ones: it was not slow"
    t.join(timeout=60)
    assert slow_result["r"].json()["verdict"] == "timeout"
    assert post(student, "/api/check", {"question": MATRIX_Q, "answer": MATRIX_RIGHT}).json()["verdict"] == "correct"


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _fail():
    raise ValueError("nope")


def test_pool_hard_limit_replaces_a_stuck_worker():
    pool = CheckPool({"sleep": _sleep, "fail": _fail}, n=2, queue_limit_s=30)
    try:
        before = set(pool.pids)

        async def scenario():
            stuck = asyncio.ensure_future(pool.run("sleep", (30,), hard_limit_s=0.5))
            quick = await asyncio.gather(*(pool.run("sleep", (0,), hard_limit_s=10) for _ in range(4)))
            with pytest.raises(HardTimeout):
                await stuck
            with pytest.raises(WorkerFailed):
                await pool.run("fail", (), hard_limit_s=10)
            with pytest.raises(WorkerFailed):
                await pool.run("not-a-job", (), hard_limit_s=10)
            return quick, await pool.run("sleep", (0,), hard_limit_s=10)

        quick, after = asyncio.run(scenario())
        assert quick == [0, 0, 0, 0] and after == 0
        assert pool.replaced == 1 and len(set(pool.pids) - before) == 1
    finally:
        pool.close()


# --------------------------------------------------------------------------
# configuration and the command line
# --------------------------------------------------------------------------
def test_only_pattern():
    from derivcheck.grading.questions import questions

    got = select_questions("ift6135-h22/4.*", questions())
    assert "ift6135-h22/4.1" in got and "ift6135-h22/4.3.behaviour" in got and "ift6135-h22/5.2" not in got
    got = select_questions("mit-hw4", questions())
    assert got and all(q.startswith("mit-hw4/") for q in got)
    assert select_questions(None, questions()) == tuple(questions())
    with pytest.raises(ValueError, match="names no question"):
        select_questions("ift6135-h22/77", questions())


EXTRA = Path(__file__).resolve().parents[1] / "examples" / "extra-assignment" / "questions.yaml"


def test_cli_serve_starts_on_loopback_and_answers():
    """The real command: loopback by default, --only restricts, --questions adds an assignment's records."""
    cmd = [sys.executable, "-m", "derivcheck.cli", "serve", "--port", "0", "--workers", "1",
           "--only", "extra-dl/sigm*", "--questions", str(EXTRA)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 240
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running on http://" in line.lower():
                url = line.split("http://", 1)[1].split()[0]
                break
        assert url and url.startswith("127.0.0.1:"), "".join(lines)
        qs = httpx.get(f"http://{url}/api/questions", timeout=60).json()["questions"]
        assert [q["question"] for q in qs] == ["extra-dl/sigmoid"]
        right = httpx.post(f"http://{url}/api/check", json={"question": "extra-dl/sigmoid", "answer": "s(1-s)"},
                           timeout=60).json()
        wrong = httpx.post(f"http://{url}/api/check", json={"question": "extra-dl/sigmoid", "answer": "s(1+s)"},
                           timeout=60).json()
        assert right["verdict"] == "correct" and wrong["verdict"] == "incorrect"
        r = httpx.post(f"http://{url}/api/check", json={"question": EXPR_Q, "answer": EXPR_RIGHT}, timeout=60)
        assert r.json()["verdict"] == "unknown-question" and "not offered" in r.json()["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --------------------------------------------------------------------------
# derivations: the step checker's verdicts and the first wrong step, and the preview of each step
# --------------------------------------------------------------------------
DERIV_Q = "vae-simclr/1a"
DERIV_RIGHT = [r"\log p(x) = \mathbb{E}_{q_\phi(z|x)}[\log p(x)]",
               r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{p(z|x)}]",
               r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{q_\phi(z|x)}] + "
               r"\mathbb{E}_{q_\phi(z|x)}[\log \frac{q_\phi(z|x)}{p(z|x)}]",
               r"= \mathcal{L}(\phi, x) + D_{KL}(q_\phi(z|x) \| p(z|x))"]
#: the usual slip: Bayes' rule with p(z) in place of p(z|x)
DERIV_WRONG = [DERIV_RIGHT[0], r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{p(z)}]", DERIV_RIGHT[3]]


def test_derivation_verdicts_and_first_wrong_step(student):
    right = post(student, "/api/check", {"question": DERIV_Q, "answer": DERIV_RIGHT}).json()
    wrong = post(student, "/api/check", {"question": DERIV_Q, "answer": DERIV_WRONG}).json()
    assert right["verdict"] == "correct" and right["first_wrong_step"] is None
    assert [s["verdict"] for s in right["details"]["steps"]] == ["holds"] * 4
    assert wrong["verdict"] == "incorrect" and wrong["first_wrong_step"] == 1
    step = wrong["details"]["steps"][1]
    assert step["verdict"] == "fails" and step["counterexample"]
    assert strip_elapsed(wrong) == strip_elapsed(grade_one(DERIV_Q, DERIV_WRONG, time_limit_s=TIME_LIMIT)
                                                 .to_dict("student"))


def test_derivation_preview_reads_each_step(student):
    pv = post(student, "/api/preview", {"question": DERIV_Q, "answer": DERIV_WRONG + [r"\leq \log 2(1-x"]}).json()
    items = pv["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3]
    assert items[1]["readings"][0]["latex"].startswith("= ") and r"\frac{p(x,z)}{p(z)}" in items[1]["readings"][0]["latex"]
    assert items[0]["readings"][0]["mathml"].startswith("<math")
    assert "error" in items[3] and items[3]["error"]["position"] is not None
