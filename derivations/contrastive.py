"""Contrastive learning: geometry, accuracy and loss on the sphere, the dual-encoder view of
cross-entropy, the autoencoder / contrastive study on coloured shapes (mit-hw4), and NT-Xent
as a special case of Tian's unified loss with its temperature limits (vae-simclr/2).

Conventions (mit-hw4, Eq. (1)): N similarity groups p_1..p_N; an encoder f maps into the unit
sphere S^{d-1}; for an anchor x_i ~ p_i and one sample y_j ~ p_j per group, the loss is the
cross-entropy of the logits (f(x_i)^T f(y_j))_j with target i.  Everything below is derived
with SymPy from these definitions (or, for the finite questions, by exhaustive search in small
exact models); the numeric confirmations live in ``numerics/contrastive.py`` (Torch) and
``numerics/shapes.py`` (the coloured-shapes trainings).

Symbols a grader may map student notation onto are exported: ``K``, ``N``, ``i`` (positive
integers), ``NORM_U`` (\\|u\\|), ``NORM_V`` (\\|v\\|), ``DOT`` (u^\\top v) and ``DIST``
(\\|u - v\\|_2).

Answer-set findings (000_c4c2f3e64aaf4d56.txt):

* Question 3 asks for the relation between \\|u - v\\|_2 and u^T v for *any* two vectors, then
  on the sphere.  The answer set gives only \\|u - v\\|_2 = sqrt(2 - 2 u^T v), which is the
  unit-sphere special case; as the general relation it is wrong (u = v = 2e_1 gives 0 on the
  left and sqrt(-6) on the right).  Recorded as ``contrastive.answer_set_distance_general``.
* Every other keyed answer checked here (N = K; C = N; target i; logits in [-1, 1]; (ii);
  smaller; larger; no; no; yes; the 7a labels read as yes / yes / maybe / maybe / maybe /
  maybe; the 8b mappings) agrees with the derivations.  For 7a.v and 7a.vi the answer set
  writes "Maybe/No"; the model check below gives "maybe" (there are admissible
  (p_x, f*, g*) for which the property holds and others for which it fails).
"""
from __future__ import annotations

import functools
import itertools
import random
from fractions import Fraction
from typing import Callable, Iterable, Sequence

import sympy as sp

from derivcheck import claim
from derivcheck.model import SymbolicResult, Verdict

from . import prove

# --------------------------------------------------------------------------
# Exported symbols
# --------------------------------------------------------------------------
K = sp.Symbol("K", integer=True, positive=True)
N = sp.Symbol("N", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
NORM_U = sp.Symbol(r"\|u\|", nonnegative=True)
NORM_V = sp.Symbol(r"\|v\|", nonnegative=True)
DOT = sp.Symbol(r"u^\top v", real=True)
DIST = sp.Symbol(r"\|u - v\|_2", nonnegative=True)
tau = sp.Symbol("tau", positive=True)

DIM = 3  # the vector identities are checked in R^3 (they hold coordinate-wise in every dimension)


def _vector(name: str, d: int = DIM) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}1:{d + 1}", real=True))


