"""Proving the verifier: mutation testing and the false-failure rate.

``derivcheck selftest --mutants``
    derives wrong variants of every claim's answer automatically (:func:`mutants`: flip the sign,
    drop or double a term, change a constant, swap the arguments of a KL or the factors of a
    non-commuting or Kronecker product, transpose, swap two relations, pick another option or
    another mapping value) and runs each side on each.  A mutant that SymPy proves equal to the
    answer is *equivalent* and not counted.  Per claim: mutants, rejected by the symbolic side,
    by the numeric side, by the pair; every survivor is listed with both verdicts.

``derivcheck selftest --seeds N``
    runs every quick numeric confirmation of a true claim under N seeds (derived from the run seed
    and the confirmation's name) and counts the runs that do not give the expected verdict; beside
    it, the count expected from the stated per-comparison rate (seeds x statistical comparisons x
    rate).

Both take ``--only PATTERN`` and ``--sample K`` (at most K mutants per claim); CI runs a reduced
form (tests/test_selftest.py); README gives the full figures and the command.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .model import Verdict

MAX_TERMS = 3


# --------------------------------------------------------------------------
# Mutation operators
# --------------------------------------------------------------------------
def _expr_mutants(e) -> list:
    """(operator, mutant) pairs for one SymPy expression."""
    import sympy as sp
    from sympy.matrices.expressions.kronecker import KroneckerProduct

    out = []
    if not isinstance(e, sp.Basic):
        return out
    out.append(("flip sign", -e))
    if isinstance(e, sp.Add):
        for i, t in enumerate(e.args[:MAX_TERMS]):
            out.append((f"drop term {i + 1}", e - t))
            out.append((f"double term {i + 1}", e + t))
    consts = sorted({a for a in e.atoms(sp.Number) if a not in (0, 1, -1)}, key=sp.default_sort_key)[:MAX_TERMS]
    for c in consts:
        out.append((f"change constant {c}", e.xreplace({c: c + 1})))
    if not consts:
        out.append(("scale by 2", 2 * e))
    for node in sp.preorder_traversal(e):
        name = type(node).__name__
        if name in ("KL", "KLDivergence") and len(node.args) == 2:
            out.append(("swap p and q in a KL", e.xreplace({node: node.func(node.args[1], node.args[0])})))
        elif isinstance(node, KroneckerProduct) and len(node.args) == 2:
            out.append(("swap Kronecker factors", e.xreplace({node: KroneckerProduct(node.args[1], node.args[0])})))
        elif isinstance(node, sp.MatMul) and len(node.args) >= 2:
            coeff, mats = node.as_coeff_matrices()
            rev = list(reversed(mats))
            if len(mats) >= 2 and _well_formed(rev):  # an ill-typed product is no mutant of a claim
                swapped = e.xreplace({node: coeff * sp.MatMul(*rev)})
                if _sums_typed(swapped):
                    out.append(("swap non-commuting factors", swapped))
        if len(out) > 12:
            break
    if getattr(e, "is_Matrix", False) or isinstance(e, sp.MatrixExpr):
        try:
            t = e.T
            out.append(("transpose", t))
        except Exception:
            pass
    return out


def _well_formed(mats) -> bool:
    import sympy as sp

    for x, y in zip(mats, mats[1:]):
        if sp.simplify(x.shape[1] - y.shape[0]) != 0:
            return False
    return True


def _sums_typed(e) -> bool:
    """Every matrix sum in ``e`` adds terms of one shape (a swap may make W^T W - W_p^T W_p ill-typed)."""
    import sympy as sp

    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.MatAdd):
            shapes = [a.shape for a in node.args if hasattr(a, "shape")]
            if any(sp.simplify(r0 - r1) != 0 or sp.simplify(c0 - c1) != 0
                   for (r0, c0), (r1, c1) in zip(shapes, shapes[1:])):
                return False
    return True


def _canonical(e, symmetric=()):
    """Trace(A B C) -> the smallest cyclic rotation; X^T -> X for the matrices the claim's module declares
    symmetric (``SYMMETRIC``, e.g. second moments)."""
    import sympy as sp

    if not isinstance(e, sp.Basic):
        return e
    e = e.doit() if isinstance(e, sp.MatrixExpr) else e
    if symmetric:
        e = e.replace(lambda n: isinstance(n, sp.Transpose) and n.arg in symmetric, lambda n: n.arg)

    def rotate(tr):
        arg = tr.arg
        if isinstance(arg, sp.MatMul):
            coeff, mats = arg.as_coeff_matrices()
            rots = [mats[i:] + mats[:i] for i in range(len(mats))]
            best = min(rots, key=lambda r: sp.default_sort_key(sp.MatMul(*r)))
            return coeff * sp.Trace(sp.MatMul(*best))
        return tr

    return e.replace(lambda n: isinstance(n, sp.Trace), rotate)


def _equivalent(a, b, symmetric=()) -> bool:
    """SymPy proves the mutant equal to the answer (an equivalent mutant, not a survivor), after the
    trace's cyclic property and the symmetry of the matrices the claim declares symmetric."""
    import sympy as sp

    try:
        if a == b:
            return True
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
            return all(_equivalent(x, y, symmetric) for x, y in zip(a, b))
        if symmetric or (isinstance(a, sp.Basic) and a.has(sp.Trace)):
            ca, cb = _canonical(a, symmetric), _canonical(b, symmetric)
            if ca == cb or (isinstance(ca, sp.MatrixExpr) and sp.simplify(ca - cb) == sp.ZeroMatrix(*ca.shape)):
                return True
            if not isinstance(ca, sp.MatrixExpr) and isinstance(ca, sp.Basic) and sp.simplify(sp.expand(ca - cb)) == 0:
                return True
        if isinstance(a, sp.Basic) and isinstance(b, sp.Basic):
            d = a - b
            if isinstance(d, sp.MatrixBase):  # explicit matrices (a MatrixExpr also says is_Matrix)
                return all(sp.simplify(x) == 0 for x in d)
            if isinstance(d, sp.MatrixExpr):
                return sp.simplify(d.doit()) == sp.ZeroMatrix(*d.shape)
            return sp.simplify(d) == 0
    except Exception:
        return False
    return False


