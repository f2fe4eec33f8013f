r"""check() and grade(): verdict kinds, partial credit, broken answers in a batch, time limits,
the answer key's load-time verification, output formats and the CLI subcommands."""
import argparse
import json

import pytest
import sympy as sp
import yaml

from derivcheck import REGISTRY, grading
from derivcheck.catalogue import questions as catalogue_questions
from derivcheck.derivations import prove
from derivcheck.grading import formats, keys
from derivcheck.grading.answers import _label
from derivcheck.grading.cli import add_commands
from derivcheck.grading.questions import questions
from derivcheck.registry import Registry

A_OK = r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}"


@pytest.fixture(autouse=True)
def _loaded(registry):
    return registry


def run_cli(*argv) -> int:
    p = argparse.ArgumentParser(prog="derivcheck")
    sub = p.add_subparsers(dest="command", required=True)
    add_commands(sub)
    args = p.parse_args(list(argv))
    return args.func(args)


# -- the catalogue ---------------------------------------------------------------------------
def test_every_catalogue_id_has_a_grading_spec():
    qs = questions()
    cat = catalogue_questions()
    assert set(qs) == set(cat)
    for qid, q in qs.items():
        assert q.kind == cat[qid].kind
        assert q.points > 0
        if q.kind in ("expression", "matrix", "point") or (q.kind == "set" and not q.spec.labels):
            assert q.context is not None, qid
        if q.kind == "text":
            assert len(q.spec.rubric) > 40, qid
        if q.kind == "unavailable":
            assert q.spec.unavailable, qid


def test_every_key_entry_loads_and_names_its_claim():
    """Every question gets an entry; each present entry names a claim that answers the question,
    expects to hold and has the right answer type (the claims' own checks run in ``pytest derivations``)."""
    entries = keys.load_key(verify=False)
    assert set(entries) == set(questions())
    ok = [e for e in entries.values() if e.ok]
    assert {"ift6135-h22/4.1", "ift6135-h22/4.2", "ift6135-h22/4.3", "ift6135-h22/4.3.behaviour"} <= \
        {e.question for e in ok}
    for e in ok:
        claim = REGISTRY.get(e.claims[0])
        assert e.question in claim.questions and claim.expect.value == "holds"
        assert keys.fits(questions()[e.question].kind, claim.answer)
    for e in entries.values():
        if e.status in (keys.MISSING, keys.AMBIGUOUS, keys.UNREADABLE):
            assert e.message
        if questions()[e.question].kind in ("text", "derivation", "code", "unavailable"):
            assert e.status == keys.NO_KEY


def test_gan_dynamics_keys_are_verified_at_load(monkeypatch):
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "0")
    keys.reset_cache()
    for qid in ("ift6135-h22/4.1", "ift6135-h22/4.2", "ift6135-h22/4.3", "ift6135-h22/4.3.behaviour"):
        e = keys.key_entry(qid)
        assert e.ok and e.verification["verdict"] == "holds" and not e.verification.get("cached")


def test_verification_cache_is_keyed_by_source(tmp_path, monkeypatch):
    # the key cache lives in derivcheck's cache folder (store.cache_dir()), never in the current folder
    cache = tmp_path / "cache"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DERIVCHECK_CACHE_DIR", str(cache))
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "1")
    keys.reset_cache()
    keys.key_entry("ift6135-h22/4.1")
    data = json.loads((cache / "grading-keys.json").read_text())
    assert not (tmp_path / ".derivcheck").exists()
    assert data["gan_dynamics.update_matrix"]["verdict"] == "holds"
    keys.reset_cache()
    assert keys.key_entry("ift6135-h22/4.1").verification.get("cached") is True
    data["gan_dynamics.update_matrix"]["fingerprint"] = "stale"
    (cache / "grading-keys.json").write_text(json.dumps(data))
    keys.reset_cache()
    assert not keys.key_entry("ift6135-h22/4.1").verification.get("cached")
    keys.reset_cache()


def test_refuted_claims_are_never_keys():
    entry = keys.key_entry("ift6135-h22/4.3.behaviour")
    assert entry.claims == ("gan_dynamics.behaviour",)
    assert grading.check("ift6135-h22/4.3.behaviour", "cycle").verdict == "incorrect"  # the answer set's claim
    assert grading.check("ift6135-h22/4.3.behaviour", "Diverge.").verdict == "correct"