def _dot(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    return (a.T * b)[0]


def stereographic(p: sp.Symbol, q: sp.Symbol) -> sp.Matrix:
    """A rational parametrisation of the unit sphere S^2 (all points but the north pole)."""
    den = 1 + p**2 + q**2
    return sp.Matrix([2 * p / den, 2 * q / den, (p**2 + q**2 - 1) / den])


def unit_pair() -> tuple[sp.Matrix, sp.Matrix]:
    p1, q1, p2, q2 = sp.symbols("p1 q1 p2 q2", real=True)
    return stereographic(p1, q1), stereographic(p2, q2)


def _labels_result(results, labels):
    return prove.all_of(*results, labels=labels)


def mapping(answer, derived: dict, *, options: Sequence[str], reason: str) -> SymbolicResult:
    """A key -> label mapping against the derived one (every key must match)."""
    if not isinstance(answer, dict):
        return SymbolicResult(Verdict.FAILS, method="the answer is not a mapping", residual=repr(answer))
    keys = sorted(derived)
    extra = sorted(set(map(str, answer)) - set(keys))
    if extra:
        return SymbolicResult(Verdict.FAILS, method="unknown keys in the answer", residual=str(extra))
    parts = [prove.choice(answer.get(k, "<missing>"), derived[k], reason=reason, options=options) for k in keys]
    return prove.all_of(*parts, labels=keys)


# ==========================================================================
# 1, 2: casting contrastive learning as classification
# ==========================================================================
def positive_pair_groups(k: int, views: int = 3) -> int:
    """Number of similarity groups in instance discrimination over k images: views that can form
    a positive pair (two augmentations of one image) are joined; count the components."""
    parent = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    for img in range(k):
        for a, b in itertools.combinations(range(views), 2):
            parent[find((img, a))] = find((img, b))
        find((img, 0))
    return len({find(v) for v in list(parent)})


@claim(
    "contrastive.groups_are_images",
    title="Instance discrimination over K images has N = K similarity groups, p_i = p_aug(. | img_i)",
    questions=["mit-hw4/1"],
    statement=r"N = K,\qquad p_i(\cdot) = p_{\mathrm{aug}}(\cdot \mid \mathrm{img}_i)",
    assumptions=[r"\text{positive pairs: two augmentations of the same image}",
                 r"\text{distinct images have distinct augmentation distributions}"],
    answer=K,
    kind="definition",
    rejects=lambda: [
        2 * K,
    ],
)
def groups_are_images(answer):
    """For K = 1..6 the positive-pair relation over the augmented views has exactly answer(K) classes."""
    parts = [prove.equal(sp.Integer(positive_pair_groups(k)),
                         prove.as_expr(answer).subs(K, k), what=f"groups - N at K = {k}") for k in range(1, 7)]
    return _labels_result(parts, [f"K = {k}" for k in range(1, 7)])


def contrastive_logits(n: int) -> list:
    """The logits of Eq. (1) for one anchor: one entry f(x_i)^T f(y_j) per group j = 1..n."""
    return list(sp.symbols(f"l1:{n + 1}", real=True))


@claim(
    "contrastive.number_of_classes",
    title="Eq. (1) is an N-way classification",
    questions=["mit-hw4/2.C"],
    statement=r"C = \sum_{j=1}^{N} 1 = N",
    assumptions=[r"\text{one candidate } y_j \sim p_j \text{ per group}"],
    answer=N,
    kind="definition",
    rejects=lambda: [
        N - 1,
    ],
)
def number_of_classes(answer):
    """One logit per group: the count sum_{j=1}^N 1 equals the answer."""
    j = sp.Symbol("j", integer=True, positive=True)
    return prove.equal(sp.summation(1, (j, 1, N)), answer, what="number of logits - C")


def _cross_entropy(logits: list, target: int) -> sp.Expr:
    return -sp.log(sp.exp(logits[target - 1]) / sum(sp.exp(l) for l in logits))


@claim(
    "contrastive.target_class",
    title="The target class of anchor x_i is i (the positive's index)",
    questions=["mit-hw4/2.target"],
    statement=r"-\log\frac{e^{f(x_i)^\top f(y_i)}}{\sum_j e^{f(x_i)^\top f(y_j)}}"
              r" = \mathrm{CE}\big((f(x_i)^\top f(y_j))_{j=1}^N,\ \text{target}\big)\ \text{with target} = i",
    assumptions=[r"1 \le i \le N"],
    answer=i,
    rejects=lambda: [
        N + 1 - i,
    ],
)
def target_class(answer):
    """For N = 2..4 and every anchor index, the cross-entropy at the answered target equals Eq. (1)."""
    parts, labels = [], []
    for n in range(2, 5):
        logits = contrastive_logits(n)
        for anchor in range(1, n + 1):
            target = prove.as_expr(answer).subs({i: anchor, N: n})
            if not (target.is_integer and 1 <= int(target) <= n):
                return SymbolicResult(Verdict.FAILS, method="the target is not a class index",
                                      residual=f"target {target} for anchor {anchor} of N = {n}")
            eq1 = -sp.log(sp.exp(logits[anchor - 1]) / sum(sp.exp(l) for l in logits))
            parts.append(prove.equal(eq1, _cross_entropy(logits, int(target)), what="Eq.(1) - CE"))
            labels.append(f"N = {n}, i = {anchor}")
    return _labels_result(parts, labels)


@claim(
    "contrastive.logit_range",
    title="Logits of unit-norm encoders lie in [-1, 1], both ends attained",
    questions=["mit-hw4/2.range"],
    statement=r"f(x)^\top f(y) \in [-1, 1]\quad (\|f\| = 1),\ \text{ends at } f(y) = \mp f(x)",
    assumptions=[r"f(x), f(y) \in \mathbb{S}^{d-1}", r"d \ge 2"],
    answer=(sp.Integer(-1), sp.Integer(1)),
    rejects=lambda: [
        (sp.Integer(0), sp.Integer(1)),
    ],
)
def logit_range(answer):
    """Lagrange's identity gives |u^T v| <= ||u|| ||v|| = 1; on a great circle u^T v = cos(theta),
    whose minimum and maximum are the derived range."""
    u, v = _vector("u"), _vector("v")
    lagrange = sum((u[a] * v[b] - u[b] * v[a]) ** 2 for a, b in itertools.combinations(range(DIM), 2))
    theta = sp.Symbol("theta", real=True)
    dot_on_circle = _dot(sp.Matrix([1, 0]), sp.Matrix([sp.cos(theta), sp.sin(theta)]))
    interval = sp.Interval(0, 2 * sp.pi)
    derived = (sp.minimum(dot_on_circle, theta, interval), sp.maximum(dot_on_circle, theta, interval))
    return prove.all_of(
        prove.equal(_dot(u, u) * _dot(v, v) - _dot(u, v) ** 2, lagrange, what="Lagrange identity"),
        prove.same_set(derived, tuple(answer), what="range end"),
        labels=["Cauchy-Schwarz via Lagrange", "extremes of cos"],
    )


# ==========================================================================
# 3: distances and dot products
# ==========================================================================
def _general_distance_check(answer):
    u, v = _vector("u"), _vector("v")
    substituted = prove.as_expr(answer).subs({
        NORM_U: sp.sqrt(_dot(u, u)), NORM_V: sp.sqrt(_dot(v, v)), DOT: _dot(u, v),
    })
    return prove.equal(substituted, sp.sqrt(_dot(u - v, u - v)), what="answer - ||u - v||_2")


claim(
    "contrastive.distance_general",
    title="||u - v||_2 = sqrt(||u||^2 + ||v||^2 - 2 u^T v) for any vectors",
    questions=["mit-hw4/3.general"],
    statement=r"\|u - v\|_2 = \sqrt{\|u\|^2 + \|v\|^2 - 2u^\top v}",
    assumptions=[r"u, v \in \mathbb{R}^d"],
    answer=sp.sqrt(NORM_U**2 + NORM_V**2 - 2 * DOT),
    rejects=lambda: [
        NORM_U + NORM_V,
    ],
)(_general_distance_check)

claim(
    "contrastive.answer_set_distance_general",
    title="Refuted: ||u - v||_2 = sqrt(2 - 2 u^T v) as the general relation",
    questions=["mit-hw4/3.general"],
    statement=r"\|u - v\|_2 = \sqrt{2 - 2u^\top v}\quad \forall u, v \in \mathbb{R}^d",
    assumptions=[r"u, v \in \mathbb{R}^d"],
    answer=sp.sqrt(2 - 2 * DOT),
    expect="fails",
    note=(
        "000_c4c2f3e64aaf4d56.txt answers question 3 with the single formula sqrt(2 - 2 u^T v). The question first "
        "asks for the relation between distance and dot product for arbitrary vectors, where the squared norms "
        "do not equal 1: for u = v = 2e_1 the distance is 0 while the formula gives sqrt(-6). The formula is only "
        "the unit-sphere case of ||u - v||^2 = ||u||^2 + ||v||^2 - 2u^T v."
    ),
)(_general_distance_check)


def sphere_residual(expr_in_dist) -> sp.Expr:
    """``expr(||u - v||) - u^T v`` for two unit vectors in stereographic coordinates."""
    u, v = unit_pair()
    return prove.as_expr(expr_in_dist).subs(DIST, sp.sqrt(sp.factor(sp.simplify(_dot(u - v, u - v))))) - _dot(u, v)


@claim(
    "contrastive.cosine_on_sphere",
    title="On the unit sphere cos(u, v) = u^T v = 1 - ||u - v||^2 / 2",
    questions=["mit-hw4/3.sphere", "vae-simclr/2a"],
    statement=r"\cos(u, v) = u^\top v = 1 - \tfrac12\|u - v\|_2^2\qquad (u, v \in \mathbb{S}^{d-1})",
    assumptions=[r"\|u\| = \|v\| = 1"],
    answer=1 - DIST**2 / 2,
    rejects=lambda: [
        1 - DIST**2,
    ],
)
def cosine_on_sphere(answer):
    """With u, v parametrised on S^2 (stereographic, exact), answer(||u - v||) - u^T v simplifies to 0;
    the parametrisation itself has unit norm."""
    u, _ = unit_pair()
    return prove.all_of(
        prove.equal(_dot(u, u), 1, what="||u||^2 - 1"),
        prove.zero(sphere_residual(answer), what="answer(||u - v||) - u^T v"),
        labels=["unit parametrisation", "cosine identity"],
    )


# ==========================================================================
# 4: which feature geometries give perfect accuracy
# ==========================================================================
def rational_circle_points() -> list:
    """Exact points of S^1 from Pythagorean triples (t -> ((1 - t^2), 2t) / (1 + t^2))."""
    ts = [Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(1), Fraction(2), Fraction(3),
          Fraction(-1, 3), Fraction(-1, 2), Fraction(-1), Fraction(-2), Fraction(-3)]
    pts = [((1 - t * t) / (1 + t * t), 2 * t / (1 + t * t)) for t in ts]
    pts.append((Fraction(-1), Fraction(0)))
    return pts


def _sq(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def _dotf(a, b):
    return sum(x * y for x, y in zip(a, b))


def diameter_sq(group) -> Fraction:
    return max((_sq(a, b) for a in group for b in group), default=Fraction(0))


def margin_sq(gi, gj) -> Fraction:
    return min(_sq(a, b) for a in gi for b in gj)


def conditions(groups) -> dict:
    """The three options of 4c, evaluated on squared distances (equivalent: distances are >= 0)."""
    n = len(groups)
    diam = [diameter_sq(g) for g in groups]
    marg = {(a, b): margin_sq(groups[a], groups[b]) for a in range(n) for b in range(n) if a != b}
    smallest = min(marg.values())
    return {
        "i": all(any(diam[a] < marg[(a, b)] for b in range(n) if b != a) for a in range(n)),
        "ii": all(diam[a] < marg[(a, b)] for (a, b) in marg),
        "iii": any(diam[a] < smallest for a in range(n)),
    }


def condition(option: str, groups) -> bool:
    return conditions(groups)[option]


def show_groups(groups) -> str:
    return "; ".join("S%d -> {%s}" % (k + 1, ", ".join(f"({x}, {y})" for x, y in g)) for k, g in enumerate(groups))


def perfectly_accurate(groups) -> bool:
    """Every anchor, with every choice of positive and negatives, ranks its positive uniquely first."""
    for a, group in enumerate(groups):
        for x in group:
            worst_positive = min(_dotf(x, y) for y in group)
            best_negative = max(_dotf(x, y) for b, other in enumerate(groups) if b != a for y in other)
            if not worst_positive > best_negative:
                return False
    return True


@functools.lru_cache(maxsize=None)
def accuracy_counterexamples(n_configs: int = 1500, seed: int = 0) -> dict:
    """Search exact configurations (N = 3 groups of 1-2 rational points on S^1) for each option:
    a configuration satisfying the option without perfect accuracy is a counterexample."""
    rnd = random.Random(seed)
    pts = rational_circle_points()
    found = {"i": None, "ii": None, "iii": None}
    satisfied = {"i": 0, "ii": 0, "iii": 0}
    for _ in range(n_configs):
        groups = tuple(tuple(rnd.choice(pts) for _ in range(rnd.choice((1, 2)))) for _ in range(3))
        ok = perfectly_accurate(groups)
        holds = conditions(groups)
        for option in found:
            if holds[option]:
                satisfied[option] += 1
                if not ok and found[option] is None:
                    found[option] = groups
    return {"counterexample": found, "satisfied": satisfied, "n": n_configs}


def _sufficiency_of_ii() -> SymbolicResult:
    """(ii) => perfect accuracy: with D+ <= diam_i < margin_ij <= D-, the logit gap on the sphere is
    (D-^2 - D+^2) / 2 > 0 (cosine identity), so the positive is the unique maximum."""
    d_pos = sp.Symbol("D_+", nonnegative=True)
    gap = sp.Symbol("e", positive=True)  # D- = D+ + e, e > 0 because D+ <= diam < margin <= D-
    logit = lambda dd: 1 - dd**2 / 2  # noqa: E731  (cosine identity, checked below)
    return prove.all_of(
        prove.zero(sphere_residual(1 - DIST**2 / 2), what="u^T v - (1 - ||u - v||^2 / 2)"),
        prove.true(sp.expand(logit(d_pos) - logit(d_pos + gap)) > 0, what="logit(D+) - logit(D-) > 0"),
        labels=["logit = 1 - D^2/2 on the sphere", "positive logit strictly larger"],
    )


def derived_accuracy_option() -> tuple[str, str]:
    proof = _sufficiency_of_ii()
    search = accuracy_counterexamples()
    if proof.verdict is not Verdict.HOLDS:
        return "", f"proof of (ii) did not hold: {proof.method}"
    refuted = [o for o in ("i", "iii") if search["counterexample"][o] is not None]
    if refuted != ["i", "iii"] or search["counterexample"]["ii"] is not None:
        return "", f"counterexample search inconclusive: {search['counterexample']}"
    reason = ("(ii) implies perfect accuracy (chain D+ <= diam < margin <= D- and logit = 1 - D^2/2; no "
              f"counterexample among the {search['satisfied']['ii']} sampled configurations satisfying it); exact "
              f"counterexamples: (i) {show_groups(search['counterexample']['i'])}; "
              f"(iii) {show_groups(search['counterexample']['iii'])}")
    return "ii", reason


@claim(
    "contrastive.perfect_accuracy_condition",
    title="Condition (ii) guarantees perfect accuracy; (i) and (iii) do not",
    questions=["mit-hw4/4c"],
    statement=(r"\forall i \ne j:\ \mathrm{diameter}_i(f) < \mathrm{margin}_{i\to j}(f) \;\Rightarrow\;"
               r"f(x_i)^\top f(y_i) > f(x_i)^\top f(y_j)\ \ \forall j \ne i"),
    assumptions=[r"\text{Assumption (2): finite supports } S_i", r"f: \mathcal{X} \to \mathbb{S}^{d-1}",
                 r"\text{correct} \iff \text{the target logit is the unique maximum}"],
    answer="ii",
    rejects=lambda: [
        "i", "iii",
    ],
)
def perfect_accuracy_condition(answer):
    """Proof for (ii) plus exact counterexamples (found by search, checked in rational arithmetic)
    for (i) and (iii); the derived option is compared with the answer."""
    label, reason = derived_accuracy_option()
    if not label:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="derivation incomplete", detail=reason)
    return prove.all_of(_sufficiency_of_ii(), prove.choice(answer, label, reason=reason, options=["i", "ii", "iii"]),
                        labels=["(ii) sufficient", "option"])


def _slack_direction(variable: str) -> tuple[str, str]:
    diam, marg = sp.symbols("diameter margin", nonnegative=True)
    slack = marg - diam  # condition (ii) holds iff slack > 0
    sign = sp.sign(sp.diff(slack, diam if variable == "diameter" else marg))
    if variable == "diameter":
        label = "smaller" if sign < 0 else "larger"
    else:
        label = "larger" if sign > 0 else "smaller"
    return label, (f"d(margin - diameter)/d({variable}) = {sign}: the condition's slack grows as the {variable} "
                   f"is {label}")


@claim(
    "contrastive.smaller_diameter",
    title="Smaller diameters make condition (ii) easier (alignment)",
    questions=["mit-hw4/4e.i"],
    statement=r"\partial_{\mathrm{diameter}_i}(\mathrm{margin}_{i\to j} - \mathrm{diameter}_i) = -1 < 0",
    assumptions=[r"\text{disjoint supports}"],
    answer="smaller",
    rejects=lambda: [
        "larger",
    ],
)
def smaller_diameter(answer):
    """The sign of the derivative of the slack of (ii) with respect to the diameter picks the option."""
    label, reason = _slack_direction("diameter")
    return prove.choice(answer, label, reason=reason, options=["larger", "smaller"])


@claim(
    "contrastive.larger_margin",
    title="Larger margins make condition (ii) easier (uniformity)",
    questions=["mit-hw4/4e.ii"],
    statement=r"\partial_{\mathrm{margin}_{i\to j}}(\mathrm{margin}_{i\to j} - \mathrm{diameter}_i) = 1 > 0",
    assumptions=[r"\text{disjoint supports}"],
    answer="larger",
    rejects=lambda: [
        "smaller",
    ],
)
def larger_margin(answer):
    """The sign of the derivative of the slack of (ii) with respect to the margin picks the option."""
    label, reason = _slack_direction("margin")
    return prove.choice(answer, label, reason=reason, options=["larger", "smaller"])


@claim(
    "contrastive.overlap_breaks_condition",
    title="With overlapping supports condition (ii) cannot hold",
    questions=["mit-hw4/4f.1"],
    statement=(r"s \in S_i \cap S_j \Rightarrow \mathrm{margin}_{i\to j} \le \|f(s) - f(s)\| = 0 \le"
               r" \mathrm{diameter}_i"),
    assumptions=[r"S_i \cap S_j \neq \emptyset,\ i \ne j"],
    answer="no",
    rejects=lambda: [
        "yes",
    ],
)
def overlap_breaks_condition(answer):
    """The margin is a minimum over pairs that includes (s, s), so it is Min(0, ...) = 0; the
    condition diameter < margin then simplifies to False for every non-negative diameter."""
    diam, rest = sp.Symbol("diameter", nonnegative=True), sp.Symbol("m_rest", nonnegative=True)
    f_s = _vector("f")  # the feature of a shared element s, seen from both groups
    margin = sp.Min(sp.sqrt(_dot(f_s - f_s, f_s - f_s)), rest)  # min over pairs includes (s, s)
    cond = sp.simplify(diam < margin)
    label = "no" if cond is sp.false else "yes" if cond is sp.true else ""
    if not label:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="condition not decided", residual=str(cond))
    return prove.choice(answer, label, reason=f"diameter < margin simplifies to {cond}", options=["yes", "no"])


