r"""Claims written as data: the ``claims:`` records of the question catalogue become ordinary claims.

A record states ``lhs relation rhs`` in LaTeX, in a notation context (named or
inline), with its assumptions (the context's domains encode them) and what it
expects (``holds``, or ``fails`` for a statement that is refuted)::

    claims:
      extra.sigmoid_derivative:
        questions: [extra-dl/sigmoid]
        context: sigmoid
        lhs: {derivative: '\frac{1}{1+e^{-x}}', wrt: x}
        relation: '='
        rhs: 's(1-s)'

Each record is registered in the project's registry like a Python claim, under
its ID, so ``derivcheck verify``, ``pytest derivations`` (as items of this
module) and the report pick it up.  It gets

* a **symbolic check**: both sides are read by the project's parser and written
  as SymPy objects (a derivative is ``sympy.diff``, also with respect to a
  matrix); SymPy proves the relation, refutes it with an exact witness, or
  says it cannot decide (``inconclusive``);
* a **numeric confirmation** (``random_instances``): both sides are evaluated
  on random instances of the context; a derivative is computed by the complex
  step ``Im f(x + i h) / h`` (h = 1e-20, no cancellation, so its error is
  roundoff only).  The tolerance is the rigorous roundoff bound
  ``gamma_n * scale`` with ``n`` counted from the size of the expressions and
  of the instance (zero false failures).

``rejects: [LATEX, ...]`` lists wrong right-hand sides: both checks must refute
each of them (with the same instances and budget), or the claim is
``inconclusive``: a check that cannot fail verifies nothing.

A record whose text cannot be read is still registered: its checks report
``inconclusive`` with the reason, so it never verifies.  Questions name the
claim that confirms their LaTeX reference with ``claim:``, and choice options
name the claim that settles them (``options: {a: {claim: ID}}``).
"""
from __future__ import annotations

import time

import numpy as np

from derivcheck import catalogue
from derivcheck.model import NumericResult, SymbolicResult, Verdict
from derivcheck.registry import REGISTRY, Registry, RegistryError

COMPLEX_STEP = 1e-20
INSTANCES = 12
NON_ANALYTIC = ("abs", "norm", "min", "max")


class ClaimRecordError(ValueError):
    pass


def _context(cid: str, data: dict):
    from derivcheck.grading.questions import context_name, contexts

    name = context_name(cid, data)
    ctx = contexts().get(name) if name else None
    if ctx is None:
        raise ClaimRecordError(f"claim {cid}: its context {name!r} could not be built")
    return ctx


def _read(text, ctx, what: str):
    from derivcheck.grading.errors import ParseError
    from derivcheck.grading.semantics import readings

    try:
        rds = readings(str(text), ctx)
    except ParseError as exc:
        raise ClaimRecordError(f"{what} {text!r} cannot be read: {exc.describe()}") from None
    if len(rds) != 1:
        raise ClaimRecordError(f"{what} {text!r} reads {len(rds)} ways; write it unambiguously")
    return rds[0].expr


def sides(cid: str, data: dict) -> tuple:
    """(ctx, lhs Expr, wrt name or None, relation, rhs Expr) of a data claim."""
    ctx = _context(cid, data)
    lhs = data.get("lhs")
    wrt = None
    if isinstance(lhs, dict):
        wrt = lhs["wrt"]
        if ctx.lookup(wrt) is None:
            raise ClaimRecordError(f"claim {cid}: the derivative is taken with respect to {wrt!r}, which is not "
                                   f"an object of its context ({', '.join(ctx.names())})")
        lhs = lhs["derivative"]
    return ctx, _read(lhs, ctx, "lhs"), wrt, data.get("relation", "="), _read(data.get("rhs"), ctx, "rhs")


def statement(data: dict) -> str:
    lhs = data.get("lhs")
    if isinstance(lhs, dict):
        lhs = rf"\frac{{\partial}}{{\partial {lhs.get('wrt')}}}\left({lhs.get('derivative')}\right)"
    rel = {"=": "=", "<=": r"\leq", ">=": r"\geq", "<": "<", ">": ">"}.get(data.get("relation", "="), "=")
    return f"{lhs} {rel} {data.get('rhs')}"