RELATIONS = ("==", "<=", ">=", "<", ">")


def mutants(claim, spec: Optional[dict] = None) -> list:
    """(operator, wrong answer) pairs for ``claim.answer``; ``spec`` is the catalogue entry of the
    question it answers (for options)."""
    a = claim.answer
    out = []
    options = [str(o) for o in (spec or {}).get("options", [])]
    if isinstance(a, str):
        if a in RELATIONS:
            out += [(f"relation {r}", r) for r in RELATIONS if r != a]
        elif options and spec.get("kind") == "choices":
            out += [(f"toggle option {o}", sorted({a.lower()} ^ {o})) for o in options if {a.lower()} ^ {o}]
        else:
            out += [(f"option {o}", o) for o in options if o.lower() != a.lower()]
    elif isinstance(a, (list, tuple, set, frozenset)) and a and all(isinstance(x, str) for x in a):
        given = {str(x).lower() for x in a}
        out += [(f"toggle option {o}", sorted(given ^ {o})) for o in options if given ^ {o}]
    elif isinstance(a, dict):
        for k, v in a.items():
            for o in options or []:
                if o != v:
                    out.append((f"{k} -> {o}", {**a, k: o}))
    elif isinstance(a, (list, tuple)):
        for i, item in enumerate(a):
            for op, m in _expr_mutants(item):
                new = list(a)
                new[i] = m
                out.append((f"item {i + 1}: {op}", type(a)(new) if isinstance(a, tuple) else new))
    else:
        out += _expr_mutants(a)
    return out


# --------------------------------------------------------------------------
# Running them
# --------------------------------------------------------------------------
@dataclass
class MutantResult:
    operator: str
    symbolic: str
    numeric: Optional[str]
    equivalent: bool = False

    @property
    def killed_by_pair(self) -> bool:
        return self.symbolic == "fails" or self.numeric == "fails"


@dataclass
class ClaimMutation:
    claim_id: str
    results: list = field(default_factory=list)

    def counts(self) -> dict:
        live = [r for r in self.results if not r.equivalent]
        with_num = [r for r in live if r.numeric is not None]
        return {
            "claim": self.claim_id,
            "mutants": len(live),
            "equivalent": len(self.results) - len(live),
            "symbolic_rejected": sum(r.symbolic == "fails" for r in live),
            "numeric_mutants": len(with_num),
            "numeric_rejected": sum(r.numeric == "fails" for r in with_num),
            "pair_rejected": sum(r.killed_by_pair for r in live),
            "survivors": [{"operator": r.operator, "symbolic": r.symbolic, "numeric": r.numeric}
                          for r in live if not r.killed_by_pair],
        }


def _spec(claim) -> dict:
    from . import catalogue

    for q in claim.questions:
        try:
            spec = catalogue.question(q).spec
        except KeyError:
            continue
        if spec.get("options"):
            return spec
    return {}