# ==========================================================================
# 5: loss on the sphere and without normalisation
# ==========================================================================
m_neg = sp.Symbol("m", integer=True, positive=True)  # m = N - 1 negatives


def sphere_loss_floor(n_minus_1=m_neg) -> sp.Expr:
    """log(1 + (N - 1) e^{-2}): every logit gap is at most 2 on the sphere."""
    return sp.log(1 + n_minus_1 * sp.exp(-2))


@claim(
    "contrastive.sphere_loss_floor",
    title="A perfectly accurate unit-norm encoder still has loss >= log(1 + (N - 1) e^{-2}) > 0",
    questions=["mit-hw4/5.1"],
    statement=(r"\mathcal{L}_{\mathrm{contr}}(f) = \frac1N\sum_i \mathbb{E}\log\Big(1 + \sum_{j\ne i}"
               r"e^{-\delta_{ij}}\Big) \ge \log\big(1 + (N-1)e^{-2}\big) > 0,\quad"
               r"\delta_{ij} = \ell_i - \ell_j \in (0, 2]"),
    assumptions=[r"f \in \mathbb{S}^{d-1}", r"\text{perfect accuracy: } \delta_{ij} > 0", r"N \ge 2"],
)
def sphere_loss_floor_claim():
    """Each anchor's loss is log(1 + sum_j e^{-delta_j}), decreasing in every gap delta_j (derivative
    < 0); logits in [-1, 1] cap each gap at 2, so the loss is at least the floor, which is > 0."""
    delta, rest = sp.Symbol("delta", positive=True), sp.Symbol("R", nonnegative=True)
    term = sp.log(1 + sp.exp(-delta) + rest)
    gaps = sp.symbols("delta1:4", positive=True)
    at_cap = sp.log(1 + sum(sp.exp(-g) for g in gaps)).subs({g: 2 for g in gaps})
    return prove.all_of(
        prove.true(sp.diff(term, delta) < 0, what="d loss / d gap < 0"),
        prove.equal(at_cap, sphere_loss_floor(3), what="loss at the largest gaps - floor (N = 4)"),
        prove.true(sphere_loss_floor() > 0, what="floor > 0"),
        labels=["monotone in each gap", "floor attained at gap 2", "floor positive"],
    )


