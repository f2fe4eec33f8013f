r"""Questions as data: records, schema errors, verified LaTeX references, claims as data, the extra assignment,
the key's claim status from the results store, and ``--questions`` on the command line."""
import json
from pathlib import Path

import pytest

from derivcheck import REGISTRY, catalogue, grading, load_all
from derivcheck.cli import main
from derivcheck.grading import claimstatus, keys
from derivcheck.grading.questions import question, questions
from derivcheck.grading.reference import check_reference

ROOT = Path(__file__).resolve().parents[1]
EXTRA = ROOT / "examples" / "extra-assignment"


@pytest.fixture
def extra(tmp_path, monkeypatch):
    """The extra assignment loaded (and unloaded afterwards); no results store, no key cache."""
    monkeypatch.setenv("DERIVCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DERIVCHECK_RESULTS", raising=False)
    catalogue.use_questions(EXTRA)
    load_all(REGISTRY)
    yield
    catalogue.reset_questions()
    assert not [c.id for c in REGISTRY if c.id.startswith("extra.")]  # the data claims leave with their file


def _write(tmp_path, text, name="more.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def more(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVCHECK_CACHE_DIR", str(tmp_path / "cache"))
    files = []

    def add(text, name="more.yaml"):
        p = _write(tmp_path, text, name)
        catalogue.use_questions(p)
        files.append(p)
        return p

    yield add
    catalogue.reset_questions()


# -- one record per question -------------------------------------------------------------------------------
def test_project_records_load_without_problems():
    assert catalogue.problems() == []
    q = question("ift6135-h22/5.2")
    assert q.points == 2 and q.spec.context == "simsiam" and q.spec.key_claim == "simsiam.predictor_gradient"
    assert q.spec.accept and q.spec.reject and q.source.line > 0


def test_a_temp_file_adds_a_question_that_grades(more):
    more("""
hw9:
  q1:
    kind: expression
    points: 2
    context:
      objects: {a: real, b: positive}
    answer: 'a^2 + 2ab + b^2'
    accept: ['(a+b)^2']
    reject: ['a^2 + b^2']
""")
    assert question("hw9/q1").points == 2
    r = grading.check("hw9/q1", "(b + a)(a + b)")
    assert r.verdict == "correct" and r.score == 2
    r = grading.check("hw9/q1", "a^2 + ab + b^2")
    assert r.verdict == "incorrect" and r.score == 0


@pytest.mark.parametrize("record, field, message", [
    ("{kind: expresion}", "kind", "did you mean 'expression'"),
    ("{kind: choice, points: 1, optoins: [a, b]}", "optoins", "did you mean 'options'"),
    ("{kind: choice, points: 1}", "options", "lists its options"),
    ("{kind: expression, context: nowhere, answer: 'x'}", "context", "no context named 'nowhere'"),
    ("{kind: choice, options: [a, b], answer: a}", "answer", "derived"),
    ("{kind: text, visibility: secret}", "visibility", "one of visible"),
    ("{kind: text, points: many}", "points", "a number"),
    ("{kind: expression, context: {objects: {M: {kind: matrix}}}, answer: 'M'}", "objects.M.shape", "shape"),
])
def test_schema_errors_name_file_line_and_field(more, record, field, message):
    p = more(f"hw9:\n  ok: {{kind: text, points: 1}}\n  bad: {record}\n")
    bad = question("hw9/bad")
    assert bad.errors, record
    text = " ".join(bad.errors)
    assert f"{p}:3: {field}:" in text and message in text
    assert not question("hw9/ok").errors  # the bad record fails its own question only
    r = grading.check("hw9/bad", "anything")
    assert r.verdict == "needs-human" and "record has an error" in r.message
    assert grading.check("ift6135-h22/4.3.behaviour", "diverge").verdict == "correct"


def test_named_contexts_and_kind_specific_blocks_pass_through(more):
    more("""
contexts:
  twoscalars:
    objects: {a: real, b: real}
hw9:
  d:
    kind: derivation
    points: 3
    derivation: {context: twoscalars, target: 'a^2 + b^2 \\geq 2ab', up_to_constant_in: []}
  e: {kind: expression, points: 1, context: twoscalars, answer: 'a - b', accept: ['-(b - a)'], reject: ['b - a']}
""")
    assert question("hw9/d").block["target"].startswith("a^2")
    assert grading.check("hw9/e", "a - b").verdict == "correct"


