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
