"""The results store: one configurable place, atomic writes, ``--only`` merges, nothing in the cwd."""
import json
import os

import pytest

from derivcheck import store


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.delenv(store.RESULTS_ENV, raising=False)
    monkeypatch.delenv(store.CACHE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)


def _doc(*claims, profile="quick"):
    return {"derivcheck": "0.1.0", "generated": "2026-01-01T00:00:00+00:00", "profile": profile,
            "policy": {}, "summary": {}, "claims": [
                {"id": cid, "status": status, "numeric_declared": 1, "numeric": []} for cid, status in claims]}


def test_default_is_the_user_cache_not_the_current_folder(tmp_path):
    assert store.results_path() == tmp_path / "home" / ".cache" / "derivcheck" / "results.json"
    assert store.cache_dir() == tmp_path / "home" / ".cache" / "derivcheck"
    assert not str(store.results_path()).startswith(str(tmp_path / ".derivcheck"))


def test_location_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.results_path() == tmp_path / "xdg" / "derivcheck" / "results.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert store.cache_dir() == tmp_path / "home" / ".cache" / "derivcheck"
    monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "c"))
    assert store.cache_dir() == tmp_path / "c"
    monkeypatch.setenv(store.RESULTS_ENV, str(tmp_path / "r.json"))
    assert store.results_path() == tmp_path / "r.json"
    assert store.results_path(tmp_path / "explicit.json") == tmp_path / "explicit.json"


def test_load_without_results_is_an_empty_document():
    doc = store.load()
    assert doc["claims"] == [] and doc["summary"]["claims"] == 0
    assert store.claim_record("gan_dynamics.eigenvalues") is None


def test_save_then_claim_record_and_summary():
    p = store.save(_doc(("a.x", "verified"), ("a.y", "failed")))
    assert p == store.results_path() and p.exists()
    assert store.claim_record("a.x")["status"] == "verified"
    assert store.claim_record("a.y")["status"] == "failed"
    s = store.load()["summary"]
    assert s["verified"] == 1 and s["failed"] == 1 and s["ok"] is False
    assert not os.listdir(p.parent) == [] and not [f for f in os.listdir(p.parent) if f.endswith(".tmp")]


def test_merge_save_keeps_other_claims_and_replaces_same_ids():
    store.save(_doc(("a.x", "verified"), ("a.y", "failed"), profile="full"))
    store.merge_save(_doc(("a.y", "verified"), ("b.z", "inconclusive")))
    doc = store.load()
    assert [c["id"] for c in doc["claims"]] == ["a.x", "a.y", "b.z"]
    assert store.claim_record("a.y")["status"] == "verified"
    assert store.claim_record("a.x")["profile"] == "full" and store.claim_record("a.y")["profile"] == "quick"
    assert doc["profile"] == "mixed"
    assert doc["summary"] == {"claims": 3, "verified": 2, "symbolic-only": 0, "failed": 0,
                              "inconclusive": 1, "numeric_missing": 0, "ok": False}


def test_definition_status_counts_as_ok():
    store.save(_doc(("a.def", "definition"), ("a.x", "verified")))
    s = store.load()["summary"]
    assert s["definition"] == 1 and s["ok"] is True


def test_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(store.ResultsError, match="verify"):
        store.load(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(store.ResultsError, match="claims"):
        store.load(bad)
    store.merge_save(_doc(("a.x", "verified")), bad)  # a corrupt store is replaced, not merged
    assert store.claim_record("a.x", bad)["status"] == "verified"


def test_nothing_written_in_the_current_folder(tmp_path):
    store.merge_save(_doc(("a.x", "verified")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
