"""GAN theory (ift6135-a23 question 4): the optimal discriminator, the JSD it
measures, the density ratio it carries, the generator's costs, and the
multiple-choice keys 4.1-4.4.

Convention (the sheet's).  The discriminator maximizes
``V(D) = E_{x~p_1}[log D(x)] + E_{x~p_0}[log(1 - D(x))]``: samples of ``p_1``
carry label 1 (in a GAN: the real data), samples of ``p_0`` label 0 (the
generator's samples).  ``f_0, f_1`` are the two densities, written as
positive symbols standing for their values at one point x; ``D`` stands for
``D(x)`` in (0, 1).

Expectations.  Functionals such as V(D) or the JSD are SymPy expressions in
which ``E_p0(h)`` and ``E_p1(h)`` denote ``E_{x~p_0}[h]`` and
``E_{x~p_1}[h]``; ``h`` may contain ``D``, ``f_0``, ``f_1`` (all evaluated at x).
A linear combination of such terms plus a constant is turned into one
pointwise integrand: ``E_pk(h) -> f_k h`` and a constant ``c -> c (f_0 + f_1) / 2``
(both densities integrate to 1).  Two functionals are equal for *all* pairs of
densities when the difference of their integrands, after substituting
``D = D*``, reduces to ``a f_0 + b f_1`` with constants ``a + b = 0``; when it
does not, a counterexample is searched on a two-point space (densities with
respect to counting measure: the identities never use more than linearity of
the integral and ∫f_k = 1, so they must hold there too).

Multiple-choice keys are derived from the same formulas: 4.1 from the game's
equilibrium (D* = 1/2, discriminator loss log 4, generator optimum p_g =
p_data), 4.2 / 4.4 from the gradient of each cost with respect to the
discriminator's logit, 4.3 from the objective each method actually minimizes
(dropout's expected loss is the loss plus an L2-type penalty; RMSprop has the
same stationary points as plain gradient descent).
"""
from __future__ import annotations

import functools
from typing import Optional

import sympy as sp

from derivcheck import claim
from derivcheck.model import SymbolicResult, Verdict

from . import prove

f0, f1 = sp.symbols("f_0 f_1", positive=True)
D = sp.Symbol("D", positive=True)  # the value D(x), in (0, 1)
E_p0 = sp.Function("E_p0")  # E_{x ~ p_0}[.]
E_p1 = sp.Function("E_p1")  # E_{x ~ p_1}[.]
EXPECTATIONS = {E_p0: f0, E_p1: f1}

# V(D) and the JSD from their definitions
V_FUNCTIONAL = E_p1(sp.log(D)) + E_p0(sp.log(1 - D))
MIXTURE = (f0 + f1) / 2
JSD_FUNCTIONAL = (E_p0(sp.log(f0 / MIXTURE)) + E_p1(sp.log(f1 / MIXTURE))) / 2


def pointwise_objective() -> sp.Expr:
    """The integrand of V at one x, as a function of the value D = D(x)."""
    return f1 * sp.log(D) + f0 * sp.log(1 - D)


def optimal_discriminator() -> sp.Expr:
    """D* solved from d/dD [f_1 log D + f_0 log(1 - D)] = 0 (the unique root)."""
    roots = sp.solve(sp.Eq(sp.diff(pointwise_objective(), D), 0), D)
    if len(roots) != 1:
        raise RuntimeError(f"expected one stationary point, got {roots}")
    return sp.simplify(roots[0])


# --------------------------------------------------------------------------
# Functionals of two densities
# --------------------------------------------------------------------------
class NotLinearFunctional(ValueError):
    """The expression is not a linear combination of expectations plus a constant."""