@claim(
    "contrastive.zero_loss_on_sphere",
    title="Perfect accuracy does not give zero loss on the sphere",
    questions=["mit-hw4/5.1"],
    statement=r"\inf_{f \text{ perfectly accurate},\ \|f\|=1} \mathcal{L}_{\mathrm{contr}}(f) \ge"
              r" \log(1 + (N-1)e^{-2}) > 0",
    assumptions=[r"f \in \mathbb{S}^{d-1}", r"N \ge 2"],
    answer="no",
    rejects=lambda: [
        "yes",
    ],
)
def zero_loss_on_sphere(answer):
    """Zero loss is reachable iff the floor is 0; the floor is positive, so the answer is 'no'."""
    floor_positive = prove.true(sphere_loss_floor() > 0, what="floor > 0")
    label = "no" if floor_positive.verdict is Verdict.HOLDS else ""
    if not label:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="floor sign not decided")
    return prove.choice(answer, label, reason="loss >= log(1 + (N - 1) e^{-2}) > 0 for every accurate unit-norm f",
                        options=["yes", "no"])


def scaled_loss(scale: sp.Expr, gaps: Iterable[sp.Expr]) -> sp.Expr:
    """One anchor's loss when f is multiplied by ``scale``: logits scale by scale^2."""
    return sp.log(1 + sum(sp.exp(-scale**2 * g) for g in gaps))


@claim(
    "contrastive.unnormalized_scaling",
    title="Without normalisation, scaling an accurate encoder drives the loss to 0, monotonically",
    questions=["mit-hw4/5.2a"],
    statement=(r"\mathcal{L}(s f) = \frac1N\sum_i\mathbb{E}\log\Big(1 + \sum_{j\ne i} e^{-s^2\delta_{ij}}\Big)"
               r"\ \text{strictly decreasing in } s > 0,\ \lim_{s\to\infty}\mathcal{L}(s f) = 0"),
    assumptions=[r"f \text{ perfectly accurate: } \delta_{ij} > 0", r"f \in \mathbb{R}^d \text{ unconstrained}"],
    answer="yes",
    rejects=lambda: [
        "no",
    ],
)
def unnormalized_scaling(answer):
    """d/ds of the scaled loss is negative and 0 <= loss(s) <= log(1 + (N - 1) e^{-s^2 delta_min}) -> 0."""
    s = sp.Symbol("s", positive=True)
    a, b, dmin = sp.symbols("a b delta_min", positive=True)
    deriv = sp.simplify(sp.diff(scaled_loss(s, (a, b)), s))
    limit_upper = sp.limit(sp.log(1 + m_neg * sp.exp(-s**2 * dmin)), s, sp.oo)
    parts = prove.all_of(
        prove.true(deriv < 0, what="d loss / d s < 0"),
        prove.equal(limit_upper, 0, what="limit of the upper bound"),
        labels=["strictly decreasing", "limit 0"],
    )
    label = "yes" if parts.verdict is Verdict.HOLDS else ""
    if not label:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="scaling argument not decided", residual=parts.residual)
    return prove.all_of(parts, prove.choice(answer, label, reason="loss(s) decreases strictly to 0 as s -> oo",
                                            options=["yes", "no"]), labels=["derivation", "option"])


