"""Numeric confirmations for ``derivations/contrastive.py`` (the coloured-shapes trainings of
mit-hw4/7-8 are in ``numerics/shapes.py``).

* cross-entropy form of Eq. (1) in Torch, with the answered target;
* logit range, distance and cosine identities on random vectors (answers evaluated exactly
  by substitution, never parsed);
* feature-geometry Monte Carlo for 4c / 4e / 4f: random clustered encoders on S^2, the three
  conditions and exact perfect-accuracy checks, and the effect of shrinking diameters or
  growing margins;
* the loss floor on the sphere (random accurate encoders and an Adam-optimised one) and the
  scaling of unnormalised encoders (monotone decrease, float32 overflow);
* the dual-encoder view of cross-entropy with a real Torch classifier (losses, accuracies and
  gradients coincide);
* NT-Xent against Tian's loss built from distances, the temperature limits with their
  sandwich bounds, the softmax gradient weights and the temperature floor.

Tolerances: deterministic float64 computations use the roundoff rule (gamma_n times the
magnitude of the summed terms, n stated per call); proportions use Hoeffding envelopes at the
policy's per-comparison rate; exact counts must match exactly.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from derivcheck import NumericResult, Plot, Series, confirms
from derivcheck.derivations import contrastive as sym
from derivcheck.derivations import prove

from derivcheck.model import training as _training

from . import evidence, policy
from .torchkit import seeded, single_threaded, torch


def _value(expr, subs: dict) -> float:
    """A SymPy answer evaluated exactly at a point (nan if it is not a real number there)."""
    v = sp.N(prove_expr(expr).subs(subs), 30)
    try:
        c = complex(v)
    except (TypeError, ValueError):
        return math.nan
    return c.real if abs(c.imag) <= 1e-25 * max(1.0, abs(c.real)) else math.nan


def prove_expr(value):
    """The answer as a SymPy object (numbers converted, never strings parsed)."""
    return prove.as_expr(value)


def _unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact_count(quantity, count, *, n, seed=None, detail="", reference=0, relation="=="):
    return evidence.compare(quantity, count, reference, tolerance=0.0, rule="exact count", error=0.0,
                            error_kind="exact", n=n, seed=seed, relation=relation, detail=detail)


# ==========================================================================
# 2: Eq. (1) as a classification loss
# ==========================================================================
@confirms("contrastive.target_class")
@single_threaded
def eq1_as_cross_entropy(ctx):
    """Eq. (1) for each anchor, computed literally, equals torch's cross_entropy with the answered target."""
    t = torch()
    n_groups, d = 6, 4
    ev = []
    worst, bad = 0.0, []
    for trial in range(20):
        feats_x = _unit(ctx.rng, n_groups, d)
        feats_y = _unit(ctx.rng, n_groups, d)
        logits = feats_x @ feats_y.T  # row a: anchor x_a against y_1..y_N
        for a in range(n_groups):
            eq1 = -(logits[a, a] - math.log(np.exp(logits[a]).sum()))
            target = prove_expr(ctx.answer).subs({sym.i: a + 1, sym.N: n_groups})
            if not (target.is_integer and 1 <= int(target) <= n_groups):
                bad.append((a + 1, str(target)))
                continue
            ce = float(t.nn.functional.cross_entropy(t.tensor(logits[a:a + 1]), t.tensor([int(target) - 1])))
            worst = max(worst, abs(ce - eq1))
    ev.append(_exact_count("anchors whose answered target is not a class index", len(bad), n=20 * n_groups,
                           seed=ctx.seed, detail=str(bad[:3]) if bad else ""))
    ev.append(evidence.roundoff("max |Eq.(1) - cross_entropy(logits, target)| over 120 anchors", worst, 0.0,
                                n_ops=4 * n_groups + 8, scale=2.0 + math.log(n_groups), n=20 * n_groups,
                                seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("contrastive.logit_range")
@single_threaded
def logit_range_random(ctx):
    """Dot products of random unit vectors stay in the answered range, and its ends are attained at v = +-u."""
    lo, hi = (float(prove_expr(a)) for a in sorted(ctx.answer, key=lambda e: float(prove_expr(e))))
    ev = []
    for d in (2, 3, 16, 128):
        u, v = _unit(ctx.rng, 2000, d), _unit(ctx.rng, 2000, d)
        dots = np.einsum("ij,ij->i", u, v)
        bound = policy.gamma(3 * d) * 1.0
        ev.append(evidence.roundoff(f"max u^T v (d = {d}) <= upper end", float(dots.max()), hi, n_ops=3 * d,
                                    scale=1.0, relation="<=", n=2000, seed=ctx.seed))
        ev.append(evidence.roundoff(f"min u^T v (d = {d}) >= lower end", float(dots.min()), lo, n_ops=3 * d,
                                    scale=1.0, relation=">=", n=2000, seed=ctx.seed))
        ends = (float(np.einsum("ij,ij->i", u, u).max()), float(np.einsum("ij,ij->i", u, -u).min()))
        ev.append(evidence.compare(f"u^T u (d = {d}) attains the upper end", ends[0], hi, tolerance=bound,
                                   rule="roundoff bound gamma_{3d}", error=bound, error_kind="roundoff bound",
                                   n=2000, seed=ctx.seed))
        ev.append(evidence.compare(f"u^T (-u) (d = {d}) attains the lower end", ends[1], lo, tolerance=bound,
                                   rule="roundoff bound gamma_{3d}", error=bound, error_kind="roundoff bound",
                                   n=2000, seed=ctx.seed))
    return NumericResult(evidence=ev)


# ==========================================================================
# 3: distances
# ==========================================================================
@confirms("contrastive.distance_general")
@confirms("contrastive.answer_set_distance_general")
@single_threaded
def distance_random_vectors(ctx):
    """The answer, evaluated at the norms and dot product of random (non-unit) vectors, against ||u - v||."""
    worst, n = 0.0, 60
    scale = 0.0
    for _ in range(n):
        d = int(ctx.rng.integers(2, 9))
        u, v = ctx.rng.normal(scale=2.0, size=d), ctx.rng.normal(scale=2.0, size=d)
        got = _value(ctx.answer, {sym.NORM_U: float(np.linalg.norm(u)), sym.NORM_V: float(np.linalg.norm(v)),
                                  sym.DOT: float(u @ v)})
        want = float(np.linalg.norm(u - v))
        worst = max(worst, abs(got - want) if math.isfinite(got) else math.inf)
        scale = max(scale, float(np.linalg.norm(u) + np.linalg.norm(v)))
    return NumericResult(evidence=[evidence.roundoff(
        "max |answer(||u||, ||v||, u^T v) - ||u - v|| | over random vectors in R^2..R^8", worst, 0.0,
        n_ops=60, scale=scale, n=n, seed=ctx.seed, detail="a non-real answer counts as an infinite error")])


@confirms("contrastive.cosine_on_sphere")
@single_threaded
def cosine_random_unit(ctx):
    """cos(u, v) of random unit vectors against the answer evaluated at ||u - v||."""
    worst, n = 0.0, 60
    for _ in range(n):
        d = int(ctx.rng.integers(2, 9))
        u, v = _unit(ctx.rng, 1, d)[0], _unit(ctx.rng, 1, d)[0]
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        got = _value(ctx.answer, {sym.DIST: float(np.linalg.norm(u - v))})
        worst = max(worst, abs(got - cos) if math.isfinite(got) else math.inf)
    return NumericResult(evidence=[evidence.roundoff("max |answer(||u - v||) - cos(u, v)| over random unit vectors",
                                                     worst, 0.0, n_ops=60, scale=4.0, n=n, seed=ctx.seed)])


# ==========================================================================
# 4: feature geometry Monte Carlo
# ==========================================================================
GROUPS, PER_GROUP, FEAT_DIM = 4, 3, 3
SIGMAS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.8)
CONFIGS_PER_SIGMA = 400


def _tetrahedron():
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float) / math.sqrt(3)


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def geometry(points: np.ndarray) -> dict:
    """Conditions (i)-(iii) and perfect accuracy for groups given as points[g, k, :] on the sphere.

    Returns the booleans plus the smallest slack min(margin - diameter) and the smallest logit gap
    (worst positive minus best negative over all anchors)."""
    g = points.shape[0]
    flat = points.reshape(-1, points.shape[-1])
    dist = np.linalg.norm(flat[:, None] - flat[None], axis=-1).reshape(g, PER_GROUP, g, PER_GROUP)
    dots = (flat @ flat.T).reshape(g, PER_GROUP, g, PER_GROUP)
    diam = np.array([dist[a, :, a, :].max() for a in range(g)])
    marg = np.array([[dist[a, :, b, :].min() if a != b else np.inf for b in range(g)] for a in range(g)])
    off = ~np.eye(g, dtype=bool)
    tol = policy.gamma(4 * points.shape[-1]) * 4.0  # distances are computed to within this
    cond = {
        "i": bool(all((diam[a] + tol < marg[a][off[a]]).any() for a in range(g))),
        "ii": bool(all((diam[a] + tol < marg[a][off[a]]).all() for a in range(g))),
        "iii": bool((diam + tol < marg[off].min()).any()),
    }
    gaps = []
    for a in range(g):
        worst_pos = dots[a, :, a, :].min(axis=1)
        best_neg = np.max([dots[a, :, b, :].max(axis=1) for b in range(g) if b != a], axis=0)
        gaps.append((worst_pos - best_neg).min())
    slack = min(float((marg[a][off[a]] - diam[a]).min()) for a in range(g))
    return {**cond, "accurate": bool(min(gaps) > tol), "gap": float(min(gaps)), "slack": slack, "tol": tol}