def expectation_terms(functional: sp.Expr) -> tuple[list, sp.Expr]:
    """Split into ([(coefficient, E_pk, h), ...], constant)."""
    expr = sp.expand(prove.as_expr(functional), log=False, deep=False)
    terms, constant = [], sp.Integer(0)
    for term in sp.Add.make_args(expr):
        ops = [a for a in term.atoms(sp.Function) if a.func in EXPECTATIONS]
        if not ops:
            if term.has(D, f0, f1):
                raise NotLinearFunctional(f"{term} uses D or a density outside an expectation")
            constant += term
            continue
        if len(ops) != 1:
            raise NotLinearFunctional(f"{term} mixes several expectations")
        (op,) = ops
        coeff, rest = term.as_independent(op, as_Add=False)
        if rest != op or coeff.has(D, f0, f1) or len(op.args) != 1:
            raise NotLinearFunctional(f"{term} is not a constant times one expectation")
        terms.append((coeff, op.func, op.args[0]))
    return terms, constant


def integrand(functional: sp.Expr) -> sp.Expr:
    """The pointwise integrand of a linear functional (constants spread over (f_0 + f_1)/2)."""
    terms, constant = expectation_terms(functional)
    return sum((c * EXPECTATIONS[op] * h for c, op, h in terms), constant * MIXTURE)


def _two_point_counterexample(residual: sp.Expr) -> Optional[dict]:
    """A pair of distributions on {x_1, x_2} on which ∫ residual != 0."""
    a, b = sp.symbols("a b", positive=True)
    for point in prove.probe_points([a, b], seed=3):
        pa = point[a] / (1 + point[a])  # in (0, 1)
        pb = point[b] / (1 + point[b])
        total = residual.subs({f0: pa, f1: pb}) + residual.subs({f0: 1 - pa, f1: 1 - pb})
        try:
            value = sp.N(total, 40)
        except Exception:  # pragma: no cover
            continue
        if value.is_number and not value.has(sp.nan, sp.zoo) and abs(value) > sp.Float("1e-25"):
            return {"space": "two points {x_1, x_2}", "p_0": f"({pa}, {1 - pa})", "p_1": f"({pb}, {1 - pb})",
                    "integral of residual": str(sp.N(value, 8))}
    return None


def functional_equal(lhs: sp.Expr, rhs: sp.Expr, *, substitute: Optional[dict] = None,
                     what: str = "functional identity") -> SymbolicResult:
    """Holds when lhs = rhs for every pair of densities (after ``substitute``, e.g. D -> D*)."""
    try:
        residual = integrand(lhs) - integrand(rhs)
    except NotLinearFunctional as exc:
        return SymbolicResult(Verdict.FAILS, method="not a linear combination of expectations", residual=str(exc))
    if substitute:
        residual = residual.subs(substitute)
    reduced = sp.simplify(sp.expand(sp.expand_log(residual, force=True)))
    if reduced == 0:
        return SymbolicResult(Verdict.HOLDS, method=f"{what}: the pointwise integrands agree", residual="0")
    poly = None
    try:
        poly = sp.Poly(reduced, f0, f1)
    except sp.PolynomialError:
        poly = None
    if poly is not None and poly.total_degree() <= 1 and not any(
            c.has(f0, f1, D) for c in poly.coeffs()):
        a = poly.coeff_monomial(f0)
        b = poly.coeff_monomial(f1)
        c0 = poly.coeff_monomial(1)
        total = sp.simplify(a + b)
        if total == 0 and c0 == 0:
            return SymbolicResult(
                Verdict.HOLDS,
                method=f"{what}: the integrand difference is a (f_0 - f_1), which integrates to 0",
                residual=str(reduced), residual_latex=sp.latex(reduced))
        if c0 == 0 and total.is_number and total != 0:
            return SymbolicResult(
                Verdict.FAILS,
                method=f"{what}: the integrand difference is a f_0 + b f_1 with a + b != 0",
                residual=str(reduced), residual_latex=sp.latex(reduced),
                counterexample={"any pair of densities": "", "integral of residual": str(total)})
    cex = _two_point_counterexample(reduced)
    if cex is not None:
        return SymbolicResult(Verdict.FAILS, method=f"{what} fails on a two-point space",
                              residual=str(reduced), residual_latex=sp.latex(reduced), counterexample=cex)
    return SymbolicResult(Verdict.INCONCLUSIVE, method=f"{what}: residual not reduced", residual=str(reduced),
                          residual_latex=sp.latex(reduced))