def test_a_key_claim_that_does_not_verify_is_an_error(monkeypatch):
    reg = Registry()

    @reg.claim("zz_grading.broken_key", questions=["mit-hw4/4c"], statement="x", answer="ii")
    def broken(answer):
        return prove.equal(sp.Integer(1), sp.Integer(2))

    monkeypatch.setattr(keys, "_registry", lambda: reg)
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "0")
    keys.reset_cache()
    try:
        with pytest.raises(keys.AnswerKeyError) as info:
            grading.check("mit-hw4/4c", "ii")
        assert "zz_grading.broken_key" in str(info.value) and "does not verify" in str(info.value)
    finally:
        keys.reset_cache()


def test_missing_claims_give_needs_human_not_a_guess(monkeypatch):
    monkeypatch.setattr(keys, "_registry", lambda: Registry())
    keys.reset_cache()
    try:
        r = grading.check("ift6135-h22/4.1", A_OK)
        assert r.verdict == "needs-human" and "no verified claim" in r.message and r.score == 0
    finally:
        keys.reset_cache()


# -- verdict kinds -----------------------------------------------------------------------------
def test_non_value_kinds():
    r = grading.check("ift6135-a23/5", "a review")
    assert r.verdict == "needs-human" and r.staff["rubric"]
    # the rubric is a model answer: the student audience never sees it
    assert r.staff["rubric"] not in r.message and "rubric" not in r.to_dict("student")
    assert "staff" not in r.to_dict("student") and r.to_dict("staff")["staff"]["rubric"]
    r = grading.check("mit-hw4/4a", "yes, no, yes, no")
    assert r.verdict == "needs-human" and "figure" in r.message
    r = grading.check("ift6135-a23/3.2b", [r"\log p(x) = \log \int p(x,z)\,dz"])  # step by step: stops short
    assert r.verdict == "partial" and r.first_wrong_step is None
    r = grading.check("mit-hw4/7b", "def ae_loss(x, x_hat): ...")  # runs in the sandbox, returns None
    assert r.verdict == "incorrect" and "not a torch tensor" in r.message
    r = grading.check("no-such/1", "x")
    assert r.verdict == "unknown-question" and r.max_score == 0


def test_choice_labels_are_normalized():
    assert _label("(B).") == "b" and _label(True) == "yes" and _label(" Non-Saturating ") == "non-saturating"
    assert grading.check("ift6135-a23/4.4", "Non-saturating").verdict == "correct"
    r = grading.check("ift6135-a23/4.1", "e")
    assert r.verdict == "unparseable" and "options" in r.message


def test_choices_and_mappings_give_partial_credit(monkeypatch):
    reg = Registry()

    @reg.claim("zz_grading.choices", questions=["ift6135-a23/3.3"], statement="x", answer=["b", "d"])
    def choices(answer):
        return prove.true(sp.Eq(len(answer), 2))

    @reg.claim("zz_grading.mapping", questions=["ift6135-a23/2.2"], statement="x",
               answer={"scenario1": "reverse", "scenario2": "forward"})
    def mapping(answer):
        return prove.true(sp.Eq(len(answer), 2))

    monkeypatch.setattr(keys, "_registry", lambda: reg)
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "0")
    keys.reset_cache()
    try:
        assert grading.check("ift6135-a23/3.3", ["d", "B"]).verdict == "correct"
        assert grading.check("ift6135-a23/3.3", "b, d").verdict == "correct"
        r = grading.check("ift6135-a23/3.3", ["b"])
        assert r.verdict == "partial" and r.score == r.max_score / 2
        r = grading.check("ift6135-a23/3.3", ["b", "a"])  # one right, one wrong: (1 - 1) / 2
        assert r.verdict == "incorrect" and r.score == 0 and "wrongly selected: a" in r.message
        r = grading.check("ift6135-a23/2.2", {"scenario1": "reverse", "scenario2": "reverse"})
        assert r.verdict == "partial" and r.score == r.max_score / 2 and "scenario2" in r.message
        r = grading.check("ift6135-a23/2.2", "{scenario1: reverse, scenario2: forward}")  # YAML text
        assert r.verdict == "correct"
        r = grading.check("ift6135-a23/2.2", {"scenario1": "sideways", "scenario2": "forward"})
        assert r.verdict == "unparseable" and "options" in r.message
    finally:
        keys.reset_cache()


def test_unparseable_answer_reports_position_and_expectation():
    r = grading.check("ift6135-h22/5.2", r"F_{12} - W_p \frac{1}{")
    assert r.verdict == "unparseable" and r.details["position"] == 22 and r.details["expected"]
    r = grading.check("ift6135-h22/5.2", r"F_{12} - W_q F_1")
    assert r.verdict == "unparseable" and "W_q" in r.message and "W_p" in r.message


