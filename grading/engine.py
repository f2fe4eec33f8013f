"""The equivalence engine: is a relation between two expressions true in a context?

:meth:`Engine.judge` decides ``lhs REL rhs`` (REL one of = <= >= < >) by
evaluating both sides on random instances of the question's context
(:meth:`Context.sample`: random sizes, generic non-commuting matrices,
positive densities on finite supports, values within each symbol's domain,
complex arithmetic throughout) and, for equalities that hold on every
instance, asking SymPy to confirm symbolically within a small time budget.

The answer is three-valued (:class:`derivcheck.model.Verdict`):

* ``holds``: equal (within floating-point tolerance) on every instance; the
  method says whether SymPy confirmed it too;
* ``fails``: a counterexample instance where the two sides differ (the
  values and the instance are reported), or where one side is undefined
  (division by zero, log of zero, a singular inverse) while the other is
  defined, or has a different shape;
* ``inconclusive``: no instance could be evaluated (every draw left the
  reference undefined).

Part 2 (derivations) judges each step with the same :meth:`Engine.judge`;
``up_to_constant_in`` makes an equality step "equal up to a term that does
not depend on" the named objects (the difference must not change when only
those objects are redrawn).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from derivcheck.model import Verdict
from derivcheck.registry import stable_seed

from .context import Context
from .errors import EvalError
from .evaluate import Evaluator
from .instances import Instance, Val
from .expr import Expr, to_text
from .symbolic import confirm_equal

RTOL = 1e-9
ATOL = 1e-11
DEFAULT_INSTANCES = 10
MAX_DRAWS = 30


@dataclass
class Judgement:
    verdict: Verdict
    method: str
    instances: int = 0
    symbolic: Optional[bool] = None
    counterexample: Optional[dict] = None
    detail: str = ""

    def to_dict(self) -> dict:
        from derivcheck.model import _jsonable

        return _jsonable({
            "verdict": self.verdict.value, "method": self.method, "instances": self.instances,
            "symbolic": self.symbolic, "counterexample": self.counterexample, "detail": self.detail,
        })


@dataclass
class Outcome:
    """One side's value on one instance: a value or why there is none."""

    value: Optional[Val] = None
    error: Optional[str] = None  # no value at all (shape error, unsupported construct)
    undefined: bool = False  # a value with inf/nan entries

    @property
    def ok(self) -> bool:
        return self.value is not None and not self.undefined


def _finite(v: Val) -> bool:
    return bool(np.all(np.isfinite(v.arr)))


def _shape(v: Val) -> tuple:
    return ("m",) + tuple(v.mshape) if v.kind == "m" else ("s",)


def _short(v: Val, limit: int = 6) -> str:
    a = np.asarray(v.arr)
    if v.kind == "s" and a.size == 1:
        return _c(complex(a.reshape(-1)[0]))
    if v.kind == "s":
        flat = a.reshape(-1)[:limit]
        return "[" + ", ".join(_c(complex(z)) for z in flat) + (", ...]" if a.size > limit else "]")
    m = a.reshape(a.shape[-2:]) if a.ndim > 2 and int(np.prod(a.shape[:-2])) == 1 else a
    if m.ndim == 2 and m.size <= 16:
        return "[" + "; ".join(", ".join(_c(complex(z)) for z in row) for row in m) + "]"
    return f"{a.shape[-2]}x{a.shape[-1]} matrix"


def _c(z: complex) -> str:
    if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)):
        return f"{z.real:.6g}"
    return f"{z.real:.6g}{z.imag:+.6g}i"


_WARM = []


def _warm_up_sympy() -> None:
    """SymPy's first simplify in a process costs ~0.3 s of caching; pay it once, outside any answer's budget."""
    if not _WARM:
        import sympy as sp

        a = sp.Symbol("a", positive=True)
        sp.simplify(sp.sqrt(a**2) - a + sp.log(a) / 2)
        _WARM.append(True)