# --------------------------------------------------------------------------
# 4.6: optimal discriminator, JSD, density ratio
# --------------------------------------------------------------------------
_CONVENTION = (r"D \text{ maximizes } \mathbb{E}_{p_1}[\log D] + \mathbb{E}_{p_0}[\log(1-D)]:"
               r"\ p_1 \text{ is labelled 1 (real data in a GAN), } p_0 \text{ labelled 0 (generated)}")
_DENSITIES = r"f_0, f_1 > 0 \text{ densities of } p_0, p_1 \text{ on a common support}"


@claim(
    "gan_theory.optimal_discriminator",
    title="The optimal discriminator is D* = f₁ / (f₀ + f₁)",
    questions=["ift6135-a23/4.6.dstar"],
    statement=(r"D^*(x) = \frac{f_1(x)}{f_0(x) + f_1(x)} = \arg\max_{d\in(0,1)} f_1(x)\log d + f_0(x)\log(1-d)"
               r"\ \text{ for every } x"),
    assumptions=[_CONVENTION, _DENSITIES,
                 r"V[D] = \int f_1 \log D + f_0 \log(1-D)\,dx \text{ is maximized pointwise over measurable }"
                 r" D: \mathcal{X}\to(0,1)"],
    answer=f1 / (f0 + f1),
    rejects=lambda: [
        f0 / (f0 + f1),  # the two densities swapped
        f1 / f0,  # the likelihood ratio instead of the posterior
        sp.Rational(1, 2),  # the equilibrium value taken for the optimum in general
    ],
)
def optimal_discriminator_claim(answer):
    """First derivative zero and second derivative negative at the answer; the answer lies in (0, 1);
    the stationary point is unique."""
    g = pointwise_objective()
    roots = sp.solve(sp.Eq(sp.diff(g, D), 0), D)
    return prove.all_of(
        prove.zero(sp.diff(g, D).subs(D, answer), what="g'(D) at the answer"),
        prove.true(sp.diff(g, D, 2).subs(D, answer) < 0, what="g''(D) < 0 at the answer"),
        prove.true(answer > 0, what="answer > 0"),
        prove.true(answer < 1, what="answer < 1"),
        prove.true(sp.Eq(len(roots), 1), what="g'(D) = 0 has one root"),
        labels=["first-order condition", "second-order condition", "D* > 0", "D* < 1", "unique stationary point"],
    )


@claim(
    "gan_theory.value_at_optimum",
    title="At the optimum the discriminator's objective is 2·JSD − log 4",
    questions=["ift6135-a23/4.6a"],
    statement=r"V(D^*) = \mathbb{E}_{p_1}[\log D^*] + \mathbb{E}_{p_0}[\log(1-D^*)] = 2\,JSD(p_0, p_1) - \log 4",
    assumptions=[_CONVENTION, _DENSITIES,
                 r"JSD(p_0,p_1) = \tfrac12 KL(p_0\|\mu) + \tfrac12 KL(p_1\|\mu),\ \mu = \tfrac12(p_0+p_1)"],
)
def value_at_optimum():
    """V with D = D* (solved, not typed) equals 2 JSD - log 4 as functionals of (f_0, f_1)."""
    return functional_equal(V_FUNCTIONAL, 2 * JSD_FUNCTIONAL - sp.log(4), substitute={D: optimal_discriminator()},
                            what="V(D*) - (2 JSD - log 4)")


JSD_ANSWER = V_FUNCTIONAL / 2 + sp.log(2)