def test_every_side_of_an_equation_chain_must_hold():
    r = grading.check("ift6135-h22/5.2", r"F_{12} - F_1 W_p = F_{12} - W_p F_1")
    assert r.verdict == "incorrect" and "chain" in r.message
    assert grading.check("ift6135-h22/5.2", r"\dot{W}_p = -W_pF_1 + F_{12} = F_{12} - W_p F_1").verdict == "correct"
    assert grading.check("mit-hw4/1", "N = K").verdict == "correct"


def test_counterexample_in_message():
    r = grading.check("ift6135-h22/4.1", r"\begin{bmatrix}1 & -\alpha\\ \alpha & 1\end{bmatrix}")
    assert r.verdict == "incorrect" and "alpha =" in r.message and "your answer is" in r.message
    assert r.details["judgement"]["counterexample"]["instance"]
    # the key's value on the counterexample is for staff only
    key_value = r.staff["judgement"]["counterexample"]["reference"]
    assert key_value and key_value not in json.dumps(r.to_dict("student")) and "staff" not in r.to_dict("student")
    assert key_value in json.dumps(r.to_dict("staff"))


@pytest.mark.parametrize("answer", [
    r"\sum_{j=1}^{10^{7}} \frac{\alpha}{j}",  # runs into the wall-clock limit
    r"(1 + \alpha)^{10^{9}}",  # exponent guard
    "(" * 50 + r"\alpha" + ")" * 50,  # nesting guard
    r"\alpha" + "+ \\alpha" * 1500,  # length guard
])
def test_pathological_input_ends_as_timeout(answer):
    r = grading.check("ift6135-h22/4.1", answer, time_limit_s=0.5)
    assert r.verdict == "timeout", r.message
    assert r.elapsed_s < 3


def _total(*assignments) -> float:
    return sum(q.points for qid, q in questions().items() if qid.split("/")[0] in assignments)


# -- submissions -----------------------------------------------------------------------------
SUBMISSION = {
    "student": "anon-17",
    "answers": {
        "ift6135-h22/4.1": A_OK,
        "ift6135-h22/4.2": "(0, 0",  # broken
        "ift6135-h22/4.3": r"1 \pm i\alpha",
        "ift6135-h22/4.3.behaviour": "diverge",
        "ift6135-h22/5.2": r"\sum_{j=1}^{10^{7}} j W_p",  # pathological
        "ift6135-a23/3.2b": [r"\log p(x) = \log \int p(x,z)\,dz",
                              r"= \log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]"],
        "ift6135-a23/2.2": {"scenario1": "reverse", "scenario2": "forward"},
        "nope/9": "1",
    },
}


def test_a_broken_answer_does_not_stop_the_rest(tmp_path):
    path = tmp_path / "sub.yaml"
    path.write_text(yaml.safe_dump(SUBMISSION), encoding="utf-8")
    rep = grading.grade(path, time_limit_s=1.0)
    by_q = {r.question: r for r in rep.results}
    assert by_q["ift6135-h22/4.2"].verdict == "unparseable"
    assert by_q["ift6135-h22/5.2"].verdict == "timeout"
    assert by_q["nope/9"].verdict == "unknown-question"
    for q in ("ift6135-h22/4.1", "ift6135-h22/4.3", "ift6135-h22/4.3.behaviour", "ift6135-a23/2.2"):
        assert by_q[q].verdict == "correct", (q, by_q[q].message)
    assert by_q["ift6135-a23/3.2b"].verdict == "partial"  # the derivation stops before Jensen's step: half of 4
    assert rep.score == 4 + 4 + 2 + 5 + 2
    # the maximum is the catalogue's total of both assignments answered, not of the answers given
    assert rep.max_score == _total("ift6135-a23", "ift6135-h22")
    assert {w["code"] for w in rep.warnings} == {"unknown-question"}
    doc = rep.to_dict()
    assert {"student", "score", "max_score", "results", "warnings"} <= set(doc)
    for item in doc["results"]:
        assert {"question", "verdict", "score", "max_score", "first_wrong_step", "message"} <= set(item)
        assert item["verdict"] in grading.VERDICTS
    json.dumps(doc)