class Engine:
    """Random instances of one context, reused for every comparison made in it."""

    def __init__(self, ctx: Context, *, n_instances: int = DEFAULT_INSTANCES, seed: Optional[int] = None):
        self.ctx = ctx
        self.n = n_instances
        self.seed = stable_seed(ctx.name) if seed is None else seed
        rng = np.random.default_rng(self.seed)
        self.instances: list[Instance] = [normalize_measured(ctx.sample(rng)) for _ in range(MAX_DRAWS)]
        self._cache: dict = {}
        _warm_up_sympy()

    # -- evaluation -------------------------------------------------------------------
    def outcome(self, e: Expr, k: int, deadline: Optional[float] = None, like: Optional[Val] = None) -> Outcome:
        """``like``: the reference's value, which fixes the size of a bare identity answer (``\\alpha I``)."""
        try:
            with np.errstate(all="ignore"):
                ev = Evaluator(self.instances[k], deadline)
                v = ev.visit(e)
                if v.kind == "I" and like is not None and like.kind == "m" and like.mshape[0] == like.mshape[1]:
                    v = ev.sized_identity(v, like.mshape[0])
                v = ev.concretize(v)
        except EvalError as exc:
            return Outcome(error=str(exc))
        except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
            return Outcome(undefined=True, error=f"{type(exc).__name__}")
        except np.linalg.LinAlgError as exc:
            return Outcome(undefined=True, error=str(exc))
        return Outcome(value=v, undefined=not _finite(v))

    def reference(self, e: Expr) -> "_LazyOutcomes":
        """Outcomes of a (key) expression on every instance, computed when first asked for and cached
        (a judgement usually needs the first ``n`` instances of the ``MAX_DRAWS`` drawn)."""
        key = id(e)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is e:
            return hit[1]
        outs = _LazyOutcomes(self, e)
        self._cache[key] = (e, outs)
        return outs

    # -- comparisons --------------------------------------------------------------------
    def judge(self, lhs: Expr, relation: str, rhs: Expr, *, reference_side: str = "rhs",
              symbolic: bool = True, symbolic_budget_s: float = 0.5, deadline: Optional[float] = None,
              up_to_constant_in: tuple = ()) -> Judgement:
        """Decide ``lhs relation rhs``.  ``reference_side`` names the trusted side (the key), whose
        undefined instances are skipped; the other side being undefined where it is defined fails."""
        ref, other = (rhs, lhs) if reference_side == "rhs" else (lhs, rhs)
        ref_out = self.reference(ref)
        used = 0
        first_error = None
        for k, r in enumerate(ref_out):
            if used >= self.n:
                break
            if not r.ok:
                continue
            o = self.outcome(other, k, deadline, like=r.value)
            if o.error is not None and o.value is None and not o.undefined:
                first_error = o.error
                return Judgement(Verdict.FAILS, "the answer has no value", used,
                                 counterexample=self._cex(k, None, r.value, other_side=reference_side),
                                 detail=o.error)
            if not o.ok:
                return Judgement(
                    Verdict.FAILS, "undefined where the reference is defined", used,
                    counterexample=self._cex(k, o.value, r.value, other_side=reference_side),
                    detail="the answer is undefined (division by zero, log of 0, or a singular inverse) on an "
                           "instance where the reference has a value",
                )
            lv, rv = (o.value, r.value) if reference_side == "rhs" else (r.value, o.value)
            used += 1
            if up_to_constant_in:  # only the difference's dependence matters (checked below)
                continue
            verdict, why = self._compare(lv, relation, rv)
            if verdict is Verdict.FAILS:
                return Judgement(Verdict.FAILS, f"differs on a random instance ({why})", used,
                                 counterexample=self._cex(k, lv, rv, other_side=None), detail=why)
            if verdict is Verdict.INCONCLUSIVE:
                return Judgement(Verdict.INCONCLUSIVE, why, used, detail=why)
        if used == 0:
            return Judgement(Verdict.INCONCLUSIVE, "the reference is undefined on every random instance", 0,
                             detail=first_error or "")
        if up_to_constant_in:
            j = self._constant_difference(lhs, rhs, up_to_constant_in, deadline)
            if j is not None:
                return j
        method = f"numeric: {'equal' if relation in ('=', '==') else 'holds'} on {used} random instances"
        if up_to_constant_in:
            method = (f"numeric: the difference does not change when {', '.join(up_to_constant_in)} is redrawn "
                      f"({used} instances): equal up to a term constant in {', '.join(up_to_constant_in)}")
        confirmed = None
        detail = ""
        if relation in ("=", "==") and symbolic and not up_to_constant_in:
            confirmed, detail = confirm_equal(lhs, rhs, self.ctx, budget_s=symbolic_budget_s)
            if confirmed is False:  # exact arithmetic found a difference below floating-point tolerance
                return Judgement(Verdict.FAILS, detail, used, symbolic=False, detail=detail)
            method += "; " + (detail if confirmed else f"symbolic: not confirmed ({detail})")
        return Judgement(Verdict.HOLDS, method, used, symbolic=confirmed, detail=detail)

    def _compare(self, a: Val, relation: str, b: Val) -> tuple:
        if a.kind == "m" and a.mshape == (1, 1) and b.kind == "s":
            a = Val(a.arr[..., 0, 0], "s")
        if b.kind == "m" and b.mshape == (1, 1) and a.kind == "s":
            b = Val(b.arr[..., 0, 0], "s")
        if _shape(a) != _shape(b):
            return Verdict.FAILS, f"a {_kind(a)} against a {_kind(b)}"
        x, y = np.broadcast_arrays(a.arr, b.arr)
        scale = max(1.0, float(np.max(np.abs(x))) if x.size else 1.0, float(np.max(np.abs(y))) if y.size else 1.0)
        diff = x - y
        if relation in ("=", "=="):
            bad = np.abs(diff) > RTOL * (np.abs(x) + np.abs(y)) + ATOL * scale
            if np.any(bad):
                return Verdict.FAILS, "values differ"
            return Verdict.HOLDS, ""
        if relation == "!=":
            close = np.abs(diff) <= RTOL * (np.abs(x) + np.abs(y)) + ATOL * scale
            return (Verdict.FAILS, "values are equal") if np.all(close) else (Verdict.HOLDS, "")
        # inequalities: real values only
        if np.any(np.abs(x.imag) > ATOL * scale) or np.any(np.abs(y.imag) > ATOL * scale):
            return Verdict.INCONCLUSIVE, "an inequality between complex values"
        if a.kind == "m":
            return Verdict.INCONCLUSIVE, "an inequality between matrices"
        d = x.real - y.real
        tol = ATOL * scale + RTOL * (np.abs(x.real) + np.abs(y.real))
        # strict relations cannot be told from their non-strict forms in floating point
        ok = {"<=": d <= tol, "<": d <= tol, ">=": d >= -tol, ">": d >= -tol}.get(relation)
        if ok is None:
            return Verdict.INCONCLUSIVE, f"relation {relation!r}"
        if not np.all(ok):
            return Verdict.FAILS, f"{relation} is violated"
        return Verdict.HOLDS, ""

    def _constant_difference(self, lhs, rhs, names, deadline) -> Optional[Judgement]:
        """Redraw only the objects that depend on ``names`` (same sizes and supports) and check that
        lhs - rhs does not change.  None when it never changes (or no instance could be compared)."""
        rng = np.random.default_rng(self.seed + 1)
        for k in range(min(self.n, len(self.instances))):
            base = self.instances[k]
            variant = redraw(base, names, rng)
            if variant is None:
                return Judgement(Verdict.INCONCLUSIVE, f"no object of the notation depends on {', '.join(names)}", 0,
                                 detail=f"nothing to redraw for {', '.join(names)}")
            try:
                with np.errstate(all="ignore"):
                    d0 = self._diff(lhs, rhs, base, deadline)
                    d1 = self._diff(lhs, rhs, variant, deadline)
            except EvalError:
                continue
            if d0 is None or d1 is None or not (np.all(np.isfinite(d0)) and np.all(np.isfinite(d1))):
                continue
            if np.any(np.abs(d0 - d1) > RTOL * (np.abs(d0) + np.abs(d1)) + ATOL * max(1.0, float(np.max(np.abs(d0))))):
                cex = {"instance": base.describe(), "k": k, "redrawn": True}
                return Judgement(Verdict.FAILS, f"the difference of the two sides depends on {', '.join(names)}",
                                 k + 1, counterexample=cex,
                                 detail=f"the two sides differ by a term that changes with {', '.join(names)}")
        return None

    def _diff(self, lhs, rhs, inst, deadline):
        a = Evaluator(inst, deadline).value(lhs)
        b = Evaluator(inst, deadline).value(rhs)
        if a.kind != b.kind:
            return None
        x, y = np.broadcast_arrays(a.arr, b.arr)
        return x - y

    def _cex(self, k: int, answer: Optional[Val], reference: Optional[Val], other_side) -> dict:
        inst = self.instances[k]
        out = {"instance": inst.describe(), "k": k}
        if answer is not None:
            out["answer"] = _short(answer)
        if reference is not None:
            out["reference"] = _short(reference)
        return out

    # -- multisets ----------------------------------------------------------------------------
    def same_multiset(self, answer: list, reference: list, *, deadline: Optional[float] = None) -> Judgement:
        """Do two lists of scalar expressions agree as multisets (on every instance)?"""
        if len(answer) != len(reference):
            return Judgement(Verdict.FAILS, f"{len(answer)} items given, {len(reference)} expected", 0,
                             detail=f"{len(answer)} items given, {len(reference)} expected")
        used = 0
        for k in range(len(self.instances)):
            if used >= self.n:
                break
            refs = [self.reference(r)[k] for r in reference]
            if not all(r.ok for r in refs):
                continue
            outs = [self.outcome(a, k, deadline) for a in answer]
            for a_expr, o in zip(answer, outs):
                if not o.ok:
                    return Judgement(Verdict.FAILS, "an item has no value", used,
                                     counterexample={"instance": self.instances[k].describe(),
                                                     "item": to_text(a_expr)},
                                     detail=o.error or "undefined")
            left = list(range(len(refs)))
            unmatched = []
            for i, o in enumerate(outs):
                hit = None
                for j in left:
                    v, _ = self._compare(o.value, "=", refs[j].value)
                    if v is Verdict.HOLDS:
                        hit = j
                        break
                if hit is None:
                    unmatched.append(i)
                else:
                    left.remove(hit)
            used += 1
            if unmatched:
                return Judgement(
                    Verdict.FAILS, "an item matches no expected item", used,
                    counterexample={"instance": self.instances[k].describe(),
                                    "items": [_short(o.value) for o in outs],
                                    "expected": [_short(r.value) for r in refs]},
                    detail=f"item {unmatched[0] + 1} ({to_text(answer[unmatched[0]])}) matches no expected item",
                )
        if used == 0:
            return Judgement(Verdict.INCONCLUSIVE, "the reference is undefined on every random instance", 0)
        # symbolic confirmation: each item must equal some reference item; an item that is exactly
        # different from every reference item fails even if floating point could not tell
        confirmed = True
        for a in answer:
            results = []
            for r in reference:
                c, why = confirm_equal(a, r, self.ctx, budget_s=0.2)
                results.append((c, why))
                if c is True:
                    break
            if any(c is True for c, _ in results):
                continue
            confirmed = False
            if results and all(c is False for c, _ in results):
                return Judgement(Verdict.FAILS, "an item is exactly different from every expected item", used,
                                 symbolic=False, detail=f"{to_text(a)}: {results[0][1]}")
        method = f"numeric: the multisets agree on {used} random instances"
        method += "; SymPy confirmed every item" if confirmed else "; symbolic: not confirmed for every item"
        return Judgement(Verdict.HOLDS, method, used, symbolic=confirmed or None)