@claim(
    "gan_theory.jsd_from_discriminator",
    title="JSD(p₀, p₁) = V(D*)/2 + log 2: a trained discriminator estimates the JSD",
    questions=["ift6135-a23/4.6a"],
    statement=(r"JSD(p_0,p_1) = \tfrac12\left(\mathbb{E}_{p_1}[\log D^*(x)] + \mathbb{E}_{p_0}[\log(1-D^*(x))]\right)"
               r" + \log 2 \approx \tfrac12 V(D) + \log 2"),
    assumptions=[_CONVENTION, _DENSITIES,
                 r"\text{answer notation: } E_{p0}(h), E_{p1}(h) \text{ for } \mathbb{E}_{x\sim p_0}[h],"
                 r" \mathbb{E}_{x\sim p_1}[h];\ D \text{ for } D^*(x)"],
    answer=JSD_ANSWER,
    rejects=lambda: [
        V_FUNCTIONAL / 2 - sp.log(2),  # sign of the constant
        (E_p1(sp.log(1 - D)) + E_p0(sp.log(D))) / 2 + sp.log(2),  # D and 1 - D swapped
        V_FUNCTIONAL + sp.log(4),  # the factor 1/2 forgotten
    ],
)
def jsd_from_discriminator(answer):
    """The answer, with D replaced by the derived D*, equals the JSD from its definition."""
    return functional_equal(answer, JSD_FUNCTIONAL, substitute={D: optimal_discriminator()},
                            what="answer(D*) - JSD")


@claim(
    "gan_theory.density_ratio",
    title="The optimal discriminator gives the density ratio: f₁ = f₀ D* / (1 − D*)",
    questions=["ift6135-a23/4.6b"],
    statement=r"f_1(x) = f_0(x)\,\frac{D^*(x)}{1 - D^*(x)},\quad\text{i.e. } \frac{D^*}{1-D^*} = \frac{f_1}{f_0}",
    assumptions=[_CONVENTION, _DENSITIES + r"\ (\text{same support, so } D^* < 1)"],
    answer=f0 * D / (1 - D),
    rejects=lambda: [
        f0 * (1 - D) / D,  # inverted odds
        f0 * D,  # the 1 - D dropped
    ],
)
def density_ratio(answer):
    """The answer with D = D* (derived) equals f_1."""
    return prove.equal(answer.subs(D, optimal_discriminator()), f1, what="answer(f_0, D*) - f_1")


# --------------------------------------------------------------------------
# 4.2 / 4.4: generator costs
# --------------------------------------------------------------------------
a_logit = sp.Symbol("a", real=True)  # the discriminator's logit on a generated sample
SIGMA = 1 / (1 + sp.exp(-a_logit))  # D(G(z)) = sigma(a)
s = sp.Symbol("s", positive=True)  # s = D(G(z)), in (0, 1)

COSTS = {
    "saturating": sp.log(1 - s),  # minimize log(1 - D(G(z)))
    "non-saturating": -sp.log(s),  # minimize -log D(G(z))
}


def logit_gradient(cost: sp.Expr) -> sp.Expr:
    """d cost / d a with D(G(z)) = sigma(a), simplified."""
    return sp.simplify(sp.diff(cost.subs(s, SIGMA), a_logit))


def rejection_limits() -> dict:
    """lim_{a -> -oo} of each cost's logit gradient (the discriminator confidently rejects)."""
    return {name: sp.limit(logit_gradient(c), a_logit, -sp.oo) for name, c in COSTS.items()}


def _non_saturating_label() -> tuple[str, str]:
    limits = rejection_limits()
    alive = [k for k, v in limits.items() if v != 0]
    reason = "; ".join(f"{k}: d/da = {sp.sstr(logit_gradient(COSTS[k]))} -> {sp.sstr(v)} as a -> -oo"
                       for k, v in limits.items())
    return (alive[0] if len(alive) == 1 else "none"), reason


@claim(
    "gan_theory.saturating_gradient",
    title="Choose the non-saturating cost: its gradient survives when D rejects the fakes",
    questions=["ift6135-a23/4.4"],
    statement=(r"D(G(z)) = \sigma(a):\ \frac{\partial}{\partial a}\log(1-\sigma(a)) = -\sigma(a) \to 0,\quad"
               r"\frac{\partial}{\partial a}\left(-\log\sigma(a)\right) = \sigma(a) - 1 \to -1"
               r"\quad (a\to-\infty)"),
    assumptions=[r"\text{the discriminator ends in a sigmoid of a logit } a",
                 r"\text{early in training } D \text{ rejects generated samples: } a \to -\infty"],
    answer="non-saturating",
    rejects=lambda: [
        "saturating",
    ],
)
def saturating_gradient(answer):
    """The cost whose logit gradient has a non-zero limit when D(G(z)) -> 0 is the one to train with."""
    label, reason = _non_saturating_label()
    return prove.choice(answer, label, reason=reason, options=["saturating", "non-saturating"])