@claim(
    "contrastive.logit_growth",
    title="Reaching loss epsilon needs logit gaps >= log((N - 1)/(e^epsilon - 1)), unbounded as epsilon -> 0",
    questions=["mit-hw4/5.2b"],
    statement=(r"\log(1 + (N-1)e^{-g}) \le \varepsilon \iff g \ge \log\frac{N-1}{e^{\varepsilon}-1}"
               r"\xrightarrow[\varepsilon\to 0]{} \infty"),
    assumptions=[r"\text{all gaps equal to } g = s^2\delta", r"N \ge 2"],
)
def logit_growth():
    """Solve loss(g) = epsilon for the gap g; its limit as epsilon -> 0+ is +oo: the logits (and exp of
    them, which overflows float32 above 88.7) must grow without bound."""
    eps, g = sp.Symbol("epsilon", positive=True), sp.Symbol("g", positive=True)
    sol = sp.solve(sp.Eq(sp.log(1 + m_neg * sp.exp(-g)), eps), g)
    if len(sol) != 1:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="solve did not give one root", residual=str(sol))
    gstar = sol[0]
    return prove.all_of(
        prove.equal(sp.exp(gstar), m_neg / (sp.exp(eps) - 1), what="e^{g*} - (N-1)/(e^eps - 1)"),
        prove.true(sp.Eq(sp.limit(gstar, eps, 0, "+"), sp.oo), what="g* -> oo as eps -> 0+"),
        labels=["threshold", "unbounded"],
    )


# ==========================================================================
# 6: supervised cross-entropy as dual-encoder contrastive learning
# ==========================================================================
def dual_logits(f1: sp.Matrix, f2_columns: sp.Matrix) -> sp.Matrix:
    """Dual-encoder logits f1(x)^T f2(c) for c = 1..C (columns of ``f2_columns``)."""
    return (f1.T * f2_columns).T


@claim(
    "contrastive.xent_as_dual_encoder",
    title="Cross-entropy training of g is dual-encoder contrastive learning (two exact constructions)",
    questions=["mit-hw4/6.1", "mit-hw4/6.2"],
    statement=(r"N = C,\ p_i = \mathrm{Unif}\{x_k : y_k = i\},\ \mathcal{X}_2 = \{1..C\}:"
               r"\ (f_1, f_2) = (g, \mathrm{onehot})\ (d = C)\ \text{or}\ ([g_{\mathrm{feat}} :: 1], c \mapsto W_c)"
               r"\ (d = d_{\mathrm{feat}} + 1) \Rightarrow f_1(x)^\top [f_2(1) \cdots f_2(C)] = g(x)^\top,"
               r"\ \mathcal{L}_{\mathrm{dual}} = \mathcal{L}_{\mathrm{xce}}"),
    assumptions=[r"C \text{ evenly represented classes}", r"g(x) = W^\top [g_{\mathrm{feat}}(x) :: 1]"],
    kind="definition",
)
def xent_as_dual_encoder():
    """Both constructions reproduce the classifier's logits entry by entry (hence the same argmax and
    the same per-sample loss), and averaging per class then over classes equals the plain average
    when every class has K / C samples."""
    C, dfeat = 3, 2
    g = sp.Matrix(sp.symbols(f"g1:{C + 1}", real=True))
    onehots = sp.eye(C)
    h = sp.Matrix(sp.symbols(f"h1:{dfeat + 1}", real=True))
    W = sp.Matrix(dfeat + 1, C, lambda r, c: sp.Symbol(f"W_{r + 1}{c + 1}", real=True))
    h1 = h.col_join(sp.Matrix([1]))
    sums = sp.symbols(f"S1:{C + 1}", real=True)  # per-class sums of the per-sample losses
    n_per_class = sp.Symbol("n", positive=True, integer=True)
    total = C * n_per_class
    dual = sum(sums[c] / n_per_class for c in range(C)) / C
    xce = sum(sums) / total
    return prove.all_of(
        prove.equal(dual_logits(g, onehots), g, what="one-hot logits - g(x)"),
        prove.equal(dual_logits(h1, W), W.T * h1, what="[h :: 1]^T W_c - g(x)_c"),
        prove.equal(dual, xce, what="L_dual - L_xce (balanced classes)"),
        labels=["f1 = g, f2 = one-hot", "f1 = [g_feat :: 1], f2(c) = W_c", "class-balanced average"],
    )


# ==========================================================================
# 7a: what a perfect autoencoder guarantees (exhaustive model check)
# ==========================================================================
RED, BLUE = "red", "blue"
TRAIN7 = ((RED, 0, "black"), (RED, 1, "black"), (BLUE, 0, "black"))  # x, y (red), z (blue)
SUPPORTS7 = {
    "p_x supported on the training set": TRAIN7,
    "one unseen image, black background": TRAIN7 + ((BLUE, 1, "black"),),
    "unseen images, one on a white background": TRAIN7 + ((BLUE, 1, "black"), (RED, 0, "white")),
}


def _decidable(support, codes, prop) -> bool:
    """A property is decided by f alone on the support iff equal codes imply equal properties."""
    seen = {}
    for x in support:
        if seen.setdefault(codes[x], prop(x)) != prop(x):
            return False
    return True


def _nn_colours(x, codes):
    dists = {t: abs(codes[x] - codes[t]) for t in TRAIN7}
    best = min(dists.values())
    return tuple(sorted(t[0] for t, dd in dists.items() if dd == best))


PROPERTIES7 = {
    "i": lambda S, f: _decidable(TRAIN7, f, lambda x: TRAIN7.index(x)),
    "ii": lambda S, f: _decidable(TRAIN7, f, lambda x: x[0]),
    "iii": lambda S, f: abs(f[TRAIN7[0]] - f[TRAIN7[1]]) < abs(f[TRAIN7[0]] - f[TRAIN7[2]]),
    "iv": lambda S, f: _decidable(S, f, lambda x: x[0]),
    "v": lambda S, f: _decidable_by(S, f),
    "vi": lambda S, f: _decidable(S, f, lambda x: x[2]),
}


def _decidable_by(support, codes) -> bool:
    """Colour of x is a function of the colours of its nearest training neighbours (ties included)."""
    seen = {}
    for x in support:
        key = _nn_colours(x, codes)
        if seen.setdefault(key, x[0]) != x[0]:
            return False
    return True