class _LazyOutcomes:
    """A list of an expression's outcomes on the engine's instances, each evaluated on first access."""

    def __init__(self, eng: "Engine", e: Expr):
        self.eng, self.e = eng, e
        self._done: dict = {}

    def __len__(self) -> int:
        return len(self.eng.instances)

    def __getitem__(self, k: int) -> Outcome:
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        if k not in self._done:
            self._done[k] = self.eng.outcome(self.e, k)
        return self._done[k]

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]


def depends_on(obj, names) -> bool:
    """Does a base object of a context change when the parameters ``names`` are redrawn?"""
    from .context import canonical

    wanted = {canonical(n) for n in names}
    own = {canonical(obj.name)} | {canonical(a) for a in obj.aliases}
    return bool(own & wanted) or bool({canonical(d) for d in getattr(obj, "depends", ())} & wanted)


def redraw(base: Instance, names, rng) -> Optional[Instance]:
    """A copy of ``base`` in which every object that depends on ``names`` is drawn anew at the same sizes
    and supports.  A joint density with ``fixed`` variables keeps its marginal over them (a prior that
    does not depend on the parameters) and redraws only the conditional of the rest.  None when no
    object depends on ``names``."""
    from .instances import _sample_object

    ctx = base.context
    variant = Instance(ctx, base.dims, base.supports, dict(base.values))
    shape_axes = tuple(base.supports[v] for v in ctx.axis_names)
    changed = False
    for o in ctx.objects:
        if o.definition is not None or not depends_on(o, names):
            continue
        new = _sample_object(o, rng, base.dims, base.supports, ctx.axis_names, shape_axes)
        fixed = tuple(getattr(o, "fixed", ()))
        if fixed and o.kind == "joint":
            old = base.values[o.name].arr
            rest = tuple(ctx.axis(v) for v in o.over if v not in fixed)
            marginal = old.sum(axis=rest, keepdims=True)
            cond = new.arr / new.arr.sum(axis=rest, keepdims=True)
            new = Val(marginal * cond, "s")
        variant.values[o.name] = new
        changed = True
    return normalize_measured(variant) if changed else None


