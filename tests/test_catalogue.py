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
    shared = catalogue.parse_catalogue(SHARED.read_text(encoding="utf-8"))
    assert set(shared) == set(catalogue.questions())
    for qid, q in shared.items():
        assert catalogue.questions()[qid].kind == q.kind


def test_claims_only_cite_catalogue_questions(registry):
    known = set(catalogue.questions())
    for c in registry:
        assert set(c.questions) <= known, c.id


def test_unknown_question_message_suggests():
    with pytest.raises(KeyError, match="Did you mean"):
        catalogue.question("ift6135-h22/4.3.behavior")