@functools.lru_cache(maxsize=None)
def autoencoder_outcomes(question: str) -> frozenset:
    """Truth values of the question's property over every admissible (p_x, f*, g*).

    f* ranges over all maps from the support into the codes {0, ..., |S| - 1} (every partition of
    the support, and 1-D geometry for the metric questions); it is admissible iff it is injective
    on the training set, which is exactly when some g* reconstructs every training sample."""
    prop = PROPERTIES7[question]
    outcomes = set()
    for support in SUPPORTS7.values():
        for values in itertools.product(range(len(support)), repeat=len(support)):
            f = dict(zip(support, values))
            if len({f[t] for t in TRAIN7}) < len(TRAIN7):
                continue  # no decoder can reconstruct the training set
            outcomes.add(bool(prop(support, f)))
            if len(outcomes) == 2:
                return frozenset(outcomes)
    return frozenset(outcomes)


def autoencoder_label(question: str) -> str:
    out = autoencoder_outcomes(question)
    return "maybe" if len(out) == 2 else ("yes" if True in out else "no")


_AE_TEXT = {
    "i": ("the dataset index of a training sample is a function of f*(x_i)",
          r"\exists h:\ h(f^*(x_k)) = k\ \ \forall x_k \in \mathcal{D}_{\mathrm{train}}"),
    "ii": ("the colour of a training sample is a function of f*(x_i)",
           r"\exists h:\ h(f^*(x_k)) = \mathrm{colour}(x_k)\ \ \forall x_k \in \mathcal{D}_{\mathrm{train}}"),
    "iii": ("two red training samples need not be closer to each other than to a blue one",
            r"\|f^*(x) - f^*(y)\| < \|f^*(x) - f^*(z)\| \text{ holds for some admissible } f^*"
            r" \text{ and fails for others}"),
    "iv": ("for fresh x ~ p_x, the colour is a function of f*(x) only for some admissible (p_x, f*)",
           r"\Pr_{x\sim p_x}[\mathrm{colour}(x) = h(f^*(x))] = 1 \text{ depends on } (p_x, f^*)"),
    "v": ("for fresh x ~ p_x, the nearest training neighbours' colours decide the colour only for some (p_x, f*)",
          r"\mathrm{colour}(x) = h(\mathrm{colours}(\mathrm{NN}_{\mathcal{D}}(f^*(x))))"
          r" \text{ depends on } (p_x, f^*)"),
    "vi": ("for fresh x ~ p_x, the background colour is a function of f*(x) only for some (p_x, f*)",
           r"\mathrm{bg}(x) = h(f^*(x))\ \text{a.s. depends on } (p_x, f^*)"),
}
AE_KEY = {"i": "yes", "ii": "yes", "iii": "maybe", "iv": "maybe", "v": "maybe", "vi": "maybe"}


def _ae_check(question: str) -> Callable:
    def check(answer):
        label = autoencoder_label(question)
        reason = (f"over every admissible (p_x, f*, g*) of the model the property is "
                  f"{sorted(autoencoder_outcomes(question))}: 'yes' = always, 'no' = never, 'maybe' = depends")
        return prove.choice(answer, label, reason=reason, options=["yes", "no", "maybe"])

    check.__name__ = f"autoencoder_{question}"
    check.__doc__ = "Exhaustive check over admissible perfect autoencoders in a small exact model."
    return check


for _q, (_title, _stmt) in _AE_TEXT.items():
    claim(
        f"contrastive.autoencoder_7a_{_q}",
        title=f"7a.{_q}: {_title} ({AE_KEY[_q]})",
        questions=[f"mit-hw4/7a.{_q}"],
        statement=_stmt,
        assumptions=[r"g^*(f^*(x_k)) = x_k\ \forall x_k \in \mathcal{D}_{\mathrm{train}}, \text{ samples distinct}",
                     r"\text{nothing else is known about } f^*, g^*, p_x",
                     r"\text{'yes' = for every admissible } (p_x, f^*, g^*),"
                     r" \text{'no' = for none, 'maybe' = depends}"],
        answer=AE_KEY[_q],
        rejects=[o for o in ("yes", "no", "maybe") if o != AE_KEY[_q]],
    )(_ae_check(_q))


# ==========================================================================
# 8b: invariances from augmentations (the (*) analysis)
# ==========================================================================
FACTORS = ("shape", "location", "color")
#: which factors augmentations A, B and C resample.  The sheet's text does not define them (it shows
#: them in figures that are not part of the text); this table is transcribed from the answer set's
#: figures, so it is no evidence for that answer set: the claims below carry AUGMENTATION_PROVENANCE
#: and their status is "transcribed", never "verified".
AUGMENTATIONS = {"A": ("color",), "B": ("location",), "C": ("shape", "location")}
AUGMENTATION_PROVENANCE = ("transcribed from the answer set's figures (the sheet's text does not define "
                           "augmentations A, B and C): the key is only as good as that transcription")
AUG_QUESTION = {"A": "8b.i", "B": "8b.ii", "C": "8b.iii"}
_FACTOR_VALUES = 3


def augmentation_groups(resampled: Sequence[str]) -> dict:
    """Similarity groups S_i of the (*) analysis: the union of the augmentation orbits of each
    underlying image, joined where orbits overlap (positive pairs share all preserved factors)."""
    images = list(itertools.product(range(_FACTOR_VALUES), repeat=len(FACTORS)))
    parent = {x: x for x in images}

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for img in images:
        orbit = [tuple(v if FACTORS[k] not in resampled else w for k, (v, w) in enumerate(zip(img, new)))
                 for new in images]
        for other in orbit:
            parent[find(other)] = find(img)
    return {x: find(x) for x in images}


def star_encoder(resampled: Sequence[str]) -> dict:
    """An optimal encoder of the (*) analysis: diameter 0 (constant on each group) and the groups
    on distinct, maximally separated points (one-hot of the group index)."""
    groups = augmentation_groups(resampled)
    index = {g: n for n, g in enumerate(sorted(set(groups.values())))}
    return {x: index[g] for x, g in groups.items()}


def invariance_mapping(resampled: Sequence[str]) -> dict:
    """Per factor: 'invariant' if changing only that factor never moves f*, 'sensitive' if it always does."""
    f = star_encoder(resampled)
    out = {}
    for k, name in enumerate(FACTORS):
        moved = set()
        for x in f:
            for w in range(_FACTOR_VALUES):
                if w != x[k]:
                    y = x[:k] + (w,) + x[k + 1:]
                    moved.add(f[x] != f[y])
        out[name] = "sensitive" if moved == {True} else "invariant" if moved == {False} else "mixed"
    return out


INVARIANCE_KEY = {
    "A": {"shape": "sensitive", "location": "sensitive", "color": "invariant"},
    "B": {"shape": "sensitive", "location": "invariant", "color": "sensitive"},
    "C": {"shape": "invariant", "location": "invariant", "color": "sensitive"},
}