def mutate_claim(claim, registry, *, sample: Optional[int] = None, numeric: bool = True) -> ClaimMutation:
    from .runner import run_numeric, run_symbolic

    report = ClaimMutation(claim.id)
    if claim.answer is None or claim.expect is not Verdict.HOLDS:
        return report
    muts = mutants(claim, _spec(claim))
    if sample is not None:
        muts = muts[:sample]
    confs = [c for c in registry.confirmations(claim.id) if not c.slow] if numeric else []
    module = sys.modules.get(claim.module)
    symmetric = tuple(getattr(module, "SYMMETRIC", ()))
    # claims whose statement is unchanged by a non-zero constant factor on the answer (a multiple of a
    # conserved quantity is conserved): such mutants are equivalent
    scale_free = claim.id in getattr(module, "SCALE_INVARIANT", ())
    for op, wrong in muts:
        if _equivalent(claim.answer, wrong, symmetric) or (
                scale_free and any(_equivalent(c * claim.answer, wrong, symmetric) for c in (-1, 2, -2))):
            report.results.append(MutantResult(op, "-", None, equivalent=True))
            continue
        sym = run_symbolic(claim.variant(answer=wrong)).verdict.value
        num = None
        if confs:
            verdicts = [run_numeric(c, answer=wrong).verdict for c in confs]
            num = "fails" if Verdict.FAILS in verdicts else "holds" if all(
                v is Verdict.HOLDS for v in verdicts) else "inconclusive"
        report.results.append(MutantResult(op, sym, num))
    return report


def run_mutants(claims, registry, *, sample=None, numeric=True, progress=None) -> list:
    out = []
    for c in claims:
        r = mutate_claim(c, registry, sample=sample, numeric=numeric).counts()
        if r["mutants"] or r["equivalent"]:
            out.append(r)
            if progress:
                progress(r)
    return out


def mutation_summary(rows: list) -> dict:
    tot = sum(r["mutants"] for r in rows)
    num = sum(r["numeric_mutants"] for r in rows)
    return {
        "claims": len(rows),
        "mutants": tot,
        "equivalent": sum(r["equivalent"] for r in rows),
        "symbolic_rejected": sum(r["symbolic_rejected"] for r in rows),
        "numeric_mutants": num,
        "numeric_rejected": sum(r["numeric_rejected"] for r in rows),
        "pair_rejected": sum(r["pair_rejected"] for r in rows),
        "survivors": sum(len(r["survivors"]) for r in rows),
    }


def run_seeds(claims, registry, *, seeds: int, base_seed: int = 0, progress=None,
              max_seconds: Optional[float] = None) -> list:
    """Each quick numeric confirmation under ``seeds`` derived seeds: unexpected verdicts observed
    against the count expected from the per-comparison rate."""
    from .numerics import policy, stats
    from .runner import run_numeric

    rows = []
    for c in claims:
        for conf in registry.confirmations(c.id):
            if conf.slow:
                continue
            bad, n_stat, worst, undecided, reasons = 0, 0, [], 0, []
            began = time.perf_counter()
            done = 0
            for i in range(seeds):
                if max_seconds is not None and i and time.perf_counter() - began > max_seconds:
                    break
                done += 1
                res = run_numeric(conf, answer=c.answer, seed=base_seed * 100003 + i)
                n_stat += sum(1 for e in res.evidence if stats.is_statistical(e))
                if res.verdict is not c.expect:
                    bad += 1
                    worst.append(res.seed)
                    if res.verdict is Verdict.INCONCLUSIVE:
                        undecided += 1
                        reasons.append(res.detail[:120])
            row = {"check": conf.qualname, "seeds": done, "unexpected": bad, "false_failures": bad - undecided,
                   "inconclusive": undecided, "inconclusive_reasons": reasons[:3],
                   "statistical_comparisons": n_stat,
                   "expected_false_failures": n_stat * policy.PER_COMPARISON, "failing_seeds": worst[:5]}
            rows.append(row)
            if progress:
                progress(row)
    return rows


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
def add_command(sub) -> None:
    s = sub.add_parser("selftest", help="prove the verifier: mutation score (--mutants), false failures (--seeds N)")
    s.add_argument("--mutants", action="store_true", help="derive wrong variants of every claim and run both sides")
    s.add_argument("--seeds", type=int, default=0, metavar="N",
                   help="run every quick numeric confirmation of a true claim under N seeds")
    s.add_argument("--seed", type=int, default=0, help="base seed of the --seeds run")
    s.add_argument("--max-seconds", type=float, default=None, metavar="S",
                   help="--seeds: stop a check's seeds after S seconds (the seeds actually run are reported)")
    s.add_argument("--sample", type=int, default=None, metavar="K", help="at most K mutants per claim")
    s.add_argument("--only", metavar="PATTERN", help="claim ID or question ID prefix, or a glob")
    s.add_argument("--symbolic-only", action="store_true", help="mutants: skip the numeric side")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_selftest)