# option -> (outer function, inner function, cost as a function of the composed value)
COST_OPTIONS = {
    "a": ("D", "G", sp.log(1 - s)),
    "b": ("D", "G", -sp.log(s)),
    "c": ("G", "D", sp.log(1 - s)),
    "d": ("G", "D", -sp.log(s)),
}
SIGNATURES = {"G": ("z", "x"), "D": ("x", "prob")}  # G: latent -> data, D: data -> (0, 1)


def _cost_option_label() -> tuple[str, str]:
    reasons, candidates = [], []
    for opt, (outer, inner, cost) in COST_OPTIONS.items():
        (in_dom, in_cod), (out_dom, _) = SIGNATURES[inner], SIGNATURES[outer]
        if in_dom != "z" or out_dom != in_cod:
            reasons.append(f"({opt}) {outer}({inner}(z)) is ill-typed: {inner} takes {in_dom}, {outer} takes {out_dom}")
            continue
        grad = logit_gradient(cost)  # s = sigma(a) keeps D(G(z)) inside (0, 1)
        decreasing = prove.true(grad < 0, what="cost decreasing in the logit").verdict is Verdict.HOLDS
        limit = sp.limit(grad, a_logit, -sp.oo)
        reasons.append(f"({opt}) decreasing in D(G(z)): {decreasing}; logit gradient -> {sp.sstr(limit)} when rejected")
        if decreasing and limit != 0:
            candidates.append(opt)
    return (candidates[0] if len(candidates) == 1 else "none"), "; ".join(reasons)


@claim(
    "gan_theory.non_saturating_cost",
    title="The non-saturating generator cost is −(1/m) Σ log D(G(z⁽ⁱ⁾)) (option b)",
    questions=["ift6135-a23/4.2"],
    statement=r"J^{(G)} = -\frac1m\sum_{i=1}^m \log D(G(z^{(i)}))",
    assumptions=[r"G: \mathcal{Z}\to\mathcal{X},\ D:\mathcal{X}\to(0,1)",
                 r"\text{the generator minimizes } J^{(G)}; D(G(z)) = \sigma(a)"],
    answer="b",
    rejects=lambda: [
        "a", "d",
    ],
)
def non_saturating_cost(answer):
    """Among the well-typed options that reward fooling D, the one whose gradient does not vanish."""
    label, reason = _cost_option_label()
    return prove.choice(answer, label, reason=reason, options=list(COST_OPTIONS))


# --------------------------------------------------------------------------
# 4.1: which proposition about a trained GAN is false
# --------------------------------------------------------------------------
f_data, f_g = sp.symbols("f_data f_g", positive=True)