def _invariance_check(aug: str) -> Callable:
    def check(answer):
        derived = invariance_mapping(AUGMENTATIONS[aug])
        return mapping(answer, derived, options=["invariant", "sensitive"],
                       reason=f"augmentation {aug} resamples {AUGMENTATIONS[aug]}; the optimal encoder is constant "
                              "on each group of positives and separates the groups")

    check.__name__ = f"invariances_{aug.lower()}"
    check.__doc__ = f"The (*) analysis for augmentation {aug}, derived on an exact 3x3x3 factor grid."
    return check


for _aug, _resampled in AUGMENTATIONS.items():
    claim(
        f"contrastive.invariances_{_aug.lower()}",
        title=f"Augmentation {_aug} (resamples {', '.join(_resampled)}): invariant to exactly those factors",
        questions=[f"mit-hw4/{AUG_QUESTION[_aug]}"],
        statement=(r"f^* \text{ constant on } S_i = \{x' : x' \text{ agrees with } x \text{ on the preserved factors}\}"
                   r" \Rightarrow " + ", ".join(f"\\text{{{k}: {v}}}" for k, v in INVARIANCE_KEY[_aug].items())),
        assumptions=[r"\text{positive pairs: two augmentations of one image}",
                     r"f^* \text{ extremises diameters (0) and margins (Question 4e)}"],
        answer=INVARIANCE_KEY[_aug],
        provenance=AUGMENTATION_PROVENANCE,
        rejects=[{**INVARIANCE_KEY[_aug], f: ("sensitive" if v == "invariant" else "invariant")}
                 for f, v in INVARIANCE_KEY[_aug].items()],
    )(_invariance_check(_aug))


@claim(
    "contrastive.colour_shortcut_b",
    title="Under augmentation B with continuous colours, colour alone already separates almost every negative",
    questions=["mit-hw4/8b.ii"],
    statement=(r"\Pr[|h_{\mathrm{neg}} - h_{\mathrm{pos}}|_{\circ} < \delta] = 2\delta \xrightarrow[\delta\to 0]{} 0"
               r"\quad\text{vs}\quad \Pr[\mathrm{shape}_{\mathrm{neg}} = \mathrm{shape}_{\mathrm{pos}}]"
               r" = 1/n_{\mathrm{shapes}}"),
    assumptions=[r"\text{hue uniform on the circle } [0, 1)", r"n_{\mathrm{shapes}} \text{ shapes, uniform}",
                 r"\text{augmentation B keeps shape and colour}"],
)
def colour_shortcut_b():
    """The circular distance between two independent uniform hues is uniform on [0, 1/2], so a
    negative collides in colour (within delta) with probability 2 delta -> 0: an encoder that
    keeps colour only is perfectly accurate almost surely, while shape alone collides with
    probability 1/n_shapes > 0.  This is why colour is the shortcut (the answer set's 8d)."""
    delta, dist = sp.Symbol("delta", positive=True), sp.Symbol("r", nonnegative=True)
    density = 2  # circular distance of two uniform hues: uniform on [0, 1/2]
    p_collide = sp.integrate(density, (dist, 0, delta))
    n_shapes = sp.Symbol("n_s", integer=True, positive=True)
    return prove.all_of(
        prove.equal(sp.integrate(density, (dist, 0, sp.Rational(1, 2))), 1, what="density normalised"),
        prove.equal(p_collide, 2 * delta, what="P(collision within delta) - 2 delta"),
        prove.equal(sp.limit(p_collide, delta, 0, "+"), 0, what="limit"),
        prove.true(1 / n_shapes > 0, what="shape collision probability > 0"),
        labels=["uniform circular distance", "colour collision", "vanishes", "shape collisions persist"],
    )


# ==========================================================================
# vae-simclr/2: NT-Xent from Tian's unified loss, and the temperature
# ==========================================================================
def tian_term(sim_pos, sims_other, phi: Callable, psi: Callable) -> sp.Expr:
    """phi(sum_{j != i} psi(d_i^2 - d_ij^2)) for one anchor with unit vectors: the halved squared
    distances are d_i^2 = 1 - sim(z_i, z_i'), d_ij^2 = 1 - sim(z_i, z_j) (``cosine_on_sphere``);
    ``sims_other`` runs over every j != i, the positive i' included."""
    d_i = 1 - sim_pos
    return phi(sum(psi(d_i - (1 - s)) for s in sims_other))


def ntxent_term(sim_pos, sims_other, temperature, *, include_positive: bool = True) -> sp.Expr:
    """-log(exp(sim_pos / tau) / sum_{j != i} exp(sim_ij / tau)); ``sims_other`` lists the
    negatives, and the positive is added to the denominator unless ``include_positive`` is False."""
    denominator = [sim_pos] + list(sims_other) if include_positive else list(sims_other)
    return -sp.log(sp.exp(sim_pos / temperature) / sum(sp.exp(s / temperature) for s in denominator))


NEGATIVES = 3


def _sims():
    return sp.Symbol("s_p", real=True), list(sp.symbols(f"s1:{NEGATIVES + 1}", real=True))


@claim(
    "contrastive.ntxent_from_tian",
    title="phi = log, psi = exp(x / tau) turn Tian's unified loss into NT-Xent",
    questions=["vae-simclr/2a"],
    statement=(r"\sum_i \log\sum_{j\ne i} e^{(d_i^2 - d_{ij}^2)/\tau} = -\sum_i \log"
               r"\frac{e^{\mathrm{sim}(z_i, z_{i'})/\tau}}{\sum_{j\ne i} e^{\mathrm{sim}(z_i, z_j)/\tau}}"),
    assumptions=[r"\|z_i\| = 1 \Rightarrow d_{ij}^2 = \tfrac12\|z_i - z_j\|^2 = 1 - \mathrm{sim}(z_i, z_j)",
                 r"j \ne i \text{ runs over the positive } i' \text{ and all negatives}", r"\tau > 0"],
)
def ntxent_from_tian():
    """Halved squared distance = 1 - cosine on the sphere (exact parametrisation); then, per anchor,
    the arguments of the two logarithms agree (log is injective on (0, oo))."""
    u, v = unit_pair()
    s_p, negs = _sims()
    tian_arg = tian_term(s_p, [s_p] + negs, phi=lambda x: x, psi=lambda x: sp.exp(x / tau))
    ntxent_arg = sp.exp(ntxent_term(s_p, negs, tau))
    return prove.all_of(
        prove.equal(_dot(u - v, u - v) / 2, 1 - _dot(u, v), what="d^2 - (1 - sim)"),
        prove.equal(tian_arg, ntxent_arg, what="argument of phi - argument of the NT-Xent log"),
        labels=["halved distance", "loss identity"],
    )


def per_anchor_loss(sim_pos, sims_neg, temperature) -> sp.Expr:
    """NT-Xent for one anchor written as log sum_j exp((s_j - s_pos) / tau) over j in {pos} + negatives."""
    return sp.log(1 + sum(sp.exp((s - sim_pos) / temperature) for s in sims_neg))