def cmd_selftest(args) -> int:
    from .registry import REGISTRY, load_all

    load_all()
    claims = REGISTRY.select(args.only)
    if not claims:
        sys.stderr.write(f"derivcheck: no claim matches {args.only!r}\n")
        return 2
    if not args.mutants and not args.seeds:
        sys.stderr.write("derivcheck selftest: give --mutants and/or --seeds N\n")
        return 2
    doc: dict[str, Any] = {}
    ok = True
    quiet = args.json
    start = time.perf_counter()
    if args.mutants:
        def show(r):
            out = sys.stderr if quiet else sys.stdout
            if True:
                num = f"{r['numeric_rejected']}/{r['numeric_mutants']}" if r["numeric_mutants"] else "-"
                print(f"{r['claim']:<48} mutants {r['mutants']:>3} (+{r['equivalent']} equivalent)  "
                      f"symbolic {r['symbolic_rejected']}/{r['mutants']}  numeric {num}  "
                      f"pair {r['pair_rejected']}/{r['mutants']}", file=out, flush=True)
                for s in r["survivors"]:
                    print(f"    survivor: {s['operator']}: symbolic {s['symbolic']}, numeric {s['numeric']}",
                          file=out, flush=True)
        rows = run_mutants(claims, REGISTRY, sample=args.sample, numeric=not args.symbolic_only, progress=show)
        summ = mutation_summary(rows)
        doc["mutants"] = {"claims": rows, "summary": summ}
        ok = ok and summ["survivors"] == 0
        if not quiet:
            m = max(summ["mutants"], 1)
            print(f"mutation score: symbolic {summ['symbolic_rejected']}/{summ['mutants']} "
                  f"({100 * summ['symbolic_rejected'] / m:.1f} %), numeric {summ['numeric_rejected']}/"
                  f"{summ['numeric_mutants']} ({100 * summ['numeric_rejected'] / max(summ['numeric_mutants'], 1):.1f} %),"
                  f" pair {summ['pair_rejected']}/{summ['mutants']} ({100 * summ['pair_rejected'] / m:.1f} %); "
                  f"{summ['equivalent']} equivalent mutants not counted")
    if args.seeds:
        def show_seed(r):
            print(f"{r['check']:<70} {r['false_failures']:>3}/{r['seeds']} false failures, "
                  f"{r['inconclusive']} inconclusive {r['inconclusive_reasons'][:1]}; expected "
                  f"{r['expected_false_failures']:.2g} ({r['statistical_comparisons']} statistical comparisons)",
                  file=sys.stderr if quiet else sys.stdout, flush=True)
        rows = run_seeds(claims, REGISTRY, seeds=args.seeds, base_seed=args.seed, progress=show_seed,
                         max_seconds=args.max_seconds)
        bad = sum(r["false_failures"] for r in rows)
        undecided = sum(r["inconclusive"] for r in rows)
        expected = sum(r["expected_false_failures"] for r in rows)
        doc["seeds"] = {"checks": rows, "false_failures": bad, "inconclusive": undecided, "expected": expected,
                        "seeds": args.seeds, "seed_runs": sum(r["seeds"] for r in rows)}
        ok = ok and bad == 0 and undecided == 0
        if not quiet:
            print(f"false failures: {bad} observed ({undecided} inconclusive runs) in {sum(r['seeds'] for r in rows)} "
                  f"runs of {len(rows)} checks (up to {args.seeds} seeds each); "
                  f"expected from the stated rate: {expected:.2g}")
    doc["elapsed_s"] = round(time.perf_counter() - start, 1)
    if quiet:
        json.dump(doc, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    return 0 if ok else 1


def main(argv=None) -> int:  # pragma: no cover - python -m derivcheck.selftest
    p = argparse.ArgumentParser(prog="derivcheck selftest")
    add_command(p.add_subparsers(dest="command", required=True))
    return cmd_selftest(p.parse_args(["selftest", *(argv or sys.argv[1:])]))