def test_a_registered_block_validator_reports_its_field(more):
    catalogue.register_block("derivation", lambda b: [] if "target" in b else [("target", "missing")])
    try:
        p = more("hw9:\n  d: {kind: derivation, derivation: {context: x}}\n")
        assert any(f"{p}:2: derivation.target: missing" in e for e in question("hw9/d").errors)
    finally:
        catalogue.BLOCK_VALIDATORS.pop("derivation", None)


# -- a LaTeX reference is verified before it is a key ------------------------------------------------------
def test_a_reference_that_contradicts_its_examples_is_never_a_key(more):
    more("""
hw9:
  wrong:
    kind: expression
    points: 1
    context: {objects: {a: real, b: real}}
    answer: 'a^2 + b^2'
    accept: ['(a + b)^2']
""")
    chk = check_reference(question("hw9/wrong"))
    assert not chk.ok and any("accept" in p for p in chk.problems())
    entry = keys.key_entry("hw9/wrong")
    assert entry.status == keys.UNVERIFIED
    r = grading.check("hw9/wrong", "a^2 + b^2")
    assert r.verdict == "needs-human" and "a^2" not in r.message  # the key is not shown


@pytest.mark.parametrize("answer, step", [("a +", "parse"), ("\\log(a - a)", "instances"), ("c", "parse")])
def test_a_reference_that_does_not_parse_or_has_no_value_is_refused(more, answer, step):
    more(f"hw9:\n  r: {{kind: expression, context: {{objects: {{a: real}}}}, answer: '{answer}'}}\n")
    chk = check_reference(question("hw9/r"))
    assert not chk.ok and chk.problems()[0].startswith(step)


def test_a_reference_whose_hint_is_the_right_answer_is_refused(more):
    more("""
hw9:
  h:
    kind: expression
    context: {objects: {a: real}}
    answer: '2a'
    hints: [{answer: 'a + a', message: 'oops'}]
""")
    assert any(p.startswith("hints") for p in check_reference(question("hw9/h")).problems())


def test_a_reference_that_differs_from_its_claim_is_refused(extra, more):
    more("""
hw9:
  s:
    kind: expression
    context: logit
    answer: 's(1+s)'
    claim: extra.sigmoid_derivative
""")
    chk = check_reference(question("hw9/s"))
    assert any(p.startswith("claim") for p in chk.problems())


# -- claims as data -----------------------------------------------------------------------------------
def test_data_claims_verify_on_both_sides(extra):
    from derivcheck.runner import verify

    ids = [c.id for c in REGISTRY if c.id.startswith("extra.")]
    assert len(ids) >= 8
    outs = verify([REGISTRY.get(i) for i in ids], registry=REGISTRY)
    for o in outs:
        assert o.status == "verified", (o.claim.id, o.symbolic.method, [n.detail for n in o.numeric])
        ev = o.numeric[0].evidence[0]
        assert ev.n > 0 and ev.seed is not None and ev.tolerance > 0 and "roundoff" in ev.rule


@pytest.mark.parametrize("rhs, relation", [("s(1+s)", "="), ("s^2", "="), ("1 - s", "=")])
def test_a_wrong_data_claim_is_refuted_on_both_sides(extra, rhs, relation):
    from derivcheck.derivations.records import numeric_check, symbolic_check

    data = {"context": "logit", "lhs": {"derivative": "\\frac{1}{1+e^{-z}}", "wrt": "z"}, "relation": relation,
            "rhs": rhs}
    assert symbolic_check("extra.wrong", data).verdict.value == "fails"
    assert numeric_check("extra.wrong", data, seed=1).verdict.value == "fails"


def test_a_wrong_matrix_derivative_and_a_wrong_inequality_are_refuted(extra):
    from derivcheck.derivations.records import numeric_check, symbolic_check

    grad = {"context": "linear", "lhs": {"derivative": "\\operatorname{tr}(AX)", "wrt": "X"}, "rhs": "A"}
    assert numeric_check("extra.wrong", grad, seed=1).verdict.value == "fails"  # a shape error
    grad["rhs"] = "X^\\top A^\\top X"
    assert numeric_check("extra.wrong", grad, seed=1).verdict.value == "fails"
    ineq = {"context": {"objects": {"a": "real", "b": "real"}}, "lhs": "ab", "relation": ">=",
            "rhs": "\\frac{a^2+b^2}{2}"}
    ineq["context"] = "gaussians"
    ineq.update(lhs="\\mu_1\\mu_2", rhs="\\frac{\\mu_1^2+\\mu_2^2}{2}")
    assert numeric_check("extra.wrong", ineq, seed=1).verdict.value == "fails"