@functools.lru_cache(maxsize=4)
@_training("contrastive geometry study")
def geometry_study(seed: int) -> dict:
    """Random clustered encoders: 4 groups of 3 points on S^2, centres uniform, spread sigma."""
    rng = np.random.default_rng(seed)
    rows = []
    for sigma in SIGMAS:
        for _ in range(CONFIGS_PER_SIGMA):
            centres = _unit(rng, GROUPS, FEAT_DIM)
            pts = centres[:, None, :] + sigma * rng.normal(size=(GROUPS, PER_GROUP, FEAT_DIM))
            pts /= np.linalg.norm(pts, axis=-1, keepdims=True)
            rows.append({"sigma": sigma, **geometry(pts)})
    spreads = {}
    for lam in (0.25, 2.5):
        out = []
        for _ in range(CONFIGS_PER_SIGMA):
            base = _unit(rng, 1, FEAT_DIM)[0]
            centres = base + lam * (_tetrahedron() @ _random_rotation(rng).T)
            centres /= np.linalg.norm(centres, axis=1, keepdims=True)
            pts = centres[:, None, :] + 0.12 * rng.normal(size=(GROUPS, PER_GROUP, FEAT_DIM))
            pts /= np.linalg.norm(pts, axis=-1, keepdims=True)
            out.append(geometry(pts))
        spreads[lam] = out
    return {"rows": rows, "spreads": spreads}


