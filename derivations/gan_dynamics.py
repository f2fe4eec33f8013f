"""GAN training dynamics on the bilinear game V(d, g) = d g (ift6135-h22, question 4).

The discriminator parameter d ascends V, the generator parameter g descends
it, both with step size alpha and both from the same iterate (simultaneous
gradient descent-ascent).  Everything below is *derived* from V with SymPy:
the update matrix comes from the gradients, the eigenvalues from its
characteristic polynomial, the long-run behaviour from the norm identity.

The answer set for this sheet concludes that the iterates rotate around the
stationary point forever.  The rotation is real (the eigenvalues are complex),
but it is only half the story: every step also multiplies the distance to
(0, 0) by sqrt(1 + alpha^2) > 1, so the iterates spiral outwards and diverge.
Pure rotation happens only in the continuous-time limit (alpha -> 0), whose
flow conserves the norm; the growth is an artefact of the discrete step, which
is the forward-Euler discretization of that flow.
"""
from __future__ import annotations

import sympy as sp

from derivcheck import claim

from . import prove

alpha = sp.Symbol("alpha", positive=True)
d, g = sp.symbols("d g", real=True)
k = sp.Symbol("k", integer=True, nonnegative=True)
V = d * g
STATE = sp.Matrix([d, g])


def gda_step() -> sp.Matrix:
    """One simultaneous step: d ascends V, g descends V, both from (d, g)."""
    return sp.Matrix([d + alpha * sp.diff(V, d), g - alpha * sp.diff(V, g)])


def update_matrix() -> sp.Matrix:
    """A as the Jacobian of the (linear) step map; never typed in."""
    return gda_step().jacobian(STATE)


def gradient_flow() -> sp.Matrix:
    """The continuous-time limit: (d', g') = (dV/dd, -dV/dg)."""
    return sp.Matrix([sp.diff(V, d), -sp.diff(V, g)])


def growth_factor() -> sp.Expr:
    return sp.sqrt(1 + alpha**2)


A_KEY = sp.Matrix([[1, alpha], [-alpha, 1]])


@claim(
    "gan_dynamics.update_matrix",
    title="Simultaneous descent-ascent is the linear map A = [[1, α], [-α, 1]]",
    questions=["ift6135-h22/4.1"],
    statement=(
        r"\begin{bmatrix}d_{k+1}\\ g_{k+1}\end{bmatrix} = A \begin{bmatrix}d_k\\ g_k\end{bmatrix},\quad "
        r"A = \begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}"
    ),
    assumptions=[r"V(d,g) = dg", r"d \leftarrow d + \alpha\,\partial_d V,\ g \leftarrow g - \alpha\,\partial_g V"
                 r" \text{ (simultaneous)}", r"\alpha > 0"],
    answer=A_KEY,
)
def update_matrix_claim(answer):
    """The step derived from the gradients equals ``answer`` times the state, for every state."""
    return prove.equal(gda_step(), answer * STATE, what="step(d, g) - A [d, g]^T")


@claim(
    "gan_dynamics.stationary_point",
    title="The only stationary point of V, and the only fixed point of the map, is (0, 0)",
    questions=["ift6135-h22/4.2"],
    statement=r"\nabla V(d^*, g^*) = 0 \iff (d^*, g^*) = (0, 0)",
    assumptions=[r"\alpha > 0"],
    answer=sp.Matrix([0, 0]),
)
def stationary_point(answer):
    """The answer zeroes the gradient and the fixed-point residual, and is the unique such point."""
    point = dict(zip((d, g), answer))
    grad = sp.Matrix([sp.diff(V, d), sp.diff(V, g)])
    solutions = sp.solve(list(grad), [d, g], dict=True)
    A = update_matrix()
    return prove.all_of(
        prove.zero(grad.subs(point), what="grad V at the point"),
        prove.zero((A - sp.eye(2)) * sp.Matrix(answer), what="(A - I) p"),
        prove.true(sp.Eq(len(solutions), 1), what="grad V = 0 has exactly one solution"),
        prove.true(sp.Ne((A - sp.eye(2)).det(), 0), what="det(A - I) = alpha^2 != 0"),
        labels=["gradient", "fixed point", "unique critical point", "unique fixed point"],
    )


@claim(
    "gan_dynamics.eigenvalues",
    title="The eigenvalues of A are 1 ± iα",
    questions=["ift6135-h22/4.3"],
    statement=r"\det(A - \lambda I) = 0 \iff \lambda \in \{1 + i\alpha,\ 1 - i\alpha\}",
    assumptions=[r"\alpha > 0"],
    answer=(1 + sp.I * alpha, 1 - sp.I * alpha),
)
def eigenvalues(answer):
    """The roots of A's characteristic polynomial are exactly the answer (as a multiset)."""
    lam = sp.Symbol("lambda")
    roots = sp.roots(update_matrix().charpoly(lam).as_expr(), lam)
    return prove.same_set(roots, answer, what="eigenvalue multiset")


@claim(
    "gan_dynamics.eigenvalue_modulus",
    title="Both eigenvalues have modulus sqrt(1 + α²) > 1",
    questions=["ift6135-h22/4.3", "ift6135-h22/4.3.behaviour"],
    statement=r"|1 \pm i\alpha| = \sqrt{1 + \alpha^2} > 1",
    assumptions=[r"\alpha > 0"],
    answer=growth_factor(),
)
def eigenvalue_modulus(answer):
    """|lambda|^2 = lambda conj(lambda) equals answer^2 for each eigenvalue, and answer > 1."""
    parts = [prove.zero(sp.expand(lam * sp.conjugate(lam)) - answer**2, what="|lambda|^2 - rho^2")
             for lam in update_matrix().eigenvals()]
    parts.append(prove.true(answer > 1, what="rho > 1"))
    return prove.all_of(*parts, labels=["lambda_1", "lambda_2", "modulus above one"])


