"""The reduced selftest of CI's quick profile: a mutant sample on every side and a 3-seed run."""
import json

from derivcheck import REGISTRY, cli, load_all
from derivcheck.runner import verify
from derivcheck.selftest import mutants, run_mutants, run_seeds

load_all()


def test_mutants_are_derived_and_rejected_by_the_pair():
    claims = REGISTRY.select("gan_dynamics") + [REGISTRY.get("vae.answer_3_1"), REGISTRY.get("simsiam.predictor_gradient")]
    rows = run_mutants(claims, REGISTRY, sample=3)
    assert rows
    for r in rows:
        assert not r["survivors"], r
        assert r["pair_rejected"] == r["mutants"]
    assert sum(r["mutants"] for r in rows) >= 10


def test_mutation_operators():
    ops = {op.split(" ")[0] for op, _ in mutants(REGISTRY.get("simsiam.no_stopgrad_h"))}
    assert {"flip", "drop", "double", "swap"} <= ops
    ops31 = [m for _, m in mutants(REGISTRY.get("vae.answer_3_1"), {"kind": "choice", "options": list("abcd")})]
    assert sorted(ops31) == ["a", "c", "d"]


def test_three_seeds_give_no_false_failure():
    rows = run_seeds(REGISTRY.select("gan_dynamics.eigenvalues") + REGISTRY.select("vae.gaussian_kl"),
                     REGISTRY, seeds=3)
    assert rows and all(r["unexpected"] == 0 and r["false_failures"] == 0 for r in rows)
    assert all(r["expected_false_failures"] < 1e-6 for r in rows)


def test_selftest_cli_json(capsys):
    assert cli.main(["selftest", "--mutants", "--only", "gan_dynamics.eigenvalues", "--sample", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mutants"]["summary"]["mutants"] == 2


def test_same_seed_same_json_and_parallel_equals_serial():
    claims = REGISTRY.select("gan_dynamics.eigenvalues") + REGISTRY.select("vae.gaussian_kl")

    def strip(outcomes):
        out = []
        for o in outcomes:
            d = o.to_dict()
            d["symbolic"].pop("elapsed_s")
            for n in d["numeric"]:
                n.pop("elapsed_s")
                n.pop("training_s")
            out.append(d)
        return out

    a = strip(verify(claims, seed=5))
    b = strip(verify(claims, seed=5))
    assert a == b
    assert strip(verify(claims, seed=5, jobs=2)) == a
    assert strip(verify(claims, seed=6)) != a  # the seed is used


def test_equivalent_mutants_are_recognised_and_wrong_ones_are_not():
    import sympy as sp

    from derivcheck.derivations import simsiam as S
    from derivcheck.selftest import _equivalent

    a = S.VIEW_MOMENTS[0]
    assert not _equivalent(a, -a)  # a matrix expression's difference is not an explicit matrix
    assert _equivalent(a, a.T.doit(), S.SYMMETRIC)  # W (X + X') W^T is symmetric when X, X' are
    assert not _equivalent(a, a.T.doit())  # ... and not otherwise
    tr = sp.Trace(S.Wp * S.F12)
    assert _equivalent(tr, sp.Trace(S.F12 * S.Wp))  # cyclic property of the trace
    assert not _equivalent(S.PREDICTOR_GRADIENT, S.F12 - S.F1 * S.Wp)