def _fraction(rows, key):
    return sum(r[key] for r in rows) / len(rows)


def _geometry_plot(study) -> Plot:
    series = []
    for key, label in (("ii", "condition (ii) holds"), ("accurate", "perfect accuracy"), ("i", "condition (i)"),
                       ("iii", "condition (iii)")):
        series.append(Series(label, list(SIGMAS),
                             [_fraction([r for r in study["rows"] if r["sigma"] == s], key) for s in SIGMAS],
                             style="o-"))
    return Plot("Random clustered encoders on S^2 (4 groups x 3 points)", "within-group spread sigma",
                "fraction of configurations", series,
                caption=f"{CONFIGS_PER_SIGMA} configurations per sigma. Condition (ii) never holds without perfect "
                        "accuracy; (i) and (iii) often do. Tighter groups (smaller diameters) satisfy (ii) more often.")


@confirms("contrastive.perfect_accuracy_condition")
@single_threaded
def accuracy_monte_carlo(ctx):
    """Among random configurations satisfying the answered condition, count those without perfect accuracy."""
    study = geometry_study(ctx.seed)
    option = str(ctx.answer).strip().lower()
    rows = study["rows"]
    if option not in ("i", "ii", "iii"):
        return NumericResult(evidence=[_exact_count("answer is one of i, ii, iii (violations)", 1, n=1)])
    sat = [r for r in rows if r[option]]
    bad = [r for r in sat if r["gap"] < -r["tol"]]  # some anchor's positive clearly loses to a negative
    ev = [_exact_count(f"configurations satisfying ({option}) where a negative beats the positive", len(bad),
                       n=len(sat), seed=ctx.seed,
                       detail=f"{len(sat)} of {len(rows)} configurations satisfy ({option})")]
    if option == "ii":
        worst = min((r["gap"] for r in sat), default=math.inf)
        tol = max((r["tol"] for r in sat), default=0.0)
        ev.append(evidence.compare("smallest logit gap (worst positive - best negative) among (ii) configurations",
                                   worst, 0.0, relation=">=", tolerance=tol, rule="roundoff bound of the dot products",
                                   error=tol, error_kind="roundoff bound", n=len(sat), seed=ctx.seed))
    return NumericResult(evidence=ev, plots=[_geometry_plot(study)])


def _two_proportions(quantity, a_rows, b_rows, key, relation, seed):
    pa, pb = _fraction(a_rows, key), _fraction(b_rows, key)
    tol = policy.hoeffding_halfwidth(len(a_rows), 0, 1) + policy.hoeffding_halfwidth(len(b_rows), 0, 1)
    return evidence.compare(quantity, pa - pb, 0.0, relation=relation, tolerance=tol,
                            rule=f"sum of two Hoeffding envelopes at rate {policy.PER_COMPARISON:g}",
                            error=tol, error_kind="Hoeffding half-widths", n=len(a_rows) + len(b_rows), seed=seed,
                            detail=f"{pa:.3f} vs {pb:.3f}")


@confirms("contrastive.smaller_diameter")
@single_threaded
def diameter_effect(ctx):
    """P[(ii) holds] with tight groups minus with spread-out groups: positive iff smaller diameters help."""
    study = geometry_study(ctx.seed)
    rel = {"smaller": ">", "larger": "<"}.get(str(ctx.answer).strip().lower())
    if rel is None:
        return NumericResult(evidence=[_exact_count("answer is larger or smaller (violations)", 1, n=1)])
    tight = [r for r in study["rows"] if r["sigma"] == SIGMAS[1]]
    loose = [r for r in study["rows"] if r["sigma"] == SIGMAS[-2]]
    return NumericResult(evidence=[_two_proportions(
        f"P[(ii)] at sigma = {SIGMAS[1]} minus at sigma = {SIGMAS[-2]} ('{ctx.answer}' predicts {rel} 0)",
        tight, loose, "ii", rel, ctx.seed)], plots=[_geometry_plot(study)])


