"""Property-based tests (hypothesis) of the submission loader ``grading.api.load_submission`` and of
``grading.api.grade`` over random and adversarial YAML / JSON: every file either loads into
``{student, answers}`` or raises ``SubmissionError`` with a message, YAML tags never construct
Python objects, and one bad answer never stops the others from being graded."""
from __future__ import annotations

import json
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivcheck.grading import api

N = int(os.environ.get("DERIVCHECK_FUZZ_EXAMPLES", "150"))
SETTINGS = dict(max_examples=N, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FIGURES = {"files": 0, "loaded": 0, "refused": 0, "crashes": 0}

HOSTILE = [
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "&a [*a, *a]", "*undefined",
    "{answers: !!python/object/new:list []}", "---\n---\n", "%YAML 9.9\n---\n{}", "answers: [1, 2",
    "student: [unclosed", "? complex key\n: value", "answers:\n  q: &x [*x]",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                             inner, max_size=4),
                      max_leaves=12)
qids = st.sampled_from(["ift6135-h22/5.2", "ift6135-a23/3.1", "mit-hw4/8b.i", "vae-simclr/1b", "no/such", ""])
submissions = st.fixed_dictionaries({"student": scalars, "answers": st.dictionaries(qids, values, max_size=4)})
def _control(text: str) -> bool:
    """A character YAML refuses to read (C0/C1 controls, U+FFFE...): grading/submission.py builds the YAML
    loader outside its try block, so yaml's ReaderError escapes (found by this fuzzer, now
    refused with the position: test_a_control_character_is_refused)."""
    return bool(yaml.reader.Reader.NON_PRINTABLE.search(text))


texts = st.one_of(st.text(max_size=200).filter(lambda t: not _control(t)), st.sampled_from(HOSTILE),
                  submissions.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
                  submissions.map(lambda d: json.dumps(d, default=str)),
                  st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3).map("\n".join))


def _load(path):
    FIGURES["files"] += 1
    try:
        sub = api.load_submission(path)
    except api.SubmissionError as exc:
        FIGURES["refused"] += 1
        assert str(exc)
        return None
    except Exception:
        FIGURES["crashes"] += 1
        raise
    FIGURES["loaded"] += 1
    assert {"student", "answers"} <= set(sub) and isinstance(sub["student"], str)
    assert isinstance(sub["answers"], dict)
    return sub


@settings(**SETTINGS)
@given(texts)
def test_any_file_loads_or_is_refused(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("sub") / "submission.yaml"
    path.write_text(text, encoding="utf-8")
    sub = _load(path)
    if sub is not None:  # nothing but plain data comes out of YAML
        seen = set()

        def plain(v):
            if isinstance(v, (dict, list)):
                if id(v) in seen:  # a YAML alias may make a container contain itself
                    return True
                seen.add(id(v))
                items = [x for kv in v.items() for x in kv] if isinstance(v, dict) else v
                return all(plain(x) for x in items)
            return v is None or isinstance(v, (bool, int, float, str, bytes)) or type(v).__module__ == "datetime"
        assert plain(sub["answers"])
        report = api.grade(sub, time_limit_s=2.0)  # self-referential or odd answers are graded, not fatal
        assert len(report.results) >= len(sub["answers"])  # unanswered questions are listed too


@settings(**{**SETTINGS, "max_examples": max(10, N // 5)})
@given(submissions)
def test_grading_a_random_submission_grades_every_answer(sub):
    report = api.grade(sub, time_limit_s=2.0)
    assert len(report.results) >= len(sub["answers"])  # unanswered questions are listed too
    assert all(r.verdict for r in report.results)


def test_a_control_character_is_refused(tmp_path):
    """Found by this fuzzer: yaml's ReaderError on a control character escaped load_submission."""
    path = tmp_path / "s.yaml"
    path.write_text("student: x\nanswers: {q: '\x1f'}\n")
    with pytest.raises(api.SubmissionError) as info:
        api.load_submission(path)
    assert "U+001F" in str(info.value) and ":2:15:" in str(info.value)


def test_a_python_tag_is_refused_not_run(tmp_path):
    canary = tmp_path / "canary"
    path = tmp_path / "s.yaml"
    path.write_text(f"student: x\nanswers: !!python/object/apply:os.system ['touch {canary}']\n")
    assert _load(path) is None
    assert not canary.exists()


def test_zz_print_figures(capsys):
    with capsys.disabled():
        print(f"\nfuzz (loader): {FIGURES['files']} files tried, {FIGURES['loaded']} loaded, "
              f"{FIGURES['refused']} refused with a message, {FIGURES['crashes']} crashes")
    assert FIGURES["crashes"] == 0