def test_data_claims_are_pytest_items_under_their_id(extra):
    from derivcheck.pytest_plugin import SymbolicItem  # noqa: F401  (the plugin's item type)

    c = REGISTRY.get("extra.trace_gradient")
    assert c.module == "derivcheck.derivations.records" and "declared as data in" in c.note
    assert c.questions == ("extra-dl/trace-grad",)


# -- the extra assignment: right and wrong answers ---------------------------------------------------------
def test_every_extra_reference_and_option_key_verifies(extra):
    from derivcheck.grading.listing import question_rows

    rows = question_rows([str((EXTRA / "questions.yaml").resolve())])
    assert len(rows) >= 10
    for r in rows:
        assert r["verified"] in (True, None), r
    kinds = {r["kind"] for r in rows}
    assert {"expression", "matrix", "choice", "derivation", "text"} <= kinds


def _extra_examples():
    """The extra assignment's accept/reject examples, read from its file (collection loads nothing)."""
    path = EXTRA / "questions.yaml"
    for qid, q in catalogue.parse_catalogue(path.read_text(encoding="utf-8"), str(path)).items():
        for a in q.spec.get("accept") or ():
            yield pytest.param(qid, a, True, id=f"{qid}:accept:{str(a)[:30]}")
        for a in q.spec.get("reject") or ():
            yield pytest.param(qid, a, False, id=f"{qid}:reject:{str(a)[:30]}")


@pytest.mark.parametrize("qid, answer, right", list(_extra_examples()))
def test_extra_assignment_grades_right_and_wrong_answers(extra, qid, answer, right):
    r = grading.check(qid, answer)
    if right:
        assert r.verdict == "correct" and r.score == r.max_score, (answer, r.message)
    else:
        assert r.verdict in ("incorrect", "unparseable") and r.score == 0, (answer, r.verdict, r.message)


@pytest.mark.parametrize("qid, answer, verdict", [
    ("extra-dl/tanh", "a", "correct"), ("extra-dl/tanh", "b", "incorrect"), ("extra-dl/tanh", "c", "incorrect"),
    ("extra-dl/sigmoid", "\\sigma(1-\\sigma)", "unparseable"),
    ("extra-dl/softmax-ce", "\\mathrm{softmax}(z) - y^\\top", "incorrect"),
    ("extra-dl/why-shift", "overflow", "needs-human"),
])
def test_extra_assignment_other_kinds(extra, qid, answer, verdict):
    assert grading.check(qid, answer).verdict == verdict


def test_hints_name_the_mistake_not_the_key(extra):
    r = grading.check("extra-dl/reparam-var", "\\sigma")
    assert r.verdict == "incorrect" and "standard deviation" in r.message
    r = grading.check("extra-dl/reparam-var", "2\\sigma")
    assert r.verdict == "incorrect" and "Hint" not in r.message


def test_option_keys_come_from_the_options_claims(extra, monkeypatch):
    e = keys.key_entry("extra-dl/tanh")
    assert e.ok and e.labels == "a" and set(e.claims) == {"extra.tanh_derivative", "extra.tanh_derivative_plus",
                                                          "extra.tanh_derivative_sech"}
    # an option whose claim does not verify leaves no key
    real = claimstatus.status_of
    monkeypatch.setattr(keys, "status_of", lambda c: (False, {}) if c.id == "extra.tanh_derivative_plus" else real(c))
    keys.reset_cache()
    assert keys.key_entry("extra-dl/tanh").status == keys.UNVERIFIED
    keys.reset_cache()


# -- the key reads the claim's status from the results store -------------------------------------------------
def _store_with(tmp_path, monkeypatch, claim_id, status):
    from derivcheck.runner import run_symbolic  # noqa: F401  (the grader must not need it)

    c = REGISTRY.get(claim_id)
    rec = dict(c.describe(), status=status, symbolic={"verdict": "holds", "method": "stored"}, numeric=[],
               numeric_declared=1)
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"claims": [rec]}), encoding="utf-8")
    monkeypatch.setenv("DERIVCHECK_RESULTS", str(path))
    monkeypatch.setenv("DERIVCHECK_KEY_CACHE", "0")
    keys.reset_cache()


def test_a_verified_stored_result_is_used_without_rerunning_the_check(tmp_path, monkeypatch):
    load_all(REGISTRY)
    _store_with(tmp_path, monkeypatch, "gan_dynamics.update_matrix", "verified")

    def boom(*a, **k):
        raise AssertionError("the symbolic check was re-run at grade time")

    monkeypatch.setattr("derivcheck.runner.run_symbolic", boom)
    try:
        e = keys.key_entry("ift6135-h22/4.1")
        assert e.ok and e.verification["source"] == "results store"
    finally:
        keys.reset_cache()