def statements_4_1() -> dict:
    """The four propositions about a GAN trained on apples, each with a check of its own statement.

    GAN convention: real data (apples) has label 1, so p_1 = p_data and p_0 = p_g."""

    def a():  # "the generator aims to learn the law of the apple images": its criterion is minimal at p_g = p_data
        h = f_data * sp.log(2 * f_data / (f_data + f_g)) + f_g * sp.log(2 * f_g / (f_data + f_g))
        at_equal = sp.simplify(h.subs(f_g, f_data))
        slope = sp.simplify(sp.diff(h, f_g).subs(f_g, f_data))
        curv = prove.true(sp.simplify(sp.diff(h, f_g, 2)) > 0, what="d^2 h / d f_g^2 > 0").verdict is Verdict.HOLDS
        return prove.holds_if(at_equal == 0 and slope == 0 and curv,
                              "the JSD integrand vanishes, is stationary and convex at p_g = p_data: the generator's "
                              "optimum is p_g = p_data", detail=f"h = {sp.sstr(at_equal)}, slope {sp.sstr(slope)}")

    def b():  # "the discriminator classifies apple vs non-apple": D* must depend on x at the equilibrium
        dstar = optimal_discriminator().subs({f1: f_data, f0: f_g})
        at_eq = sp.simplify(dstar.subs(f_g, f_data))
        return prove.nonzero(sp.diff(at_eq, f_data) ** 2 + sp.diff(at_eq, f_g) ** 2,
                             what=f"dependence of D* = {sp.sstr(at_eq)} at p_g = p_data on the densities "
                                  "(no non-apple density enters V)")

    def c():  # "the discriminator's loss reaches a constant": -V(D*) at the equilibrium is free of the data
        loss = -integrand(V_FUNCTIONAL).subs(D, optimal_discriminator())
        loss_eq = sp.simplify(sp.expand_log(loss.subs({f1: f_data, f0: f_data}), force=True))
        per_density = sp.simplify(loss_eq / f_data)
        return prove.holds_if(not per_density.free_symbols,
                              f"the loss at equilibrium is ∫ {sp.sstr(loss_eq)} dx = {sp.sstr(per_density)}, a "
                              "constant", residual="" if not per_density.free_symbols else sp.sstr(per_density))

    def d():  # "the generator produces unseen images": a continuous generator hits a training image w.p. 0
        return prove.holds_if(_hit_probability() == 0,
                              "P(|G(z) - x_i| <= eps) -> 0 as eps -> 0 for G(z) = a z + b, a > 0: a finite "
                              "training set is hit with probability 0", residual=f"limit {_hit_probability()}")

    return {
        "a": ("the generator aims to learn the distribution of apple images", a),
        "b": ("the discriminator can classify images as apple vs non-apple", b),
        "c": ("after training, the discriminator's loss settles at a constant", c),
        "d": ("the generator can produce apple images it has not seen", d),
    }


@functools.lru_cache(maxsize=None)
def _hit_probability():
    a_ = sp.Symbol("a", positive=True)
    b_, xi = sp.symbols("b x_i", real=True)
    eps = sp.Symbol("epsilon", positive=True)
    window = (sp.erf((xi + eps - b_) / (sp.sqrt(2) * a_)) - sp.erf((xi - eps - b_) / (sp.sqrt(2) * a_))) / 2
    return sp.limit(window, eps, 0, "+")


@functools.lru_cache(maxsize=None)
def _truths_4_1():
    return prove.option_truths(statements_4_1())


def proposition_truths() -> tuple[dict, dict]:
    """Truth value of each proposition of 4.1 (from its own check) and the check's method."""
    truths, results, _ = _truths_4_1()
    return truths, {k: r.method for k, r in results.items()}


_GAN_41_ASSUMPTIONS = [
    r"\text{real images (apples) have label 1: } p_1 = p_{data},\ p_0 = p_g",
    r"\text{'after training' = at the game's equilibrium } p_g = p_{data},\ D = D^*",
    r"\text{the generator's output law has no atoms (continuous latent, non-degenerate } G)",
]


def _mc_41(answer):
    """The key is the one proposition whose own check refutes it."""
    return prove.option_answer(answer, _truths_4_1(), select="false", options=["a", "b", "c", "d"])


claim(
    "gan_theory.mc_4_1",
    title="4.1: the false proposition is (b): the discriminator is no apple/non-apple classifier",
    questions=["ift6135-a23/4.1"],
    statement=(r"p_g = p_{data} \Rightarrow D^* \equiv \tfrac12,\ -V(D^*) = \log 4;\ "
               r"\text{no non-apple data enters } V \text{, so (b) is false while (a), (c), (d) hold}"),
    assumptions=_GAN_41_ASSUMPTIONS,
    answer="b",
    rejects=lambda: [
        "a", "c", "d",
    ],
)(_mc_41)

claim(
    "gan_theory.answer_set_4_1",
    title="Refuted: 'the false proposition is (c), the discriminator loss does not settle'",
    questions=["ift6135-a23/4.1"],
    statement=r"\text{(c) is the false proposition}",
    assumptions=_GAN_41_ASSUMPTIONS,
    answer="c",
    expect="fails",
    note=(
        "The answer set in 002_ad9a826c24b56ffd.txt marks (c) as the false statement. At the equilibrium the "
        "optimal discriminator outputs 1/2 everywhere and its loss is exactly log 4 whatever the data, so the "
        "loss does settle at a constant (a small 1-D GAN run shows it hovering at log 4). The statement that "
        "fails is (b): the discriminator only ever sees real apples and generated apples, and at equilibrium "
        "it cannot tell them apart, so it is not an apple/non-apple classifier. "
        "004_f1d2f63094d88b6d.txt gives (b)."
    ),
)(_mc_41)


