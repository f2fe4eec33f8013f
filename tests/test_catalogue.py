"""The project's copy of the question catalogue."""
from pathlib import Path

import pytest

from derivcheck import catalogue

SHARED = Path(__file__).resolve().parents[2] / "shared" / "questions.yaml"


def test_catalogue_loads_every_kind():
    qs = catalogue.questions()
    assert "ift6135-h22/4.1" in qs and qs["ift6135-h22/4.1"].kind == "matrix"
    assert qs["ift6135-h22/4.3.behaviour"].spec["options"] == ["converge", "cycle", "diverge"]
    kinds = {q.kind for q in qs.values()}
    assert {"expression", "matrix", "point", "set", "choice", "choices", "mapping", "derivation", "code",
            "text", "unavailable"} <= kinds


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/questions.yaml not present")
def test_copy_matches_shared_catalogue():
    """The project's records keep the shared catalogue's IDs, kinds, options and mapping keys verbatim."""
    shared = catalogue.parse_catalogue(SHARED.read_text(encoding="utf-8"), str(SHARED))
    ours = catalogue.questions()
    assert set(shared) <= set(ours)
    assert {qid for qid, q in ours.items() if str(q.source.file) == str(catalogue.CATALOGUE_PATH)} == set(shared)
    for qid, q in shared.items():
        mine = ours[qid]
        assert mine.kind == q.kind, qid
        assert [str(o) for o in mine.spec.get("options", [])] == [str(o) for o in q.spec.get("options", [])], qid
        assert mine.spec.get("keys") == q.spec.get("keys"), qid


def test_every_project_record_is_valid_and_graded_for_points():
    assert catalogue.problems() == []
    for qid, q in catalogue.questions().items():
        assert q.ok and isinstance(q.spec.get("points"), (int, float)), qid
        assert q.source is not None and q.source.line > 0


def test_a_record_error_names_file_line_and_field():
    qs = catalogue.parse_catalogue("hw:\n  '1':\n    kind: expression\n    ponits: 2\n", "hw.yaml")
    assert [str(e) for e in qs["hw/1"].errors] == [
        "hw.yaml:4: ponits: unknown field of a question record (did you mean 'points'?)"]


def test_claims_only_cite_catalogue_questions(registry):
    known = set(catalogue.questions())
    for c in registry:
        assert set(c.questions) <= known, c.id


def test_unknown_question_message_suggests():
    with pytest.raises(KeyError, match="Did you mean"):
        catalogue.question("ift6135-h22/4.3.behavior")
