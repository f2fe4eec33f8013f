"""pytest collects claims by ID and reports residuals on failure."""
import subprocess
import sys
from pathlib import Path

from derivcheck.model import SymbolicResult, Verdict

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args):
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_derivations_are_collected_by_claim_id():
    proc = _pytest("derivations", "--collect-only", "-q", "-k", "gan_dynamics")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "derivations/gan_dynamics.py::gan_dynamics.eigenvalues" in proc.stdout
    assert "derivations/gan_dynamics.py::gan_dynamics.answer_set_rotation" in proc.stdout


def test_numerics_are_collected_by_claim_id_and_confirmation():
    proc = _pytest("numerics", "--collect-only", "-q", "-k", "gan_dynamics")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "numerics/gan_dynamics.py::gan_dynamics.eigenvalues[lapack_eigenvalues]" in proc.stdout
    assert "numerics/gan_dynamics.py::gan_dynamics.behaviour[iterate_and_flow]" in proc.stdout


def test_failure_text_carries_the_residual():
    r = SymbolicResult(Verdict.FAILS, method="m", residual="alpha**2", counterexample={"alpha": "1/2"})
    text = r.explain()
    assert "residual: alpha**2" in text and "alpha = 1/2" in text


def test_a_topic_file_named_directly_is_collected_once():
    proc = _pytest("derivations/gan_dynamics.py", "numerics/gan_dynamics.py", "--collect-only", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if "::" in ln]
    assert len(lines) == len(set(lines))
    assert "derivations/gan_dynamics.py::gan_dynamics.update_matrix" in lines


def test_wrong_variants_become_rejection_items_on_both_sides():
    proc = _pytest("derivations/vae.py", "numerics/vae.py", "--collect-only", "-q", "-k", "answer_3_1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "derivations/vae.py::vae.answer_3_1[rejects:0]" in proc.stdout
    assert "numerics/vae.py::vae.answer_3_1[key_3_1_measured][rejects:2]" in proc.stdout


def test_a_rejection_item_fails_when_the_variant_is_accepted(tmp_path):
    """A claim whose declared wrong variant is actually right: its rejection item must fail."""
    from derivcheck.registry import Registry

    reg = Registry()
    with __import__("pytest").raises(Exception):
        reg.claim("demo.x", questions=["ift6135-h22/4.3"], statement="s", rejects=[1])(lambda: None)
    from derivcheck import REGISTRY, load_all
    from derivcheck.runner import run_symbolic

    load_all()
    c = REGISTRY.get("vae.answer_3_1")
    assert all(run_symbolic(c.variant(answer=w)).verdict.value == "fails" for w in c.wrong_variants())
    assert run_symbolic(c.variant(answer=c.answer)).verdict.value == "holds"


def test_plugin_is_an_entry_point_and_runs_from_any_folder(tmp_path):
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="pytest11") if ep.value == "derivcheck.pytest_plugin"]
    assert eps, "derivcheck.pytest_plugin is not registered under pytest11"
    assert "pytest_plugins" not in (ROOT / "conftest.py").read_text()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "derivcheck.derivations", "--collect-only",
                           "-q", "-k", "gan_dynamics.eigenvalues", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gan_dynamics.eigenvalues" in proc.stdout