# --------------------------------------------------------------------------
# 4.3: what closes a train/test gap
# --------------------------------------------------------------------------
def dropout_penalty(n_features: int = 2) -> sp.Expr:
    """E_mask[(y - sum_i w_i m_i x_i / p)^2] - (y - w.x)^2 for inverted dropout on the inputs,
    m_i ~ Bernoulli(p) independent: the expectation is an exact sum over the 2^n masks."""
    import itertools

    p = sp.Symbol("p", positive=True)
    y = sp.Symbol("y", real=True)
    w = sp.symbols(f"w_1:{n_features + 1}", real=True)
    xs = sp.symbols(f"x_1:{n_features + 1}", real=True)
    expected = sp.Integer(0)
    for mask in itertools.product((0, 1), repeat=n_features):
        prob = sp.Mul(*[p if m else 1 - p for m in mask])
        pred = sum(wi * m * xi / p for wi, m, xi in zip(w, mask, xs))
        expected += prob * (y - pred) ** 2
    plain = (y - sum(wi * xi for wi, xi in zip(w, xs))) ** 2
    return sp.factor(sp.simplify(expected - plain))


def rmsprop_fixed_points() -> list:
    """Solutions g of the RMSprop step -lr g / (sqrt(v) + eps) = 0 (lr, v, eps > 0)."""
    g = sp.Symbol("g", real=True)
    lr, v, eps = sp.symbols("eta v epsilon", positive=True)
    return sp.solve(sp.Eq(-lr * g / (sp.sqrt(v) + eps), 0), g)


def _expected_penalty(train_pred, eval_pred, masks) -> sp.Expr:
    """E_masks[(y - train_pred(m))^2] - (y - eval_pred)^2: what a method adds to the squared error of the
    predictor it deploys (``masks``: (probability, mask) pairs; one pair with probability 1 if none)."""
    expected = sp.Add(*[prob * (y_reg - train_pred(m)) ** 2 for prob, m in masks])
    return sp.factor(sp.simplify(expected - (y_reg - eval_pred) ** 2))


y_reg = sp.Symbol("y", real=True)
w_reg = sp.symbols("w_1:3", real=True)
x_reg = sp.symbols("x_1:3", real=True)


def _linear(m=(1, 1), p=1):
    return sum(wi * mi * xi / p for wi, mi, xi in zip(w_reg, m, x_reg))


def method_penalties() -> dict:
    """Each option as a training method of the network (train-time predictor, deployed predictor, noise),
    and the term it adds to the training objective, derived with :func:`_expected_penalty`."""
    import itertools

    p = sp.Symbol("p", positive=True)
    dropout_masks = [(sp.Mul(*[p if mi else 1 - p for mi in m]), m) for m in itertools.product((0, 1), repeat=2)]
    sig = sp.Function("sigma")
    return {
        # a GAN is another pair of networks; the classifier keeps its own objective on its own data
        "a": _expected_penalty(lambda m: _linear(), _linear(), [(1, None)]),
        # inverted dropout on the inputs: random masks at training time, the full predictor deployed
        "b": _expected_penalty(lambda m: _linear(m, p), _linear(), dropout_masks),
        # a sigmoid activation: the same (deterministic) predictor at training and deployment
        "c": _expected_penalty(lambda m: sig(_linear()), sig(_linear()), [(1, None)]),
        # RMSprop: an optimizer; the objective it descends is the plain one
        "d": _expected_penalty(lambda m: _linear(), _linear(), [(1, None)]),
    }


