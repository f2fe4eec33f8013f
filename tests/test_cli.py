"""The command line: exit codes, --only, --json schema, list, report."""
import json
import shutil
import subprocess
import sys

import pytest
import sympy as sp

from derivcheck import REGISTRY, store
from derivcheck.cli import main
from derivcheck.derivations import prove


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv(store.RESULTS_ENV, raising=False)
    monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "cache"))  # the results store of this test


@pytest.fixture
def failing_claim(registry, monkeypatch):
    """Temporarily add a false claim to the global registry."""
    reg = type(REGISTRY)()

    @reg.claim("zz_demo.false_identity", questions=["ift6135-h22/4.3"], statement=r"\alpha = \alpha + 1")
    def false_identity():
        a = sp.Symbol("alpha", positive=True)
        return prove.equal(a, a + 1)

    monkeypatch.setitem(REGISTRY._claims, "zz_demo.false_identity", reg.get("zz_demo.false_identity"))
    return "zz_demo.false_identity"


def _verify_json(capsys, *args):
    code = main(["verify", "--json", "--quiet", *args])
    return code, json.loads(capsys.readouterr().out)


def test_verify_passes_on_gan_dynamics(capsys):
    code, doc = _verify_json(capsys, "--only", "gan_dynamics")
    assert code == 0
    assert doc["summary"]["ok"] is True and doc["summary"]["claims"] >= 9


def test_verify_json_schema(capsys):
    code, doc = _verify_json(capsys, "--only", "ift6135-h22/4.3")
    assert code == 0
    assert {"derivcheck", "generated", "profile", "policy", "summary", "claims"} <= set(doc)
    assert doc["claims"], "the selection matched claims"
    for c in doc["claims"]:
        assert {"id", "questions", "statement", "assumptions", "expect", "status", "symbolic", "numeric"} <= set(c)
        assert any(q.startswith("ift6135-h22/4.3") for q in c["questions"])
        assert c["symbolic"]["verdict"] in ("holds", "fails", "inconclusive")
        assert {"method", "residual", "counterexample", "elapsed_s", "check"} <= set(c["symbolic"])
        assert c["numeric"], f"{c['id']} has numeric results"
        for r in c["numeric"]:
            assert r["verdict"] in ("holds", "fails", "inconclusive")
            assert r["seed"] is not None and r["evidence"]
            for e in r["evidence"]:
                assert {"quantity", "estimate", "reference", "relation", "error", "error_kind", "tolerance",
                        "rule", "n", "seed", "verdict"} <= set(e)
    json.dumps(doc)  # round-trips


def test_failing_claim_gives_exit_code_1(capsys, failing_claim):
    code, doc = _verify_json(capsys, "--only", failing_claim)
    assert code == 1
    [c] = doc["claims"]
    assert c["status"] == "failed" and c["symbolic"]["verdict"] == "fails"
    assert c["symbolic"]["counterexample"]
    assert c["numeric_missing"]


def test_failing_claim_is_explained_in_text_mode(capsys, failing_claim):
    assert main(["verify", "--quiet", "--only", failing_claim]) == 1
    out = capsys.readouterr().out
    assert "!! failed" in out and "residual" in out


def test_unknown_pattern_is_a_usage_error(capsys):
    assert main(["verify", "--only", "no_such_claim_anywhere"]) == 2
    assert "derivcheck list" in capsys.readouterr().err


def test_list_shows_claims_questions_and_status(capsys):
    assert main(["list", "--only", "gan_dynamics"]) == 0
    out = capsys.readouterr().out
    assert "gan_dynamics.eigenvalues" in out and "ift6135-h22/4.3" in out and "not run" in out
    main(["verify", "--quiet", "--only", "gan_dynamics.eigenvalues"])
    capsys.readouterr()
    assert main(["list", "--json", "--only", "gan_dynamics.eigenvalues"]) == 0
    [row] = json.loads(capsys.readouterr().out)["claims"]
    assert row["status"] == "verified" and row["numeric"]