@claim(
    "gan_dynamics.norm_growth",
    title="Every step multiplies the norm by exactly sqrt(1 + α²)",
    questions=["ift6135-h22/4.3.behaviour"],
    statement=r"\|A v\|_2 = \sqrt{1 + \alpha^2}\,\|v\|_2 \quad \forall v \in \mathbb{R}^2"
              r"\qquad (A^\top A = (1 + \alpha^2) I)",
    assumptions=[r"\alpha > 0", r"v \in \mathbb{R}^2"],
    answer=growth_factor(),
)
def norm_growth(answer):
    """||A v||^2 - answer^2 ||v||^2 vanishes identically in v."""
    Av = update_matrix() * STATE
    return prove.zero(sp.expand((Av.T * Av)[0] - answer**2 * (STATE.T * STATE)[0]),
                      what="||Av||^2 - rho^2 ||v||^2")


@claim(
    "gan_dynamics.polar_form",
    title="A is a rotation by arctan α scaled by sqrt(1 + α²): the iterates spiral",
    questions=["ift6135-h22/4.3.behaviour"],
    statement=(
        r"A = \sqrt{1+\alpha^2}\begin{bmatrix}\cos\theta & \sin\theta\\ -\sin\theta & \cos\theta\end{bmatrix},"
        r"\ \theta = \arctan\alpha \;\Rightarrow\; A^k = (1+\alpha^2)^{k/2} R(k\theta)"
    ),
    assumptions=[r"\alpha > 0"],
)
def polar_form():
    """A - rho R(arctan alpha) simplifies to the zero matrix."""
    theta = sp.atan(alpha)
    R = sp.Matrix([[sp.cos(theta), sp.sin(theta)], [-sp.sin(theta), sp.cos(theta)]])
    return prove.equal(update_matrix(), growth_factor() * R, what="A - rho R(theta)")


def _behaviour_of_iterates() -> tuple[str, str]:
    """Classify k -> infinity from ||v_k|| = rho^k ||v_0|| (rho from the norm identity)."""
    Av = update_matrix() * STATE
    rho_sq = sp.simplify((Av.T * Av)[0] / (STATE.T * STATE)[0])
    limit = sp.limit(rho_sq ** (k / 2), k, sp.oo)
    if limit == sp.oo:
        label = "diverge"
    elif limit == 0:
        label = "converge"
    else:
        label = "cycle"
    reason = (
        f"||v_k||^2 = ({sp.sstr(rho_sq)})^k ||v_0||^2 and (rho^2)^(k/2) -> {limit} as k -> oo"
        " for alpha > 0 and v_0 != 0"
    )
    return label, reason


def _behaviour(answer):
    label, reason = _behaviour_of_iterates()
    return prove.choice(answer, label, reason=reason, options=["converge", "cycle", "diverge"])


claim(
    "gan_dynamics.behaviour",
    title="For every α > 0 the iterates spiral outwards and diverge",
    questions=["ift6135-h22/4.3.behaviour"],
    statement=r"\|(d_k, g_k)\| = (1+\alpha^2)^{k/2}\,\|(d_0, g_0)\| \to \infty \quad (k \to \infty)",
    assumptions=[r"\alpha > 0", r"(d_0, g_0) \neq (0, 0)"],
    answer="diverge",
)(_behaviour)

claim(
    "gan_dynamics.answer_set_rotation",
    title="Refuted: 'the iterates rotate around (0, 0) forever without converging'",
    questions=["ift6135-h22/4.3.behaviour"],
    statement=r"\|(d_k, g_k)\| \text{ stays bounded away from } 0 \text{ and } \infty"
              r"\ \text{(pure rotation, } |\lambda| = 1)",
    assumptions=[r"\alpha > 0"],
    answer="cycle",
    expect="fails",
    note=(
        "The answer set in 003_6d1f8bd69ec35d2c.txt reads the complex eigenvalues as a pure rotation. "
        "Complex eigenvalues do give a rotation by arctan(alpha) per step, but their modulus is "
        "sqrt(1 + alpha^2) > 1, so each step also stretches the iterate by that factor: the iterates "
        "spiral outwards and diverge. Only the continuous-time flow (alpha -> 0) rotates without growth."
    ),
)(_behaviour)


@claim(
    "gan_dynamics.continuous_flow",
    title="The continuous-time flow conserves the norm; the discrete step is its Euler step",
    questions=["ift6135-h22/4.3.behaviour"],
    statement=(
        r"\dot d = \partial_d V,\ \dot g = -\partial_g V \;\Rightarrow\; \tfrac{d}{dt}(d^2 + g^2) = 0;"
        r"\quad A = I + \alpha J,\ J = \begin{bmatrix}0 & 1\\ -1 & 0\end{bmatrix}"
    ),
    assumptions=[r"\alpha > 0"],
)
def continuous_flow():
    """d/dt ||x||^2 = 2 x^T f(x) = 0 for the flow f, and A = I + alpha J with J its (skew) matrix."""
    f = gradient_flow()
    J = f.jacobian(STATE)
    return prove.all_of(
        prove.zero(sp.expand(2 * (STATE.T * f)[0]), what="d/dt ||x||^2"),
        prove.equal(update_matrix(), sp.eye(2) + alpha * J, what="A - (I + alpha J)"),
        prove.equal(J.T, -J, what="J^T + J"),
        labels=["norm conserved", "Euler step", "J skew-symmetric"],
    )