@confirms("contrastive.larger_margin")
@single_threaded
def margin_effect(ctx):
    """P[(ii) holds] with well-separated group centres minus with crowded centres (same spread)."""
    study = geometry_study(ctx.seed)
    rel = {"larger": ">", "smaller": "<"}.get(str(ctx.answer).strip().lower())
    if rel is None:
        return NumericResult(evidence=[_exact_count("answer is larger or smaller (violations)", 1, n=1)])
    wide, crowded = study["spreads"][2.5], study["spreads"][0.25]
    return NumericResult(evidence=[_two_proportions(
        f"P[(ii)] with spread-out centres minus crowded centres ('{ctx.answer}' predicts {rel} 0)",
        wide, crowded, "ii", rel, ctx.seed)])


@confirms("contrastive.overlap_breaks_condition")
@single_threaded
def overlap_monte_carlo(ctx):
    """Groups sharing an element: the slack min(margin - diameter) is never positive."""
    label = str(ctx.answer).strip().lower()
    worst, sat, n = -math.inf, 0, 500
    for _ in range(n):
        centres = _unit(ctx.rng, GROUPS, FEAT_DIM)
        pts = centres[:, None, :] + 0.05 * ctx.rng.normal(size=(GROUPS, PER_GROUP, FEAT_DIM))
        pts /= np.linalg.norm(pts, axis=-1, keepdims=True)
        a, b = ctx.rng.choice(GROUPS, size=2, replace=False)
        pts[b, 0] = pts[a, int(ctx.rng.integers(PER_GROUP))]  # a shared support element
        geo = geometry(pts)
        worst = max(worst, geo["slack"])
        sat += geo["ii"]
    rel = {"no": "<=", "yes": ">"}.get(label, "==")
    return NumericResult(evidence=[
        evidence.compare(f"max over {n} overlapping configurations of min(margin - diameter) "
                         f"('{label}' predicts {rel} 0)", worst, 0.0, relation=rel,
                         tolerance=policy.gamma(4 * FEAT_DIM) * 4.0, rule="roundoff bound of the distances",
                         error=policy.gamma(4 * FEAT_DIM) * 4.0, error_kind="roundoff bound", n=n, seed=ctx.seed,
                         detail=f"(ii) held in {sat} configurations"),
    ])


# ==========================================================================
# 5: loss floor on the sphere, scaling without normalisation
# ==========================================================================
def exact_contrastive_loss(points: np.ndarray, scale: float = 1.0) -> float:
    """Eq. (1) exactly: average over groups i, anchors x in S_i, positives in S_i and every choice of
    one negative per other group (uniform finite supports), logits scaled by scale^2."""
    t = torch()
    g, k, _ = points.shape
    x = t.tensor(points, dtype=t.float64)
    dots = t.einsum("akd,bld->akbl", x, x) * scale**2  # anchor (a, k) against candidate (b, l)
    total = 0.0
    for a in range(g):
        others = [b for b in range(g) if b != a]
        # logits for every (anchor k, positive l, negative choice per other group)
        grids = t.meshgrid(*[t.arange(k)] * len(others), indexing="ij")
        choice = t.stack([gr.reshape(-1) for gr in grids], dim=1)  # (k^(g-1), g-1)
        for kk in range(k):
            pos = dots[a, kk, a, :]  # (k,)
            neg = t.stack([dots[a, kk, b, choice[:, n]] for n, b in enumerate(others)], dim=1)  # (C, g-1)
            logits = t.cat([pos[:, None, None].expand(k, neg.shape[0], 1), neg[None].expand(k, -1, -1)], dim=2)
            total += float((t.logsumexp(logits, dim=2) - logits[..., 0]).mean())
    return total / (g * k)


@functools.lru_cache(maxsize=4)
def _accurate_configs(seed: int, count: int = 12):
    rng = np.random.default_rng(seed + 1)
    out = []
    while len(out) < count:
        centres = _unit(rng, GROUPS, FEAT_DIM)
        pts = centres[:, None, :] + 0.05 * rng.normal(size=(GROUPS, PER_GROUP, FEAT_DIM))
        pts /= np.linalg.norm(pts, axis=-1, keepdims=True)
        if geometry(pts)["accurate"]:
            out.append(pts)
    return out


def _optimised_sphere_loss(seed: int, steps: int = 400):
    """Adam on N collapsed groups (one unit vector each) in R^N: the loss approaches the simplex value."""
    t = torch()
    gen = seeded(seed)
    w = t.randn(GROUPS, GROUPS, generator=gen, dtype=t.float64, requires_grad=True)
    opt = t.optim.Adam([w], lr=0.05)
    curve = []
    for _ in range(steps):
        z = t.nn.functional.normalize(w, dim=1)
        logits = z @ z.T
        loss = t.nn.functional.cross_entropy(logits, t.arange(GROUPS))
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.detach()))
    with t.no_grad():
        z = t.nn.functional.normalize(w, dim=1)
        final = float(t.nn.functional.cross_entropy(z @ z.T, t.arange(GROUPS)))
    return final, curve