# --------------------------------------------------------------------------
# The symbolic check
# --------------------------------------------------------------------------
def symbolic_check(cid: str, data: dict) -> SymbolicResult:
    """SymPy's verdict on a data claim (inconclusive, with the reason, when SymPy cannot decide)."""
    import sympy as sp

    from derivcheck.grading.symbolic import Unsupported, compare_sympy, writer

    try:
        ctx, lhs, wrt, rel, rhs = sides(cid, data)
        w = writer(ctx)
        sl, sr = w.write(lhs), w.write(rhs)
        if wrt is not None:
            sl = sp.diff(sl, w.symbol(ctx.lookup(wrt).name))
        ok, why = compare_sympy(sl, sr, ctx, rel)
    except ClaimRecordError as exc:
        return SymbolicResult(Verdict.INCONCLUSIVE, "the record cannot be read", detail=str(exc))
    except Unsupported as exc:
        return SymbolicResult(Verdict.INCONCLUSIVE, "not written in SymPy", detail=str(exc))
    except (TypeError, ValueError, AttributeError, NotImplementedError) as exc:
        return SymbolicResult(Verdict.INCONCLUSIVE, "SymPy failed", detail=f"{type(exc).__name__}: {exc}")
    verdict = Verdict.HOLDS if ok else Verdict.FAILS if ok is False else Verdict.INCONCLUSIVE
    residual = None
    try:
        residual = str(sp.simplify(sl - sr)) if not isinstance(sl, sp.MatrixBase) else None
    except Exception:  # pragma: no cover - only for display
        pass
    return SymbolicResult(verdict, why, residual=residual)


# --------------------------------------------------------------------------
# The numeric confirmation
# --------------------------------------------------------------------------
def _size(e) -> int:
    return sum(1 for _ in e.walk())


def _analytic(e) -> bool:
    return not any(n.op in NON_ANALYTIC or (n.op == "fn" and n.value in NON_ANALYTIC) for n in e.walk())


def _value(eng, e, k):
    out = eng.outcome(e, k)
    if out.error is not None and out.value is None and not out.undefined:
        raise _NoValue(out.error)  # a shape error or an unknown name: the statement is wrong, not undecided
    if out.value is None or out.undefined:
        return None
    return out.value


class _NoValue(Exception):
    pass


def _derivative(eng, e, wrt: str, k: int):
    """The complex-step derivative of ``e`` with respect to object ``wrt`` at instance ``k``
    (the gradient, shaped like the object, for a scalar ``e`` and a vector/matrix object)."""
    from derivcheck.grading.instances import Instance, Val

    base = eng.instances[k]
    v0 = base.values[wrt]
    if np.any(np.abs(np.asarray(v0.arr).imag) > 0):
        raise ClaimRecordError(f"the complex step needs real values of {wrt}")
    f0 = _value(eng, e, k)
    if f0 is None:
        return None
    if v0.kind == "s":
        inst = Instance(base.context, base.dims, base.supports, dict(base.values))
        inst.values[wrt] = Val(v0.arr + 1j * COMPLEX_STEP, "s")
        return _at(eng, inst, e, lambda f: Val(np.asarray(f.arr).imag / COMPLEX_STEP + 0j, f.kind))
    if f0.kind != "s" and f0.mshape != (1, 1):
        raise ClaimRecordError("a derivative with respect to a vector or matrix needs a scalar function")
    grad = np.zeros(np.asarray(v0.arr).shape, dtype=complex)
    rows, cols = v0.mshape
    for i in range(rows):
        for j in range(cols):
            arr = np.array(v0.arr, dtype=complex)
            arr[..., i, j] += 1j * COMPLEX_STEP
            inst = Instance(base.context, base.dims, base.supports, dict(base.values))
            inst.values[wrt] = Val(arr, "m")
            f = _at(eng, inst, e, lambda f: f)
            if f is None:
                return None
            a = np.asarray(f.arr)
            grad[..., i, j] = (a.reshape(-1)[0] if f.kind == "m" else a.reshape(-1)[0]).imag / COMPLEX_STEP
    return Val(grad, "m")


def _at(eng, inst, e, post):
    from derivcheck.grading.errors import EvalError
    from derivcheck.grading.evaluate import Evaluator

    try:
        with np.errstate(all="ignore"):
            ev = Evaluator(inst)
            v = ev.concretize(ev.visit(e))
    except (EvalError, ZeroDivisionError, OverflowError, np.linalg.LinAlgError):
        return None
    return post(v)