def test_malformed_submissions(tmp_path, capsys):
    with pytest.raises(grading.SubmissionError):
        grading.grade({"student": "x", "answers": ["not", "a", "mapping"]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("answers: [1, 2", encoding="utf-8")
    with pytest.raises(grading.SubmissionError) as info:
        grading.grade(bad)
    assert info.value.line == 1 and info.value.column == 15 and info.value.file == str(bad)
    capsys.readouterr()
    assert run_cli("grade", str(bad)) == 1  # a report is written; the exit code says a file was unreadable
    doc = json.loads(capsys.readouterr().out)
    assert doc[0]["error"]["line"] == 1 and doc[0]["results"] == []
    assert run_cli("grade", str(tmp_path / "missing.yaml")) == 2  # nothing to grade: a usage error


def test_gradescope_and_html_formats():
    rep = grading.grade({"student": "<script>alert(1)</script>", "answers": {
        "ift6135-h22/4.1": A_OK, "ift6135-h22/4.2": "(1, 0)", "ift6135-a23/5": "text"}})
    gs = formats.to_gradescope(rep)
    assert set(gs) >= {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
    by_name = {t["name"].split(" ")[0]: t for t in gs["tests"]}
    assert by_name["ift6135-h22/4.1"]["status"] == "passed" and by_name["ift6135-h22/4.2"]["status"] == "failed"
    assert by_name["ift6135-h22/1.2"]["status"] == "failed" and "unanswered" in by_name["ift6135-h22/1.2"]["tags"]
    for t in gs["tests"]:
        assert set(t) >= {"name", "number", "output", "output_format", "tags", "visibility"}
        assert t["output_format"] == "md"
    # a question for a person is marked as such, never "failed"
    human = by_name["ift6135-a23/5"]
    assert "needs-human" in human["tags"] and "status" not in human and "score" not in human
    assert "graded by a person" in human["name"]
    human_points = sum(r.max_score for r in rep.results if r.verdict == "needs-human")
    assert sum(t.get("max_score", 0) for t in gs["tests"]) + human_points == rep.max_score
    assert rep.max_score == _total("ift6135-a23", "ift6135-h22")
    page = formats.to_html([rep, rep])
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "src=" not in page


def test_cli_grade_and_check(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"student": "s1", "answers": {"ift6135-h22/4.1": A_OK}}), encoding="utf-8")
    assert run_cli("grade", str(path)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, list) and len(doc) == 1  # one file or many: always a list
    by_q = {r["question"]: r for r in doc[0]["results"]}
    assert doc[0]["student"] == "s1" and by_q["ift6135-h22/4.1"]["verdict"] == "correct"
    out = tmp_path / "gs" / "results.json"
    assert run_cli("grade", str(path), "--format", "gradescope", "-o", str(out)) == 0
    assert [t for t in json.loads(out.read_text())["tests"] if t["name"] == "ift6135-h22/4.1"][0]["status"] == "passed"
    html_out = tmp_path / "r.html"
    assert run_cli("grade", str(path), str(path), "--format", "html", "-o", str(html_out)) == 0
    assert "s1" in html_out.read_text()
    other = tmp_path / "t.json"
    other.write_text(path.read_text(), encoding="utf-8")
    assert run_cli("grade", str(path), str(other), "--format", "gradescope") == 2
    capsys.readouterr()
    assert run_cli("check", "ift6135-h22/4.3", "--answer", r"[1+i\alpha, 1-i\alpha]") == 0
    assert capsys.readouterr().out.startswith("correct")
    assert run_cli("check", "ift6135-h22/4.3", "--answer", r"1 \pm \alpha", "--json") == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "incorrect"


# -- keys resting on transcribed data ------------------------------------------------------------
def test_transcribed_key_says_where_it_comes_from(tmp_path, monkeypatch):
    """mit-hw4/8b's key rests on the answer set's figures (not in the sheets): the grade says so, and a
    stored 'transcribed' status (what `make report` writes) keeps the key usable instead of refusing it."""
    import json

    from derivcheck.grading import claimstatus

    claim = next(c for c in REGISTRY.for_question("mit-hw4/8b.i") if c.provenance)
    rec = dict(claim.describe(), id=claim.id, expect=claim.expect.value, status="transcribed")
    store_file = tmp_path / "results.json"
    store_file.write_text(json.dumps({"claims": [json.loads(json.dumps(rec, default=str))]}), encoding="utf-8")
    monkeypatch.setenv("DERIVCHECK_RESULTS", str(store_file))
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "0")
    keys.reset_cache()
    claimstatus.reset()
    try:
        r = grading.check("mit-hw4/8b.i", {"shape": "invariant", "location": "invariant", "color": "invariant"})
        assert r.verdict in ("correct", "partial", "incorrect")
        assert "not derived from the sheets" in r.message and "transcribed" in r.message
        assert r.details["key_provenance"] == claim.provenance
    finally:
        keys.reset_cache()
        claimstatus.reset()


def test_key_from_the_sheets_carries_no_provenance_note():
    r = grading.check("ift6135-h22/5.2", r"F_{12} - W_p F_1")
    assert r.verdict == "correct" and "not derived from the sheets" not in r.message