def test_report_from_saved_results(tmp_path, capsys):
    assert main(["verify", "--quiet", "--only", "gan_dynamics", "--save", "res.json"]) == 0
    capsys.readouterr()
    assert main(["report", "--results", "res.json", "-o", "sub/out.html"]) == 0
    html = (tmp_path / "cwd" / "sub" / "out.html").read_text()
    assert "gan_dynamics.behaviour" in html and "<svg" in html
    assert main(["report", "--results", "missing.json", "-o", "x.html"]) == 2


def test_verify_report_and_list_share_one_store(tmp_path, capsys):
    """On main, `make report` saved to build/results.json and `list` read .derivcheck/results.json,
    so every claim showed 'not run' after `make report`."""
    assert main(["verify", "--quiet", "--only", "gan_dynamics.eigenvalues"]) == 0
    assert (tmp_path / "cache" / "results.json").exists()
    assert main(["report", "-o", "r.html"]) == 0  # no --results: reads the store
    assert "gan_dynamics.eigenvalues" in (tmp_path / "cwd" / "r.html").read_text()
    capsys.readouterr()
    assert main(["list", "--json", "--only", "gan_dynamics.eigenvalues"]) == 0
    [row] = json.loads(capsys.readouterr().out)["claims"]
    assert row["status"] == "verified"


def test_verify_only_merges_into_the_store(tmp_path):
    """On main, `verify --only` overwrote the whole results file."""
    assert main(["verify", "--quiet", "--only", "gan_dynamics.eigenvalues"]) == 0
    assert main(["verify", "--quiet", "--only", "gan_dynamics.update_matrix"]) == 0
    ids = [c["id"] for c in store.load()["claims"]]
    assert ids == ["gan_dynamics.eigenvalues", "gan_dynamics.update_matrix"]
    assert store.claim_record("gan_dynamics.eigenvalues")["status"] == "verified"


def test_nothing_is_written_into_the_current_folder(tmp_path, capsys):
    assert main(["verify", "--quiet", "--only", "gan_dynamics.eigenvalues"]) == 0
    assert main(["list", "--only", "gan_dynamics"]) == 0
    assert list((tmp_path / "cwd").iterdir()) == []


def test_results_location_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(store.RESULTS_ENV, str(tmp_path / "elsewhere" / "res.json"))
    assert main(["verify", "--quiet", "--only", "gan_dynamics.eigenvalues"]) == 0
    assert (tmp_path / "elsewhere" / "res.json").exists()
    assert not (tmp_path / "cache" / "results.json").exists()
    capsys.readouterr()
    assert main(["list", "--only", "gan_dynamics.eigenvalues"]) == 0
    assert "verified" in capsys.readouterr().out


def test_report_without_results_says_what_to_do(capsys):
    assert main(["report", "-o", "x.html"]) == 2
    assert "derivcheck verify" in capsys.readouterr().err


def test_report_only_renders_the_selection(tmp_path):
    assert main(["verify", "--quiet", "--only", "gan_dynamics.eigen*"]) == 0
    assert main(["report", "--only", "gan_dynamics.eigenvalue_modulus", "-o", "one.html"]) == 0
    html = (tmp_path / "cwd" / "one.html").read_text()
    assert 'id="gan_dynamics.eigenvalue_modulus"' in html and 'id="gan_dynamics.eigenvalues"' not in html


@pytest.mark.skipif(shutil.which("derivcheck") is None and not (sys.prefix and shutil.which(
    "derivcheck", path=sys.prefix + "/bin")), reason="console script not installed")
def test_console_script_runs():
    exe = shutil.which("derivcheck") or shutil.which("derivcheck", path=sys.prefix + "/bin")
    proc = subprocess.run([exe, "verify", "--json", "--quiet", "--only", "gan_dynamics.update_matrix"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["id"] for c in doc["claims"]] == ["gan_dynamics.update_matrix"]


def test_report_run_verifies_then_renders_and_records_the_run(tmp_path):
    assert main(["report", "--run", "--quiet", "--only", "gan_dynamics.eigenvalues", "-o", "r.html"]) == 0
    html = (tmp_path / "cwd" / "r.html").read_text()
    assert 'id="gan_dynamics.eigenvalues"' in html and "sympy" in html
    doc = store.load()
    assert doc["wall_s"] > 0 and doc["environment"]["versions"]["sympy"]
    assert main(["report", "--run", "--results", "x.json", "-o", "r.html"]) == 2  # contradictory options
