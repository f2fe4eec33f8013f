r"""Grading a real course: the hardened submission loader, fixed totals, the two audiences, Gradescope,
CSV, the class summary, the blank template, the worked examples and the Gradescope autograder."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from derivcheck import grading
from derivcheck.grading import formats, summary
from derivcheck.grading.autograder import RUNTIME_REQUIREMENTS, build_zip, template
from derivcheck.grading.batch import grade_source
from derivcheck.grading.questions import questions
from derivcheck.grading.submission import MAX_BYTES, SubmissionError, load_submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
A_OK = r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}"
A_WRONG = r"\begin{bmatrix}1 & -\alpha\\ \alpha & 1\end{bmatrix}"


@pytest.fixture(autouse=True)
def _loaded(registry):
    return registry


def total(assignment: str) -> float:
    return sum(q.points for qid, q in questions().items() if qid.split("/")[0] == assignment)


def load(text, name="s.yaml"):
    return load_submission(text.encode("utf-8") if isinstance(text, str) else text, name=name)


# -- totals -------------------------------------------------------------------------------------------
def test_the_maximum_is_fixed_by_the_catalogue():
    full = grading.grade({"student": "a", "answers": {"ift6135-h22/4.1": A_OK, "ift6135-h22/4.3.behaviour": "diverge",
                                                       "ift6135-h22/1.2": "amortized"}})
    few = grading.grade({"student": "b", "answers": {"ift6135-h22/4.1": A_WRONG}})
    empty = grading.grade({"student": "c", "assignment": "ift6135-h22", "answers": {}})
    assert full.max_score == few.max_score == empty.max_score == total("ift6135-h22") == 74
    assert empty.score == 0 and all(r.verdict == "unanswered" for r in empty.results)
    assert len(empty.results) == len([q for q in questions() if q.startswith("ift6135-h22/")])
    assert few.score == 0
    # results come in catalogue order, every question present once
    ids = [r.question for r in full.results]
    assert ids == [q for q in questions() if q.startswith("ift6135-h22/")]
    # a template left blank is unanswered everywhere, not 'incorrect'
    blank = grading.grade(yaml.safe_load(template("mit-hw4")))
    assert {r.verdict for r in blank.results} <= {"unanswered", "needs-human"}
    assert {r.verdict for r in blank.results if r.question != "mit-hw4/4a"} == {"unanswered"}
    assert blank.max_score == total("mit-hw4")


# -- the loader -----------------------------------------------------------------------------------------
def test_warnings_for_duplicates_unknown_ids_and_a_missing_student():
    sub = load("answers:\n  ift6135-h22/4.3.behaviour: cycle\n  ift6135-h22/4.3.behaviour: diverge\n"
               "  ift6135-h22/4.9: '1'\n", name="bob.yaml")
    codes = {w["code"]: w for w in sub["warnings"]}
    assert set(codes) == {"duplicate-question", "unknown-question", "missing-student"}
    assert "lines 2 and 3" in codes["duplicate-question"]["message"]
    assert "Did you mean" in codes["unknown-question"]["message"]
    assert sub["student"] == "bob"  # the file's name, said in the warning, not a silent 'anonymous'
    rep = grading.grade(b"answers:\n  ift6135-h22/4.3.behaviour: cycle\n  ift6135-h22/4.3.behaviour: diverge\n",
                        name="bob.yaml")
    assert [r.verdict for r in rep.results if r.question == "ift6135-h22/4.3.behaviour"] == ["correct"]
    assert rep.to_dict()["warnings"] and rep.to_dict("student")["warnings"]


def test_ids_relative_to_the_assignment_field():
    sub = load("student: x\nassignment: ift6135-h22\nanswers:\n  '4.1': x\n")
    assert list(sub["answers"]) == ["ift6135-h22/4.1"] and not sub["warnings"]


@pytest.mark.parametrize("text, line, advice", [
    ('student: a\nanswers:\n  ift6135-h22/5.2: "\\sigma F_1"\n', 3, "single quotes"),     # unknown YAML escape
    ("student: a\nanswers:\n  ift6135-h22/5.2: F_{12}: W_p\n", 3, "quoted"),              # ': ' inside a value
    ("student: a\nanswers:\n\tift6135-h22/5.2: F_1\n", 3, "spaces, not tabs"),           # tab indentation
    ("student: a\nanswers: [1, 2\n", 3, "single quotes"),                                # unclosed list
    ("student: a\nanswers:\n  - ift6135-h22/5.2\n", None, "answers:"),                   # a list, not a mapping
    ("- just\n- a list\n", None, "student"),                                             # not a mapping at all
])
def test_malformed_files_say_where_and_what_to_do(text, line, advice):
    with pytest.raises(SubmissionError) as info:
        load(text)
    err = info.value
    assert err.file == "s.yaml" and err.line == line and advice in err.advice
    d = err.to_dict()
    assert d["message"] and d["advice"] and "s.yaml" in d["text"]
    if line is not None:
        assert d["column"] >= 1


def test_non_utf8_and_utf16_files():
    with pytest.raises(SubmissionError) as info:
        load("student: caf\xe9\nanswers: {}\n".encode("latin-1"))
    assert info.value.line == 1 and info.value.column == 13 and "UTF-8" in info.value.advice
    with pytest.raises(SubmissionError) as info:
        load("student: a\nanswers: {}\n".encode("utf-16"))
    assert "UTF-16" in info.value.message
    assert load("\ufeffstudent: a\nanswers: {}\n".encode("utf-8"))["student"] == "a"  # a BOM is fine


def test_alias_bomb_is_rejected_before_it_expands():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, 9):
        prev = chr(ord("a") + k - 1)
        lines.append(f"{chr(ord('a') + k)}: &{chr(ord('a') + k)} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines) + "\nstudent: x\nanswers: {ift6135-h22/4.2: *i}\n"
    assert len(bomb) < 600
    with pytest.raises(SubmissionError) as info:
        load(bomb)
    assert "anchors" in info.value.message and info.value.line == 1
    # the same bomb inside an answer string read as YAML (a list answer given as text) is refused too
    r = grading.check("ift6135-a23/3.3", "[&a [x, x], " + ",".join(["*a"] * 5) + "]")
    assert r.verdict == "unparseable" and "options" in r.message


def test_node_budget_and_size_cap(tmp_path):
    many = "student: x\nanswers:\n  ift6135-a23/1.1: [" + ", ".join(["1"] * 30000) + "]\n"
    with pytest.raises(SubmissionError) as info:
        load(many)
    assert "more than" in info.value.message
    big = tmp_path / "big.yaml"
    big.write_bytes(b"student: x\nanswers: {}\n#" + b"x" * (MAX_BYTES + 10))
    with pytest.raises(SubmissionError) as info:
        load_submission(big)
    assert "larger than" in info.value.message
    # every answer kind has a size limit: an oversized answer is refused, the rest is graded
    rep = grading.grade({"student": "x", "answers": {"ift6135-h22/4.1": A_OK,
                                                      "ift6135-a23/1.1": list(range(500)),
                                                      "ift6135-a23/5": "word " * 20000}})
    by_q = {r.question: r for r in rep.results}
    assert by_q["ift6135-h22/4.1"].verdict == "correct"
    assert by_q["ift6135-a23/1.1"].verdict == "unparseable" and "items" in by_q["ift6135-a23/1.1"].message
    assert by_q["ift6135-a23/5"].verdict == "unparseable" and "characters" in by_q["ift6135-a23/5"].message


def test_latex_eaten_by_double_quoted_escapes_is_restored_with_a_warning():
    sub = load('student: a\nanswers:\n  ift6135-h22/5.2: "F_{12} - W_p F_1^\\top"\n'
               '  ift6135-h22/4.1: "\\begin{bmatrix}1 & \\alpha\\\\\\\\ -\\alpha & 1\\end{bmatrix}"\n')
    assert sub["answers"]["ift6135-h22/5.2"] == r"F_{12} - W_p F_1^\top"
    assert sub["answers"]["ift6135-h22/4.1"] == r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}"
    warn = [w for w in sub["warnings"] if w["code"] == "yaml-escape"]
    assert len(warn) == 2 and "single quotes" in warn[0]["message"] and warn[0]["line"] == 3
    # single quotes, block scalars and a real tab are left alone
    sub = load("student: a\nanswers:\n  ift6135-h22/5.2: 'F_{12} - W_p F_1^\\top'\n"
               "  ift6135-a23/5: \"a\tb\"\n")
    assert sub["answers"]["ift6135-h22/5.2"] == r"F_{12} - W_p F_1^\top" and sub["answers"]["ift6135-a23/5"] == "a\tb"
    assert not sub["warnings"]
    # JSON has the same escapes
    sub = load_submission(json.dumps({"student": "a", "answers": {"ift6135-h22/4.1": "\t"}}).encode()
                          .replace(b"\\t", b"\\top"), name="s.json")
    assert sub["answers"]["ift6135-h22/4.1"] == "\\top" and sub["warnings"][0]["code"] == "yaml-escape"


def test_malformed_json_says_where(tmp_path):
    with pytest.raises(SubmissionError) as info:
        load_submission(b'{"student": "a",\n "answers": {"x": 1,}}', name="s.json")
    assert info.value.line == 2 and "JSON" in info.value.message


def test_an_unreadable_file_is_a_report_not_a_crash():
    rep = grade_source("late.yaml", b"student: a\nanswers:\n  ift6135-h22/5.2: \"\\sigma\"\n",
                       assignment="ift6135-h22")
    assert rep.error["line"] == 3 and rep.score == 0 and rep.max_score == 74
    assert all(r.verdict == "unanswered" for r in rep.results)
    doc = rep.to_dict("student")
    assert doc["error"]["advice"] and doc["student"] == "late"


# -- audiences ---------------------------------------------------------------------------------------
def test_student_audience_never_sees_a_key_a_rubric_or_a_key_value():
    rep = grading.grade({"student": "s", "answers": {
        "ift6135-h22/4.1": A_WRONG, "ift6135-h22/5.5": "collapse", "ift6135-h22/4.3.behaviour": "cycle",
        "ift6135-h22/4.2": "(1, 0)"}})
    by_q = {r.question: r for r in rep.results}
    rubric = questions()["ift6135-h22/5.5"].spec.rubric
    key_matrix = by_q["ift6135-h22/4.1"].staff["judgement"]["counterexample"]["reference"]
    for text in (json.dumps(rep.to_dict("student")), json.dumps(formats.to_gradescope(rep)),
                 formats.to_html(rep, "student")):
        assert rubric[:40] not in text and key_matrix not in text and '"staff"' not in text
        assert "diverge" not in text  # the key label of 4.3.behaviour
    staff = json.dumps(rep.to_dict("staff"))
    assert rubric[:40] in staff and key_matrix in staff
    assert rubric[:40] in json.dumps(formats.to_gradescope(rep, "staff"))
    # the student's own values and what is wrong are shown
    assert "your answer is" in by_q["ift6135-h22/4.1"].message


def test_gradescope_visibility_from_the_catalogue(monkeypatch):
    from derivcheck import catalogue

    q = catalogue.questions()["ift6135-h22/4.2"]
    monkeypatch.setitem(q.spec, "visibility", "after_published")
    rep = grading.grade({"student": "s", "answers": {"ift6135-h22/4.2": "(0, 0)"}})
    tests = {t["name"]: t for t in formats.to_gradescope(rep)["tests"]}
    assert tests["ift6135-h22/4.2"]["visibility"] == "after_published"
    assert tests["ift6135-h22/4.1"]["visibility"] == "visible"
    monkeypatch.setitem(q.spec, "visibility", "nonsense")
    assert formats.visibility("ift6135-h22/4.2") == "visible"


def test_markdown_in_student_strings_is_escaped():
    rep = grading.grade({"student": "s", "answers": {
        "mit-hw4/4c": "[click](http://x) <img src=x> **bold** `code`", "ift6135-h22/4.2": "(0, 0"}})
    out = [t["output"] for t in formats.to_gradescope(rep)["tests"] if t["name"] == "mit-hw4/4c"][0]
    student_part = out.split(":", 1)[1]
    assert r"\[click\]\(" in student_part and r"\<img" in student_part and r"\*\*bold" in student_part
    assert not re.search(r"(?<!\\)[\[\]<>*`]", student_part)  # no special character left unescaped
    assert formats.md_escape("a_b*c") == r"a\_b\*c"


def test_gradescope_for_an_unreadable_file_says_what_to_fix():
    rep = grade_source("s.yaml", b"student: a\nanswers:\n  ift6135-h22/5.2: \"\\sigma\"\n", assignment="ift6135-h22")
    gs = formats.to_gradescope(rep)
    assert gs["score"] == 0 and "could not be read" in gs["output"] and "single quotes" in gs["output"]
    assert gs["tests"][0]["max_score"] == 74 and gs["tests"][0]["status"] == "failed"


# -- CSV and summary -----------------------------------------------------------------------------------
def class_reports():
    subs = [
        {"student": "=cmd|' /C calc'!A0", "answers": {"ift6135-h22/4.1": A_OK, "ift6135-h22/5.2": r"F_{12} - F_1 W_p"}},
        {"student": "b", "answers": {"ift6135-h22/4.1": A_WRONG, "ift6135-h22/5.2": r"F_{12} - W_p^\top F_1"}},
        {"student": "c", "answers": {"ift6135-h22/4.1": A_WRONG, "ift6135-h22/5.2": r"-F_1 W_p + F_{12}"}},
        {"student": "d", "answers": {"ift6135-h22/4.1": A_OK, "ift6135-h22/5.2": r"F_{12} - W_p F_1",
                                     "ift6135-h22/4.3.behaviour": "cycle"}},
    ]
    return [grading.grade(s) for s in subs]


def test_csv_one_row_per_student_one_column_per_question():
    reps = class_reports()
    rows = list(csv.reader(io.StringIO(formats.to_csv(reps))))
    head = rows[0]
    assert head[:2] == ["student", "source"] and head[-4:] == ["total", "max_score", "needs_human", "error"]
    assert [h for h in head if h.startswith("ift6135-h22/")] == [q for q in questions() if q.startswith("ift6135-h22/")]
    assert len(rows) == 5 and rows[1][0].startswith("'=")  # no formula injection
    col = head.index("ift6135-h22/4.1")
    assert [r[col] for r in rows[1:]] == ["4", "0", "0", "4"]
    assert all(r[head.index("max_score")] == "74" for r in rows[1:])


def test_summary_groups_wrong_answers_by_value(tmp_path):
    reps = class_reports()
    doc = [r.to_dict("staff") for r in reps]
    summ = summary.summarize(doc)
    assert summ["submissions"] == 4
    by_q = {q["question"]: q for q in summ["questions"]}
    q52 = by_q["ift6135-h22/5.2"]
    assert q52["correct"] == 1 and q52["incorrect"] == 3 and q52["mean_score"] == pytest.approx(0.5)
    # 'F_{12} - F_1 W_p' and '-F_1 W_p + F_{12}' are one misconception; W_p^T F_1 is another
    groups = q52["common_wrong"]
    assert [g["students"] for g in groups] == [2, 1]
    assert groups[0]["variants"] == 2
    q41 = by_q["ift6135-h22/4.1"]
    assert q41["common_wrong"][0]["students"] == 2 and q41["common_wrong"][0]["variants"] == 1
    assert by_q["ift6135-h22/1.2"]["unanswered"] == 4
    page = summary.to_html(summ)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "=cmd|" not in page  # student strings are escaped (the formula-looking name is not in a summary)
    assert "F_{12} - F_1 W_p" in page or "-F_1 W_p + F_{12}" in page
    # through the CLI: grade --format json, then summary
    from test_grading_api import run_cli

    res = tmp_path / "grades.json"
    res.write_text(json.dumps(doc), encoding="utf-8")
    assert run_cli("summary", str(res), "-o", str(tmp_path / "s.html")) == 0
    assert "Class summary" in (tmp_path / "s.html").read_text()
    assert run_cli("summary", str(res), "-o", str(tmp_path / "s.json")) == 0
    assert json.loads((tmp_path / "s.json").read_text())["submissions"] == 4
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert run_cli("summary", str(tmp_path / "bad.json")) == 2


# -- template, examples, autograder -------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ["mit-hw4", "vae-simclr", "ift6135-a23", "ift6135-h22"])
def test_template_lists_every_question_quoted(assignment):
    text = template(assignment, student="anon-1")
    data = load(text)
    ids = [q for q in questions() if q.startswith(assignment + "/")]
    assert list(data["answers"]) == ids and data["student"] == "anon-1" and data["assignment"] == assignment
    assert not data["warnings"]
    for qid in ids:
        q = questions()[qid]
        assert f"# {qid} ({q.kind}, {q.points:g} pt)" in text
        if q.catalogue_spec.get("notation"):
            assert q.catalogue_spec["notation"] in text
    # a student who fills the quotes with LaTeX gets it intact
    filled = text.replace(f"  {ids[0]}: ''", f"  {ids[0]}: '\\top \\frac{{1}}{{2}}'", 1)
    if filled != text:
        assert load(filled)["answers"][ids[0]] == r"\top \frac{1}{2}"


@pytest.mark.parametrize("assignment", ["mit-hw4", "vae-simclr", "ift6135-a23", "ift6135-h22"])
def test_worked_examples_read_cleanly(assignment):
    path = EXAMPLES / assignment / "submission.yaml"
    rep = grading.grade(path)
    assert not rep.warnings and rep.error is None
    assert rep.max_score == total(assignment)
    bad = [(r.question, r.verdict, r.message) for r in rep.results
           if r.verdict in ("unparseable", "unknown-question", "timeout", "unanswered")
           or (r.verdict != "correct" and questions()[r.question].kind not in ("text", "code", "derivation",
                                                                               "unavailable"))]
    assert not bad
    assert rep.score > 0


def test_autograder_zip_runs_like_gradescope(tmp_path):
    zpath = build_zip("mit-hw4", tmp_path / "autograder.zip")
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt", "config.json", "submission.yaml",
                "derivcheck/__init__.py", "derivcheck/grading/api.py", "derivcheck/questions.yaml"} <= names
        assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111
        reqs = z.read("requirements.txt").decode()
        assert "torch" not in reqs and all("==" in line for line in reqs.split())
        assert "warm" in z.read("setup.sh").decode()
        base = tmp_path / "autograder"
        z.extractall(base / "source")
    os.chmod(base / "source" / "run_autograder", 0o755)
    cache = ROOT / ".derivcheck"
    if cache.is_dir():  # what setup.sh's 'warm' step leaves (verifications keyed by the claims' source)
        shutil.copytree(cache, base / "source" / ".derivcheck")
    env = dict(os.environ, DERIVCHECK_AUTOGRADER_ROOT=str(base), DERIVCHECK_PYTHON=sys.executable)

    def run_with(files: dict) -> dict:
        sub = base / "submission"
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir(parents=True)
        for name, data in files.items():
            (sub / name).write_bytes(data)
        out = base / "results" / "results.json"
        out.unlink(missing_ok=True)
        subprocess.run(["bash", str(base / "source" / "run_autograder")], env=env, check=True, timeout=300,
                       capture_output=True)
        return json.loads(out.read_text())

    example = (EXAMPLES / "mit-hw4" / "submission.yaml").read_bytes()
    doc = run_with({"submission.yaml": example})
    assert doc["score"] > 0 and doc["tests"] and doc["stdout_visibility"] == "hidden"
    graded = [t for t in doc["tests"] if "max_score" in t]
    by_hand = [t["name"].split(" ")[0] for t in doc["tests"] if "needs-human" in t["tags"]]
    assert by_hand and all("score" not in t for t in doc["tests"] if "needs-human" in t["tags"])
    assert sum(t["max_score"] for t in graded) + sum(questions()[q].points for q in by_hand) == total("mit-hw4")
    assert '"staff"' not in json.dumps(doc)
    # a malformed file: the student is told what to fix, not "autograder failed"
    doc = run_with({"answers.yaml": b"student: a\nanswers:\n  mit-hw4/1: \"\\sigma\"\n"})
    assert doc["score"] == 0 and "single quotes" in doc["output"]
    # nothing uploaded
    doc = run_with({"notes.txt": b"hello"})
    assert doc["score"] == 0 and "submission.yaml" in doc["output"]
    # a crash of the grader itself becomes a results file that says so
    (base / "source" / "derivcheck" / "grading" / "batch.py").write_text("raise RuntimeError('boom')\n")
    doc = run_with({"submission.yaml": example})
    assert doc["score"] == 0 and "crashed" in doc["output"] and "boom" in doc["output"]
    # Python itself missing: the shell script still leaves a results file
    env["DERIVCHECK_PYTHON"] = str(tmp_path / "no-python")
    doc = run_with({"submission.yaml": example})
    assert doc["score"] == 0 and "could not start" in doc["output"]


def test_the_grader_needs_only_the_pinned_requirements():
    """Grading a full submission imports no third-party module outside RUNTIME_REQUIREMENTS (torch stays out)."""
    code = ("import sys; from derivcheck import grading; "
            f"grading.grade({str(EXAMPLES / 'ift6135-h22' / 'submission.yaml')!r}); "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=ROOT, timeout=300).stdout.split())
    assert "torch" not in mods
    from importlib import metadata

    top = metadata.packages_distributions()
    third = {m for m in mods if m in top and not m.startswith(("_", "derivcheck"))}
    dists = {d.lower() for m in third for d in top[m]}
    allowed = {r.lower() for r in RUNTIME_REQUIREMENTS} | {"setuptools", "pip", "packaging"}
    assert dists <= allowed, dists - allowed