def numeric_check(cid: str, data: dict, seed: int) -> NumericResult:
    """Both sides on random instances, against a roundoff bound."""
    from derivcheck.grading.engine import Engine
    from derivcheck.numerics import evidence

    t0 = time.perf_counter()
    try:
        ctx, lhs, wrt, rel, rhs = sides(cid, data)
        if wrt is not None and not _analytic(lhs):
            raise ClaimRecordError("the complex step needs an analytic function (no |.|, norms, min or max)")
        eng = Engine(ctx, n_instances=INSTANCES, seed=seed)
        worst, scale, used = 0.0, 1.0, 0
        for k in range(len(eng.instances)):
            if used >= INSTANCES:
                break
            try:
                a = _derivative(eng, lhs, wrt, k) if wrt is not None else _value(eng, lhs, k)
                b = _value(eng, rhs, k)
            except _NoValue as exc:
                return NumericResult(verdict=Verdict.FAILS, seed=seed, detail=f"a side has no value: {exc}",
                                     elapsed_s=time.perf_counter() - t0)
            if a is None or b is None:
                continue
            x, y = np.asarray(a.arr), np.asarray(b.arr)
            if x.size == 1 and y.size == 1:
                x, y = x.reshape(()), y.reshape(())
            if x.shape != y.shape and (a.kind == b.kind or "m" not in (a.kind, b.kind)):
                try:  # values over support axes broadcast; matrices of different shapes do not
                    x, y = np.broadcast_arrays(x, y) if a.kind != "m" else (x, y)
                except ValueError:
                    pass
            if x.shape != y.shape:
                return NumericResult(verdict=Verdict.FAILS, seed=seed, detail=(
                    f"the sides have different shapes on an instance: {x.shape} vs {y.shape}"),
                    elapsed_s=time.perf_counter() - t0)
            used += 1
            scale = max(scale, float(np.max(np.abs(x))), float(np.max(np.abs(y))))
            if rel in ("=", "=="):
                worst = max(worst, float(np.max(np.abs(x - y))))
            else:
                if np.any(np.abs(x.imag) > 0) or np.any(np.abs(y.imag) > 0):
                    raise ClaimRecordError("an inequality between complex values")
                d = (x.real - y.real) if rel in (">=", ">") else (y.real - x.real)
                worst = float(np.min(d)) if used == 1 else min(worst, float(np.min(d)))
        if used == 0:
            return NumericResult(verdict=Verdict.INCONCLUSIVE, seed=seed, detail="no instance had a value on both "
                                 "sides", elapsed_s=time.perf_counter() - t0)
        dims = max([1] + list(eng.instances[0].dims.values()) + list(eng.instances[0].supports.values()))
        n_ops = 4 * (_size(lhs) + _size(rhs)) * dims * (dims if wrt is not None else 1)
        relation = "==" if rel in ("=", "==") else (">=" if rel in (">=", "<=") else ">")
        ev = evidence.roundoff(
            f"{'max |lhs - rhs|' if relation == '==' else 'min signed margin'} over {used} random instances",
            worst, 0.0, n_ops=n_ops, scale=scale, n=used, seed=seed, relation=relation,
            detail="complex-step derivative" if wrt is not None else "direct evaluation")
    except ClaimRecordError as exc:
        return NumericResult(verdict=Verdict.INCONCLUSIVE, seed=seed, detail=str(exc),
                             elapsed_s=time.perf_counter() - t0)
    return NumericResult(evidence=[ev], seed=seed, elapsed_s=time.perf_counter() - t0)


# --------------------------------------------------------------------------
# Wrong variants (``rejects:``): the same checks must refute each of them
# --------------------------------------------------------------------------
def with_rejects_symbolic(cid: str, data: dict) -> SymbolicResult:
    """The claim's SymPy check; inconclusive if SymPy proves a declared wrong right-hand side too."""
    res = symbolic_check(cid, data)
    for wrong in data.get("rejects") or ():
        r = symbolic_check(cid, dict(data, rhs=wrong, expect="holds"))
        if r.verdict is Verdict.HOLDS:
            return SymbolicResult(Verdict.INCONCLUSIVE, "a declared wrong variant passes the same check",
                                  detail=f"rhs {wrong!r} is proved too ({r.method}): this check cannot tell them apart")
    if data.get("rejects"):
        res.detail = (res.detail + "; " if res.detail else "") + \
            f"{len(data['rejects'])} declared wrong variant(s) not proved by the same check"
    return res