@confirms("contrastive.sphere_loss_floor")
@confirms("contrastive.zero_loss_on_sphere")
@single_threaded
def sphere_loss_floor_numeric(ctx):
    """Exact Eq. (1) losses of random perfectly accurate unit-norm encoders and of an Adam-optimised one:
    all at or above log(1 + (N - 1) e^{-2}); the optimum approaches the regular-simplex value."""
    label = str(ctx.answer).strip().lower() if ctx.answer is not None else None
    floor = math.log(1 + (GROUPS - 1) * math.exp(-2))
    simplex = math.log(1 + (GROUPS - 1) * math.exp(-GROUPS / (GROUPS - 1)))
    losses = [exact_contrastive_loss(p) for p in _accurate_configs(ctx.seed)]
    final, curve = _optimised_sphere_loss(ctx.seed)
    lowest = min(min(losses), final)
    n_ops, scale = 8 * GROUPS * PER_GROUP, 2.0 + math.log(GROUPS)
    ev = [evidence.roundoff(f"lowest loss of {len(losses)} accurate encoders and the optimised one >= floor",
                            lowest, floor, n_ops=n_ops, scale=scale, relation=">=", n=len(losses) + 1, seed=ctx.seed,
                            detail=f"optimised {final:.6f}; regular simplex {simplex:.6f}; floor {floor:.6f}")]
    if label is not None:
        rel = {"no": ">", "yes": "=="}.get(label, "==")
        ev.append(evidence.roundoff(f"lowest loss vs 0 ('{label}': zero loss {'not ' if rel == '>' else ''}reachable)",
                                    lowest, 0.0, n_ops=n_ops, scale=scale, relation=rel, n=len(losses) + 1,
                                    seed=ctx.seed))
    plot = Plot("Contrastive loss of unit-norm encoders (N = 4 collapsed groups), Adam", "step", "loss", [
        Series("Adam on S^3", list(range(0, len(curve), 4)), curve[::4]),
        Series("regular simplex", [0, len(curve)], [simplex, simplex], style="k--"),
        Series("floor log(1 + 3e^-2)", [0, len(curve)], [floor, floor], style="r:"),
    ], caption="Even the best unit-norm encoder keeps a positive loss (the simplex value); the floor "
               "log(1 + (N-1)e^{-2}) bounds every perfectly accurate one from below.")
    return NumericResult(evidence=ev, plots=[plot])


SCALES = tuple(np.round(np.logspace(0, 1.3, 14), 6))


@confirms("contrastive.unnormalized_scaling")
@single_threaded
def scaling_numeric(ctx):
    """Loss of s * f for an accurate encoder f over s in [1, 20]: strictly decreasing, below the
    closed-form upper bound log(1 + (N - 1) e^{-s^2 delta_min}), and far below the sphere's floor."""
    label = str(ctx.answer).strip().lower()
    pts = _accurate_configs(ctx.seed)[0]
    losses = [exact_contrastive_loss(pts, s) for s in SCALES]
    gap = geometry(pts)["gap"]
    floor = math.log(1 + (GROUPS - 1) * math.exp(-2))
    n_ops = 8 * GROUPS * PER_GROUP
    rises = [k for k in range(1, len(losses)) if losses[k] > losses[k - 1] + policy.gamma(n_ops) * losses[k - 1]]
    upper = [math.log1p((GROUPS - 1) * math.exp(-s * s * gap)) for s in SCALES]
    over = max(l - u for l, u in zip(losses, upper))
    ev = [
        _exact_count("scales at which the loss increased", len(rises), n=len(SCALES), seed=ctx.seed),
        evidence.roundoff("max_s [loss(s) - log(1 + (N-1) e^{-s^2 delta_min})]", over, 0.0, n_ops=n_ops,
                          scale=max(losses), relation="<=", n=len(SCALES), seed=ctx.seed),
    ]
    rel = {"yes": "<", "no": ">="}.get(label, "==")
    ev.append(evidence.roundoff(f"loss at s = {SCALES[-1]} vs the sphere floor ('{label}' predicts {rel})",
                                losses[-1], floor, n_ops=n_ops, scale=floor, relation=rel, n=1, seed=ctx.seed,
                                detail=f"loss(20) = {losses[-1]:.3e}"))
    plot = Plot("Scaling an accurate encoder without normalisation", "scale s", "loss", [
        Series("exact loss of s f", list(SCALES), losses, style="o-"),
        Series("upper bound log(1 + 3 e^{-s^2 delta_min})", list(SCALES), upper, style="k--"),
        Series("unit-sphere floor", [SCALES[0], SCALES[-1]], [floor, floor], style="r:"),
    ], logy=True, caption="The loss falls below any positive level as s grows; the logits grow like s^2.")
    return NumericResult(evidence=ev, plots=[plot])