@pytest.mark.parametrize("status", ["failed", "inconclusive"])
def test_a_stored_failure_refuses_the_key(tmp_path, monkeypatch, status):
    load_all(REGISTRY)
    _store_with(tmp_path, monkeypatch, "gan_dynamics.update_matrix", status)
    try:
        with pytest.raises(keys.AnswerKeyError, match="results store"):
            keys.key_entry("ift6135-h22/4.1")
    finally:
        keys.reset_cache()


# -- the command line ----------------------------------------------------------------------------------
def test_list_questions_shows_kind_points_and_verified(extra, capsys):
    assert main(["list", "--questions", str(EXTRA), "--only", "extra"]) == 0
    out = capsys.readouterr().out
    assert "extra-dl/sigmoid" in out and "expression" in out and "reference" in out
    line = next(x for x in out.splitlines() if x.startswith("extra-dl/tanh"))
    assert line.split()[1:3] == ["choice", "1"] and line.endswith("yes")
    assert "s(1-s)" not in out  # the listing never shows a key


def test_check_and_grade_take_questions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DERIVCHECK_CACHE_DIR", str(tmp_path / "cache"))
    try:
        assert main(["check", "extra-dl/trace-grad", "--answer", "A^T", "--questions", str(EXTRA)]) == 0
        capsys.readouterr()
        sub = tmp_path / "sub.yaml"
        sub.write_text("student: s1\nanswers:\n  extra-dl/kl-gauss: '\\log\\sigma_2'\n  extra-dl/tanh: a\n")
        main(["grade", str(sub), "--questions", str(EXTRA / "questions.yaml")])
        doc = json.loads(capsys.readouterr().out)
        verdicts = {r["question"]: r["verdict"] for r in doc[0]["results"] if r["verdict"] != "unanswered"}
        assert verdicts == {"extra-dl/kl-gauss": "incorrect", "extra-dl/tanh": "correct"}
    finally:
        catalogue.reset_questions()
    assert main(["check", "x/y", "--answer", "1", "--questions", str(tmp_path / "nope.yaml")]) == 2


def test_a_file_that_is_not_yaml_fails_alone(more, tmp_path):
    more("hw9:\n  a: {kind: text\n", name="broken.yaml")
    assert any("broken.yaml" in p and "not valid YAML" in p for p in catalogue.problems())
    assert question("ift6135-h22/4.1").kind == "matrix"


def test_a_data_claim_that_cannot_be_read_is_inconclusive_not_a_crash(more):
    more("""
claims:
  hw9.bad:
    questions: [hw9/e]
    context: {objects: {a: real}}
    lhs: 'a +'
    rhs: 'a'
hw9:
  e: {kind: text, points: 1}
""")
    load_all(REGISTRY)
    from derivcheck.runner import verify

    out = verify([REGISTRY.get("hw9.bad")], registry=REGISTRY)[0]
    assert out.status == "inconclusive" and "cannot be read" in out.symbolic.detail


def test_a_data_claim_naming_an_unknown_question_is_reported_not_registered(more):
    from derivcheck.derivations import records

    more("claims:\n  hw9.lost:\n    questions: [hw9/nothing]\n    context: {objects: {a: real}}\n"
         "    lhs: 'a'\n    rhs: 'a'\n")
    load_all(REGISTRY)
    assert "hw9.lost" not in REGISTRY and "hw9/nothing" in records.PROBLEMS["hw9.lost"]


def test_declared_wrong_variants_must_be_refuted_by_the_same_checks(extra):
    from derivcheck.derivations.records import with_rejects_numeric, with_rejects_symbolic

    data = {"context": "logit", "lhs": {"derivative": "\\frac{1}{1+e^{-z}}", "wrt": "z"}, "rhs": "s(1-s)",
            "rejects": ["s(1+s)", "s^2"]}
    assert with_rejects_symbolic("extra.x", data).verdict.value == "holds"
    assert with_rejects_numeric("extra.x", data, seed=3).verdict.value == "holds"
    data["rejects"] = ["s^2", "s - s^2"]  # the second one is the same function: the check cannot reject it
    assert with_rejects_symbolic("extra.x", data).verdict.value == "inconclusive"
    r = with_rejects_numeric("extra.x", data, seed=3)
    assert r.verdict.value == "inconclusive" and "s - s^2" in r.detail