@claim(
    "contrastive.temperature_large",
    title="tau -> oo: the loss tends to N log M and its gradients vanish (no learning signal)",
    questions=["vae-simclr/2b"],
    statement=(r"\lim_{\tau\to\infty}\mathcal{L}_{\mathrm{NT\text{-}Xent}} = N\log M,\qquad"
               r"\partial\mathcal{L}/\partial\,\mathrm{sim}_{ij} = O(1/\tau)"),
    assumptions=[r"N \text{ anchors, each with } M \text{ candidates (positive + } M - 1 \text{ negatives)}",
                 r"\mathrm{sim} \in [-1, 1]"],
)
def temperature_large():
    """For M = 2..5 with symbolic similarities, the per-anchor limit is log M; the gradient of the
    per-anchor loss with respect to a negative's similarity tends to 0."""
    parts, labels = [], []
    for m in range(2, 6):
        s_p = sp.Symbol("s_p", real=True)
        negs = list(sp.symbols(f"s1:{m}", real=True))
        loss = ntxent_term(s_p, negs, tau)
        parts.append(prove.equal(sp.limit(loss, tau, sp.oo), sp.log(m), what=f"limit - log {m}"))
        labels.append(f"M = {m}")
    s_p, negs = _sims()
    grad = sp.diff(per_anchor_loss(s_p, negs, tau), negs[0])
    parts.append(prove.equal(sp.limit(grad, tau, sp.oo), 0, what="limit of the gradient"))
    labels.append("gradient -> 0")
    return prove.all_of(*parts, labels=labels)


def hinge(sim_pos, sims_neg) -> sp.Expr:
    return sp.Max(0, *[s - sim_pos for s in sims_neg])


@claim(
    "contrastive.temperature_small",
    title="tau -> 0: tau times the loss tends to the sum of hardest-negative hinges",
    questions=["vae-simclr/2b"],
    statement=(r"\lim_{\tau\to 0^+}\tau\,\mathcal{L}_{\mathrm{NT\text{-}Xent}} = \sum_i \max\big(0,"
               r" \max_{j\ne i, i'} \mathrm{sim}_{ij} - \mathrm{sim}_{ii'}\big)"),
    assumptions=[r"M \text{ candidates per anchor}", r"\tau > 0"],
)
def temperature_small():
    """Sandwich: with m = max_j x_j over x_j = s_j - s_pos (x_pos = 0, so m is the hinge),
    m <= tau log sum_j e^{x_j/tau} <= m + tau log M, since the sum has one term e^0 = 1 (after
    factoring e^{m/tau}) and M terms <= 1; tau log M -> 0.  Also exact limits at rational
    similarity configurations (hinge active and inactive)."""
    y = sp.Symbol("y", nonpositive=True)
    M = sp.Symbol("M", integer=True, positive=True)
    parts = [
        prove.true(y / tau <= 0, what="x_j - m <= 0 (so each factored term e^{(x_j - m)/tau} <= 1)"),
        prove.equal(sp.limit(tau * sp.log(M), tau, 0, "+"), 0, what="tau log M -> 0"),
    ]
    labels = ["terms bounded by 1", "gap closes"]
    configs = [
        (sp.Rational(3, 10), [sp.Rational(7, 10), sp.Rational(-1, 2), sp.Rational(1, 5)]),   # hinge 2/5
        (sp.Rational(9, 10), [sp.Rational(1, 10), sp.Rational(-3, 5), sp.Rational(1, 2)]),   # hinge 0
        (sp.Rational(-1, 5), [sp.Rational(4, 5), sp.Rational(4, 5), sp.Rational(-1, 1)]),    # tied hardest
    ]
    for n, (s_pos, negs) in enumerate(configs):
        value = sp.limit(tau * ntxent_term(s_pos, negs, tau), tau, 0, "+")
        parts.append(prove.equal(value, hinge(s_pos, negs), what=f"limit - hinge (configuration {n + 1})"))
        labels.append(f"configuration {n + 1}")
    return prove.all_of(*parts, labels=labels)


@claim(
    "contrastive.temperature_gradient",
    title="The gradient weights negatives by a softmax with temperature tau",
    questions=["vae-simclr/2b"],
    statement=(r"\frac{\partial \ell_i}{\partial\,\mathrm{sim}_{ij}} = \frac{1}{\tau}\,"
               r"\frac{e^{\mathrm{sim}_{ij}/\tau}}{\sum_{k\ne i} e^{\mathrm{sim}_{ik}/\tau}}\ (j \ne i'),\qquad"
               r"\frac{\partial \ell_i}{\partial\,\mathrm{sim}_{ii'}} = \frac{1}{\tau}(p_{ii'} - 1)"),
    assumptions=[r"\ell_i \text{ one anchor's NT-Xent term}", r"\tau > 0"],
)
def temperature_gradient():
    """Differentiate one anchor's NT-Xent term: negatives get softmax(sim / tau) / tau, the positive
    p_pos / tau - 1 / tau; small tau concentrates the weight on the hardest negative, large tau spreads it."""
    s_p, negs = _sims()
    loss = ntxent_term(s_p, negs, tau)
    z = sp.exp(s_p / tau) + sum(sp.exp(s / tau) for s in negs)
    parts = [prove.equal(sp.diff(loss, s), sp.exp(s / tau) / (tau * z), what=f"d loss / d {s}") for s in negs]
    parts.append(prove.equal(sp.diff(loss, s_p), (sp.exp(s_p / tau) / z - 1) / tau, what="d loss / d s_p"))
    return prove.all_of(*parts, labels=[f"negative {k + 1}" for k in range(NEGATIVES)] + ["positive"])


@claim(
    "contrastive.temperature_floor",
    title="Bounded cosines put a floor log(1 + (M - 1) e^{-2/tau}) under each anchor's loss",
    questions=["vae-simclr/2b", "mit-hw4/5.1"],
    statement=(r"\ell_i \ge \log\big(1 + (M-1)e^{-2/\tau}\big)\quad"
               r"(\to \log M \text{ as } \tau\to\infty,\ \to 0 \text{ as } \tau\to 0^+)"),
    assumptions=[r"\mathrm{sim} \in [-1, 1]", r"M \text{ candidates per anchor}"],
)
def temperature_floor():
    """Each term e^{(s_j - s_pos)/tau} >= e^{-2/tau}; the floor's limits are log M and 0, and at
    tau = 1 it is the floor of mit-hw4/5.1."""
    m = sp.Symbol("m", integer=True, positive=True)  # M - 1 negatives
    floor = sp.log(1 + m * sp.exp(-2 / tau))
    x = sp.Symbol("x", real=True)
    return prove.all_of(
        prove.true(sp.diff(sp.log(1 + sp.exp(x / tau)), x) > 0, what="loss increasing in each s_j - s_pos"),
        prove.equal(sp.limit(floor, tau, sp.oo), sp.log(m + 1), what="floor at tau -> oo - log M"),
        prove.equal(sp.limit(floor, tau, 0, "+"), 0, what="floor at tau -> 0"),
        prove.equal(floor.subs(tau, 1), sphere_loss_floor(m), what="floor at tau = 1 - floor of 5.1"),
        labels=["monotone", "large tau", "small tau", "tau = 1"],
    )