@confirms("contrastive.logit_growth")
@single_threaded
def logit_growth_numeric(ctx):
    """Bisection for the smallest gap g with loss <= epsilon matches log((N-1)/(e^eps - 1)); a naive
    float32 softmax overflows once the logits pass log(float32 max) = 88.72 while logsumexp does not."""
    t = torch()
    m = GROUPS - 1
    ev = []
    for eps in (1e-1, 1e-2, 1e-4, 1e-8):
        lo, hi = 0.0, 200.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if math.log1p(m * math.exp(-mid)) <= eps:
                hi = mid
            else:
                lo = mid
        closed = math.log(m / math.expm1(eps))
        bound = (hi - lo) + policy.gamma(8) * closed
        ev.append(evidence.solver(f"smallest gap with loss <= {eps:g}", hi, closed, bound=bound,
                                  rule="bisection bracket width plus roundoff gamma_8", n=200, seed=ctx.seed))
    logits = t.tensor([[100.0, 0.0, -5.0, 3.0]], dtype=t.float32)
    naive = -t.log(t.exp(logits[0, 0]) / t.exp(logits).sum())
    stable = t.nn.functional.cross_entropy(logits, t.tensor([0]))
    ev.append(_exact_count("naive float32 softmax loss at logit 100 is finite (1) or not (0)",
                           int(bool(t.isfinite(naive))), n=1, detail=f"naive {float(naive)}"))
    ev.append(_exact_count("logsumexp float32 loss at logit 100 is finite (1) or not (0)",
                           int(bool(t.isfinite(stable))), n=1, reference=1, detail=f"stable {float(stable):.3e}"))
    return NumericResult(evidence=ev)


# ==========================================================================
# 6: cross-entropy as a dual encoder (Torch)
# ==========================================================================
def _dual_loss(f1, f2_matrix, labels, n_classes):
    """Eq. (8) literally: mean over classes i of the mean over x ~ Unif{x_k : y_k = i} of
    -log softmax(f1(x)^T [f2(1) ... f2(C)])_i."""
    t = torch()
    logits = f1 @ f2_matrix
    per = -t.log_softmax(logits, dim=1)[t.arange(len(labels)), labels]
    return sum(per[labels == c].mean() for c in range(n_classes)) / n_classes, logits