def normalize_measured(inst: Instance) -> Instance:
    """Finish a drawn instance: exchangeable pairs, then densities that integrate to one against a measure."""
    return _with_measures(_exchangeable(inst))


def _mirror_index(n: int) -> np.ndarray:
    """The involution of a support of n points that pairs point k with point k + n//2 (an odd last point
    is its own mirror)."""
    m = n // 2
    idx = np.arange(n)
    idx[:m], idx[m:2 * m] = np.arange(m, 2 * m), np.arange(m)
    return idx


def _exchangeable(inst: Instance) -> Instance:
    """A field declared ``mirror=other`` takes other's values at the mirrored points, and a density with
    structure ``exchangeable`` is averaged with its mirror image: (x_1, x_2) and (x_2, x_1) are equally likely."""
    ctx = inst.context
    for o in ctx.objects:
        if o.definition is not None:
            continue
        axes = [ctx.axis(v) for v in o.over]
        if getattr(o, "mirror", "") and len(axes) == 1:
            src = inst.values[ctx.lookup(o.mirror).name]
            idx = _mirror_index(src.arr.shape[axes[0]])
            inst.values[o.name] = Val(np.take(src.arr, idx, axis=axes[0]), src.kind)
        elif o.kind == "density" and o.structure == "exchangeable" and len(axes) == 1:
            p = inst.values[o.name].arr
            p = (p + np.take(p, _mirror_index(p.shape[axes[0]]), axis=axes[0])) / 2
            inst.values[o.name] = Val(p, "s")
    return inst


def _with_measures(inst: Instance) -> Instance:
    """Densities over a variable that carries a measure (a point volume) integrate to one against it."""
    ctx = inst.context
    measured = [v for v in ctx.variables if getattr(v, "measure", "")]
    if not measured:
        return inst
    from .expr import Expr as _E

    ev = Evaluator(inst)
    for o in ctx.objects:
        if o.kind != "density" or o.definition is not None:
            continue
        for v in measured:
            if v.name in o.over:
                w = ev.value(_E("sym", (), v.measure)).arr
                p = inst.values[o.name].arr
                axes = tuple(ctx.axis(x) for x in o.over)
                inst.values[o.name] = Val(p / (p * w).sum(axis=axes, keepdims=True), "s")
    return inst


def _kind(v: Val) -> str:
    if v.kind == "m":
        r, c = v.mshape
        return f"{r}x{c} matrix"
    return "scalar"