def with_rejects_numeric(cid: str, data: dict, seed: int) -> NumericResult:
    """The claim's confirmation; inconclusive unless it refutes every declared wrong right-hand side."""
    res = numeric_check(cid, data, seed)
    for wrong in data.get("rejects") or ():
        r = numeric_check(cid, dict(data, rhs=wrong), seed)
        if r.verdict is not Verdict.FAILS:
            return NumericResult(evidence=res.evidence, verdict=Verdict.INCONCLUSIVE, seed=seed,
                                 detail=f"the declared wrong variant rhs {wrong!r} is not refuted ({r.verdict.value}): "
                                        "this confirmation cannot tell them apart")
    if data.get("rejects"):
        res.detail = (res.detail + "; " if res.detail else "") + \
            f"every declared wrong variant ({len(data['rejects'])}) refuted on the same instances"
    return res


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------
def _questions_of(cid: str, data: dict) -> tuple:
    qs = list(data.get("questions") or [])
    for qid, q in catalogue.questions().items():
        opts = q.spec.get("options")
        named = [q.spec.get("claim")] + ([v.get("claim") for v in opts.values() if isinstance(v, dict)]
                                         if isinstance(opts, dict) else [])
        if cid in named and qid not in qs:
            qs.append(qid)
    return tuple(qs)


_REGISTERED: dict = {}  # id(registry) -> the data-claim IDs this module registered there


def _unregister(registry: Registry, cid: str) -> None:
    """Drop a data claim whose record is gone (its questions file was removed from the catalogue)."""
    remove = getattr(registry, "remove", None)
    if remove is not None:
        remove(cid)
        return
    registry._claims.pop(cid, None)  # noqa: SLF001 - the registry has no public removal (yet)
    registry._confirmations.pop(cid, None)  # noqa: SLF001


def register_all(registry: Registry = REGISTRY) -> list:
    """Register every data claim of the catalogue (idempotent), and drop the ones this module registered
    earlier whose records are gone; returns the registered IDs."""
    from derivcheck.registry import stable_seed

    current = set(catalogue.catalogue().claims)
    mine = _REGISTERED.setdefault(id(registry), set())
    for cid in sorted(mine - current):
        _unregister(registry, cid)
        PROBLEMS.pop(cid, None)
    mine &= current
    done = []
    for cid, rec in catalogue.catalogue().claims.items():
        data = rec.data
        qs = _questions_of(cid, data)
        note = f"declared as data in {rec.source}"
        if rec.errors:
            note += "; record problems: " + "; ".join(str(e) for e in rec.errors)
        if data.get("note"):
            note = f"{data['note']} ({note})"

        def check(cid=cid, data=data, bad=rec.errors):
            if bad:
                return SymbolicResult(Verdict.INCONCLUSIVE, "the record does not follow the schema",
                                      detail="; ".join(str(e) for e in bad))
            return with_rejects_symbolic(cid, data)

        def confirm(ctx, cid=cid, data=data, bad=rec.errors):
            if bad:
                return NumericResult(verdict=Verdict.INCONCLUSIVE, detail="the record does not follow the schema")
            return with_rejects_numeric(cid, data, ctx.seed)

        try:
            registry.claim(cid, questions=qs, statement=statement(data), title=data.get("title", ""),
                           assumptions=data.get("assumptions") or (), expect=data.get("expect", "holds"),
                           note=note)(check)
            registry.confirms(cid, name="random_instances", seed=stable_seed(f"{cid}/random_instances"))(confirm)
        except (RegistryError, ValueError) as exc:  # a bad record fails alone, loudly
            PROBLEMS[cid] = f"{rec.source}: data claim {cid} is not registered: {exc}"
            continue
        PROBLEMS.pop(cid, None)
        mine.add(cid)
        done.append(cid)
    return done


#: claim ID -> why its record could not be registered (shown by ``derivcheck list``)
PROBLEMS: dict = {}


register_all()


@catalogue.on_change
def _reregister() -> None:
    register_all()