@confirms("contrastive.xent_as_dual_encoder")
@single_threaded
def dual_encoder_torch(ctx):
    """A Torch classifier g = Linear(ReLU(Linear(x))) on balanced labels: with (g, one-hot) and with
    ([g_feat :: 1], W_c) the dual-encoder loss, accuracy and parameter gradients equal cross-entropy's."""
    t = torch()
    gen = seeded(ctx.seed)
    n_classes, per_class, d_in, d_feat = 4, 15, 5, 8
    x = t.randn(n_classes * per_class, d_in, generator=gen, dtype=t.float64)
    y = t.arange(n_classes).repeat_interleave(per_class)
    feat = t.nn.Sequential(t.nn.Linear(d_in, d_feat), t.nn.ReLU()).double()
    head = t.nn.Linear(d_feat, n_classes).double()
    params = list(feat.parameters()) + list(head.parameters())

    def grads(loss):
        return t.autograd.grad(loss, params)

    logits_g = head(feat(x))
    xce = t.nn.functional.cross_entropy(logits_g, y)
    g_xce = grads(xce)
    dual1, logits1 = _dual_loss(head(feat(x)), t.eye(n_classes, dtype=t.float64), y, n_classes)
    h = feat(x)
    f1 = t.cat([h, t.ones(len(h), 1, dtype=t.float64)], dim=1)
    w_aug = t.cat([head.weight.T, head.bias[None]], dim=0)  # column c is W_c in R^{d_feat + 1}
    dual2, logits2 = _dual_loss(f1, w_aug, y, n_classes)
    ev = []
    n_ops = 4 * (d_feat + 1) * n_classes + 8 * n_classes + len(y)
    scale = float(xce.detach()) + float(logits_g.detach().abs().max())
    for name, dual, logits in (("(g, one-hot)", dual1, logits1), ("([g_feat :: 1], W_c)", dual2, logits2)):
        ev.append(evidence.roundoff(f"|L_dual - L_xce| with {name}", abs(float((dual - xce).detach())), 0.0,
                                    n_ops=n_ops, scale=scale, n=len(y), seed=ctx.seed))
        ev.append(_exact_count(f"samples whose argmax differs with {name}",
                               int((logits.argmax(1) != logits_g.argmax(1)).sum()), n=len(y), seed=ctx.seed))
        diff = max(float((a - b).abs().max()) for a, b in zip(grads(dual), g_xce))
        gscale = max(float(b.abs().max()) for b in g_xce) + 1.0
        ev.append(evidence.roundoff(f"max |grad L_dual - grad L_xce| over parameters with {name}", diff, 0.0,
                                    n_ops=2 * n_ops, scale=gscale * float(x.abs().max() + 1), n=len(params),
                                    seed=ctx.seed))
    # the balance assumption matters: drop half of class 0 and the two averages differ
    keep = t.ones(len(y), dtype=t.bool)
    keep[: per_class // 2] = False
    unbalanced, _ = _dual_loss(logits_g[keep], t.eye(n_classes, dtype=t.float64), y[keep], n_classes)
    plain = t.nn.functional.cross_entropy(logits_g[keep], y[keep])
    return NumericResult(evidence=ev, detail=(f"with unbalanced classes the dual loss {float(unbalanced.detach()):.6f} "
                                              f"differs from cross-entropy {float(plain.detach()):.6f}: the equality "
                                              "needs K/C samples per class"))


# ==========================================================================
# vae-simclr/2: NT-Xent, Tian's loss and the temperature
# ==========================================================================
def _views(rng, pairs, d):
    z = _unit(rng, 2 * pairs, d)
    partner = np.concatenate([np.arange(pairs, 2 * pairs), np.arange(pairs)])
    return z, partner


def tian_loss(z: np.ndarray, partner: np.ndarray, temperature: float, phi=np.log,
              psi=None) -> float:
    """Tian's unified loss from halved squared distances, j != i over all other views."""
    psi = psi or (lambda v: np.exp(v / temperature))
    n = len(z)
    d2 = 0.5 * ((z[:, None] - z[None]) ** 2).sum(-1)
    total = 0.0
    for a in range(n):
        others = [j for j in range(n) if j != a]
        total += float(phi(psi(d2[a, partner[a]] - d2[a, others]).sum()))
    return total


def ntxent_loss(z: np.ndarray, partner: np.ndarray, temperature: float, *, include_positive=True) -> float:
    """SimCLR's NT-Xent with cosine similarities (Torch cross_entropy, self excluded, sum over anchors)."""
    t = torch()
    zt = t.tensor(z, dtype=t.float64)
    zt = zt / zt.norm(dim=1, keepdim=True)
    sim = zt @ zt.T / temperature
    sim.fill_diagonal_(-math.inf)
    target = t.tensor(partner)
    if not include_positive:
        pos = sim[t.arange(len(z)), target].clone()
        sim[t.arange(len(z)), target] = -math.inf
        return float((t.logsumexp(sim, dim=1) - pos).sum())
    return float(t.nn.functional.cross_entropy(sim, target, reduction="sum"))


@confirms("contrastive.ntxent_from_tian")
@single_threaded
def ntxent_vs_tian(ctx):
    """Random unit embeddings (16 views = 8 positive pairs, R^5): Tian's loss built from halved squared
    distances with phi = log, psi = exp(x / tau) equals Torch NT-Xent, for several temperatures."""
    ev = []
    for temperature in (0.05, 0.1, 0.5, 1.0, 5.0):
        z, partner = _views(ctx.rng, 8, 5)
        a, b = tian_loss(z, partner, temperature), ntxent_loss(z, partner, temperature)
        n = len(z)
        ev.append(evidence.roundoff(f"|Tian - NT-Xent| at tau = {temperature}", abs(a - b), 0.0,
                                    n_ops=12 * n + 20, scale=abs(b) + n * 4.0 / temperature, n=n, seed=ctx.seed))
    return NumericResult(evidence=ev)


def _lse_terms(z, partner, temperature):
    """Per-anchor x_j = sim_ij - sim_ii' over the candidates j != i (positive included, x = 0)."""
    sim = z @ z.T
    rows = []
    for a in range(len(z)):
        others = [j for j in range(len(z)) if j != a]
        rows.append(sim[a, others] - sim[a, partner[a]])
    return np.array(rows)


def _stable_loss(x: np.ndarray, temperature: float) -> float:
    t = torch()
    return float(t.logsumexp(t.tensor(x / temperature, dtype=t.float64), dim=1).sum())


TAUS = tuple(float(v) for v in np.logspace(-3, 3, 25))


@confirms("contrastive.temperature_large")
@confirms("contrastive.temperature_small")
@single_threaded
def temperature_limits(ctx):
    """Random embeddings: |L - N log M| <= sum_i max_j |x_ij| / tau for large tau, and
    0 <= tau L - sum_i hinge_i <= tau N log M for small tau (x_ij = sim_ij - sim_ii')."""
    z, partner = _views(ctx.rng, 8, 5)
    x = _lse_terms(z, partner, 1.0)
    n, m = x.shape
    hinge = float(np.maximum(0.0, x.max(axis=1)).sum())
    ev = []
    losses = [_stable_loss(x, tau) for tau in TAUS]
    rnd = policy.gamma(4 * m + 8)
    for tau in (10.0, 100.0, 1000.0):
        loss = _stable_loss(x, tau)
        bound = float(np.abs(x).max(axis=1).sum()) / tau
        ev.append(evidence.compare(f"|L - N log M| at tau = {tau:g}", abs(loss - n * math.log(m)), 0.0,
                                   relation="<=", tolerance=bound + rnd * n * math.log(m),
                                   rule="sandwich log M + min x/tau <= l_i <= log M + max x/tau, plus roundoff",
                                   error=bound, error_kind="analytic bound", n=n, seed=ctx.seed))
    for tau in (0.1, 0.01, 0.001):
        scaled = tau * _stable_loss(x, tau)
        slack = tau * n * math.log(m)
        r = rnd * (hinge + slack + 1.0)
        ev.append(evidence.compare(f"tau L - hinge sum at tau = {tau:g} (>= 0)", scaled - hinge, 0.0, relation=">=",
                                   tolerance=r, rule="roundoff gamma_n", error=r, error_kind="roundoff bound", n=n,
                                   seed=ctx.seed))
        ev.append(evidence.compare(f"tau L - hinge sum at tau = {tau:g} (<= tau N log M)", scaled - hinge, slack,
                                   relation="<=", tolerance=r, rule="sandwich upper bound plus roundoff", error=r,
                                   error_kind="roundoff bound", n=n, seed=ctx.seed))
    plot = Plot("NT-Xent against the temperature (16 random unit views in R^5)", "tau", "loss", [
        Series("L(tau)", list(TAUS), losses),
        Series("N log M (tau -> oo)", [TAUS[0], TAUS[-1]], [n * math.log(m)] * 2, style="k--"),
        Series("hinge sum / tau (tau -> 0)", list(TAUS), [hinge / tv if hinge > 0 else float("nan") for tv in TAUS],
               style="r:"),
    ], logy=True, caption="Large tau: the loss saturates at N log M and carries no signal; small tau: it follows "
                          "the hardest-negative hinges divided by tau.")
    return NumericResult(evidence=ev, plots=[plot],
                         detail=f"N = {n} anchors, M = {m} candidates, hinge sum {hinge:.4f}")


@confirms("contrastive.temperature_gradient")
@single_threaded
def temperature_gradient_autograd(ctx):
    """Autograd of NT-Xent with respect to the similarity matrix equals softmax(sim / tau) / tau on the
    negatives and (p_pos - 1) / tau on the positives."""
    t = torch()
    z, partner = _views(ctx.rng, 8, 5)
    ev = []
    for tau in (0.05, 0.5, 5.0):
        sim = t.tensor(z @ z.T, dtype=t.float64, requires_grad=True)
        logits = sim / tau
        mask = t.eye(len(z), dtype=t.bool)
        loss = t.nn.functional.cross_entropy(logits.masked_fill(mask, -math.inf), t.tensor(partner), reduction="sum")
        (grad,) = t.autograd.grad(loss, sim)
        with t.no_grad():
            p = t.softmax(logits.masked_fill(mask, -math.inf), dim=1)
            expected = p / tau
            expected[t.arange(len(z)), t.tensor(partner)] -= 1.0 / tau
            expected[mask] = 0.0
        err = float((grad - expected).abs().max())
        ev.append(evidence.roundoff(f"max |autograd - softmax weights| at tau = {tau}", err, 0.0,
                                    n_ops=4 * len(z) + 10, scale=1.0 / tau, n=len(z) ** 2, seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("contrastive.temperature_floor")
@single_threaded
def temperature_floor_numeric(ctx):
    """Every anchor's loss over random embeddings and temperatures is at least log(1 + (M-1) e^{-2/tau})."""
    ev = []
    z, partner = _views(ctx.rng, 8, 3)
    x = _lse_terms(z, partner, 1.0)
    m = x.shape[1]
    for tau in (0.1, 1.0, 10.0):
        t = torch()
        per = t.logsumexp(t.tensor(x / tau), dim=1).numpy()
        floor = math.log1p((m - 1) * math.exp(-2 / tau))
        ev.append(evidence.roundoff(f"min_i l_i - floor at tau = {tau}", float(per.min()) - floor, 0.0,
                                    n_ops=4 * m + 8, scale=float(per.max()) + floor, relation=">=", n=len(per),
                                    seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("contrastive.colour_shortcut_b")
@single_threaded
def hue_collisions(ctx):
    """Monte Carlo: circular distance of two uniform hues below delta with probability 2 delta; shapes
    (4, uniform) collide with probability 1/4."""
    n = 200_000
    h1, h2 = ctx.rng.random(n), ctx.rng.random(n)
    circ = np.minimum(np.abs(h1 - h2), 1 - np.abs(h1 - h2))
    ev = []
    for delta in (0.01, 0.05, 0.1):
        ev.append(evidence.bounded_mean(f"P[hue collision within {delta}] vs 2 delta", (circ < delta).astype(float),
                                        2 * delta, low=0.0, high=1.0, seed=ctx.seed))
    s1, s2 = ctx.rng.integers(0, 4, n), ctx.rng.integers(0, 4, n)
    ev.append(evidence.bounded_mean("P[shape collision] vs 1/4", (s1 == s2).astype(float), 0.25, low=0.0, high=1.0,
                                    seed=ctx.seed))
    return NumericResult(evidence=ev)