def statements_4_3() -> dict:
    """"Method X reduces the train/test gap of an overfitted network", one check per option: the
    method must add a non-negative, non-zero penalty to the training objective (and, for an optimizer,
    change the set of points it converges to)."""
    p = sp.Symbol("p", positive=True)
    k = sp.Symbol("k", positive=True)  # p = 1 / (1 + k) ranges over (0, 1)
    pens = method_penalties()

    def penalizes(label):
        def check():
            pen = pens[label]
            nz = prove.nonzero(pen, what=f"penalty of ({label}) = {sp.sstr(pen)}")
            if nz.verdict is not Verdict.HOLDS:
                return nz
            nonneg = prove.true(sp.simplify(pen.subs(p, 1 / (1 + k))) >= 0, what="penalty >= 0")
            return prove.all_of(nz, nonneg, labels=["adds a term", "the term is a penalty (>= 0)"])
        return check

    def rmsprop():
        fixed = rmsprop_fixed_points()
        same_fixed = prove.holds_if(fixed == [0], f"RMSprop's step vanishes iff the gradient does (g in {fixed})")
        if same_fixed.verdict is Verdict.HOLDS:  # same minimizers: it can only regularize through a penalty
            return penalizes("d")()
        return prove.holds_if(None, "RMSprop's fixed points differ from the gradient's zeros")

    return {
        "a": ("training a GAN reduces the classifier's train/test gap", penalizes("a")),
        "b": ("dropout reduces the train/test gap", penalizes("b")),
        "c": ("a sigmoid activation reduces the train/test gap", penalizes("c")),
        "d": ("RMSprop reduces the train/test gap", rmsprop),
    }


@functools.lru_cache(maxsize=None)
def _truths_4_3():
    return prove.option_truths(statements_4_3())


def regularizing_options() -> tuple[list, str]:
    """Which options change the objective so that fitting the training set is penalized."""
    truths, _, reason = _truths_4_3()
    return sorted(k for k, v in truths.items() if v), reason


def _mc_43(answer):
    """The key is the one method whose own statement ("it reduces the gap") holds."""
    return prove.option_answer(answer, _truths_4_3(), select="true", options=["a", "b", "c", "d"])


_GAN_43_ASSUMPTIONS = [
    r"\text{a 100\% / 42\% train/test gap is overfitting: the remedy must penalize fitting the training set}",
    r"\text{dropout: inverted, on the inputs of a linear model, keep probability } p \in (0,1]",
    r"\text{RMSprop: } \theta \leftarrow \theta - \eta g/(\sqrt{v}+\epsilon),\ v \text{ running mean of } g^2",
]

claim(
    "gan_theory.mc_4_3",
    title="4.3: dropout (b) reduces a train/test gap; it adds a penalty, RMSprop does not",
    questions=["ift6135-a23/4.3"],
    statement=(r"\mathbb{E}_m\big[(y - \textstyle\sum_i w_i m_i x_i/p)^2\big] = (y - w^\top x)^2"
               r" + \tfrac{1-p}{p}\textstyle\sum_i w_i^2 x_i^2;\quad"
               r"\text{RMSprop step} = 0 \iff \nabla L = 0"),
    assumptions=_GAN_43_ASSUMPTIONS,
    answer="b",
    rejects=lambda: [
        "a", "c", "d",
    ],
)(_mc_43)

claim(
    "gan_theory.answer_set_4_3",
    title="Refuted: 'RMSprop (d) is the method that reduces the train/test gap'",
    questions=["ift6135-a23/4.3"],
    statement=r"\text{(d) RMSprop reduces overfitting}",
    assumptions=_GAN_43_ASSUMPTIONS,
    answer="d",
    expect="fails",
    note=(
        "The answer set in 002_ad9a826c24b56ffd.txt picks RMSprop. RMSprop is an optimizer: it rescales the "
        "gradient per coordinate, and its steps vanish exactly where the gradient of the unregularized "
        "training loss does, so it converges to the same kind of training-set fit and does nothing "
        "against overfitting (in an over-parametrized regression it even widens the gap). Dropout (b) is "
        "the regularizer: its expected loss adds an L2-type penalty. 004_f1d2f63094d88b6d.txt gives (b)."
    ),
)(_mc_43)
