r"""The grading catalogue: for every question, its kind, points, notation context and key source.

Kinds, options and keys of mappings come from the project's question
catalogue (:mod:`derivcheck.catalogue`); this module adds what grading
needs:

* **points**, read off the sheets (the split of a sheet's points over the
  catalogue's sub-items is stated next to each table row that splits);
* a **notation context** for every expression, matrix, point and expression
  set question (:mod:`grading.context`): the objects an answer may use and
  their domains;
* **targets**: what an answer may name on its left-hand side
  (``D^*(x) = ...``); only the last side of an ``=`` chain is graded;
* **restrictions**: names an answer may not use as values (the quantity
  asked for, or what the question says to eliminate), operators it may not
  use (the JSD when the JSD is asked for), and ``only_through`` (a question
  asking for a formula "in terms of ||u - v||" accepts u and v only inside
  that norm);
* **key pins**: when several verified claims answer the same question with
  values of the same type (SimSiam's 5.2 also has a claim about one
  derivative in its derivation), the claim whose answer is the key;
* **key adapters**: how to read a topic's own SymPy notation for
  expectations and densities (:mod:`grading.keys`);
* a **rubric** for free-text items (written for graders: what a full answer
  contains) and the reason an item is unavailable.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Optional

from derivcheck import catalogue

from .context import Context, Obj, Var


# --------------------------------------------------------------------------
# Contexts
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def contexts() -> dict:
    ctx = {}
    ctx["gan-dynamics"] = Context(
        "gan-dynamics",
        objects=[Obj("alpha", "scalar", domain="positive", description="step size α > 0")],
        imaginary_unit=True,
        description="α > 0 (the step size); i is the imaginary unit",
    )
    matrix = dict(shape=("n_2", "n_2"))
    ctx["simsiam"] = Context(
        "simsiam",
        objects=[
            Obj("W", "matrix", shape=("n_2", "n_1"), description="encoder, n2 x n1"),
            Obj("W_p", "matrix", aliases=("W_{p}",), description="predictor, n2 x n2 (not symmetric)", **matrix),
            Obj("X", "matrix", shape=("n_1", "n_1"), structure="spd", description="E[x̄ x̄ᵀ], symmetric PSD"),
            Obj("X'", "matrix", shape=("n_1", "n_1"), structure="spd", description="averaged covariance, SPD"),
            Obj("F_1", "matrix", definition=r"W(X+X')W^\top", description="F_1 = W(X+X')Wᵀ", **matrix),
            Obj("F_2", "matrix", definition=r"F_1", description="F_2 = F_1", **matrix),
            Obj("F_12", "matrix", definition=r"W X W^\top", description="F_12 = W X Wᵀ", **matrix),
            Obj("F_21", "matrix", definition=r"F_{12}", description="F_21 = F_12", **matrix),
            Obj("tilde(W)_p", "matrix", definition=r"W_p - I_{n_2}", description="W̃_p = W_p - I", **matrix),
        ],
        dims={"n_1": (2, 4), "n_2": (2, 4)},
        identity_dim="n_2",
        description="W (n2 x n1), W_p (n2 x n2), X, X' (n1 x n1, SPD), F_1 = F_2 = W(X+X')Wᵀ, "
                    "F_12 = F_21 = W X Wᵀ, W̃_p = W_p - I; sizes random, matrices generic (non-commuting)",
    )
    ctx["gan-theory"] = Context(
        "gan-theory",
        variables=[Var("x", (2, 6))],
        objects=[
            Obj("f_0", "density", over=("x",), aliases=("p_0",), description="density of p_0"),
            Obj("f_1", "density", over=("x",), aliases=("p_1",), description="density of p_1"),
            Obj("D^*", "field", over=("x",), aliases=("D",), definition=r"\frac{f_1(x)}{f_0(x)+f_1(x)}",
                description="the optimal discriminator f_1/(f_0+f_1)"),
            Obj("mu", "density", over=("x",), definition=r"\frac{1}{2}(f_0(x)+f_1(x))",
                description="the mixture (p_0 + p_1)/2"),
        ],
        description="p_0, p_1 with positive densities f_0, f_1 on a common finite support of x; "
                    "D*(x) = f_1/(f_0+f_1) (D(x) accepted); μ = (p_0+p_1)/2",
    )
    ctx["vae"] = Context(
        "vae",
        variables=[Var("x", (2, 4)), Var("z", (2, 5))],
        objects=[
            Obj("p", "joint", over=("x", "z"), description="the model's joint p(x, z) and its marginals/conditionals"),
            Obj("q_phi", "density", over=("z",), given=("x",), aliases=("q",),
                description="the approximate posterior q_φ(z|x)"),
        ],
        description="p(x,z) positive on finite supports of x and z (p(z), p(x), p(x|z), p(z|x) derived); "
                    "q_φ(z|x) positive, summing to one over z",
    )
    # derivations (grading/steps.py): the ELBO family of vae-simclr/1a, ift6135-a23/3.2, ift6135-h22/1.1
    ctx["vae-derivation"] = Context(
        "vae-derivation",
        variables=[Var("x", (2, 4)), Var("z", (2, 5))],
        objects=[
            Obj("p", "joint", over=("x", "z"), aliases=("p_theta", "p_{x,z}"), depends=("theta",), fixed=("z",),
                description="the model p_θ(x, z) = p_θ(x|z) p(z): p(z) (the prior) does not depend on θ; "
                            "p(x), p(x|z), p(z|x) derived"),
            Obj("q_phi", "density", over=("z",), given=("x",), aliases=("q",),
                description="the approximate posterior q_φ(z|x) (fixed: it does not depend on θ)"),
            Obj("cal(L)", "field", over=("x",), aliases=("ELBO",), params=("theta", "phi", "x", "q"),
                definition=r"\mathbb{E}_{q_\phi(z|x)}\left[\log \frac{p(x,z)}{q_\phi(z|x)}\right]",
                description="the ELBO L(θ, φ; x) = E_q[log p(x,z) - log q(z|x)]"),
        ],
        description="p_θ(x,z) = p_θ(x|z)p(z) positive on finite supports of x and z (p(z) free of θ; p(x), "
                    "p(x|z), p(z|x) derived); q_φ(z|x) (or q(z|x)) positive, summing to one over z; "
                    "\\mathcal{L} (or ELBO) = E_q[log p(x,z)/q(z|x)]",
    )
    # the flow KL invariance (ift6135-a23/2.1, ift6135-h22/3.1): a bijection F pairs the points of u and x;
    # the points of x have volumes |det J_F| (those of u volume 1), so a change of variables needs its Jacobian
    ctx["flow"] = Context(
        "flow",
        variables=[Var("u", (3, 6)), Var("x", (3, 6), like="u", measure="vol_x")],
        objects=[
            Obj("F", "map", over=("u",), given=("x",), description="the flow F: u -> x (invertible)"),
            Obj("F^-1", "map", over=("x",), given=("u",), description="its inverse F^{-1}: x -> u"),
            Obj("J_F", "field", over=("u",), domain="positive", aliases=("J",),
                description="|det ∂F(u)/∂u| (also written \\frac{\\partial F(u)}{\\partial u})"),
            Obj("J_F^-1", "field", over=("x",), definition=r"\frac{1}{J_F(F^{-1}(x))}",
                description="|det ∂F^{-1}(x)/∂x| = 1/|det J_F(F^{-1}(x))|"),
            Obj("vol_x", "field", over=("x",), definition=r"J_F(F^{-1}(x))",
                description="the volume of a point of x (hidden: the measure of integrals over x)"),
            Obj("p_X", "density", over=("x",), aliases=("P_X", "p_x", "P_x"), description="the data density"),
            Obj("p_U", "density", over=("u",), aliases=("P_U", "p_u", "P_u"), description="the base density"),
            Obj("p_F(U)", "density", over=("x",), aliases=("P_F(U)",),
                definition=r"p_U(F^{-1}(x)) J_{F^{-1}}(x)", description="the flow's density p_U(F^{-1}(x))/|J_F|"),
            Obj("p_F^-1(X)", "density", over=("u",), aliases=("P_F^-1(X)",),
                definition=r"p_X(F(u)) J_F(u)", description="the pulled-back data density p_X(F(u))|J_F(u)|"),
        ],
        description="u and x paired by the invertible flow F (x = F(u)); densities p_X(x) (P_X), p_U(u) (P_U), "
                    "p_{F(U)}(x) = p_U(F^{-1}(x))|det J_{F^{-1}}(x)|, p_{F^{-1}(X)}(u) = p_X(F(u))|det J_F(u)|; "
                    "Jacobians J_F(u) = ∂F(u)/∂u and J_{F^{-1}}(x) = ∂F^{-1}(x)/∂x, their |det| positive; "
                    "integrals ∫ ... dx, ∫ ... du and expectations E_{x~p_X}, E_{u~p_U}",
    )
    # the importance-weighted bound (ift6135-a23/3.4a-b): k i.i.d. samples z_1..z_k of q(z|x) (k at most 3 here)
    ctx["iwae"] = Context(
        "iwae",
        variables=[Var("x", (2, 3)), Var("z", (2, 3))] + [Var(f"z_{j}", (2, 3), copy_of="z") for j in (1, 2, 3)],
        objects=[
            Obj("p", "joint", over=("x", "z"), description="the model p(x, z); p(x), p(z), p(x|z), p(z|x) derived"),
            Obj("q_phi", "density", over=("z",), given=("x",), aliases=("q",), description="q(z|x)"),
            Obj("k", "scalar", domain="small", aliases=("K",), description="the number of samples k (1 to 3 here)"),
            Obj("w", "field", index=("j",), definition=r"\frac{p(x,z_j)}{q(z_j|x)}",
                description="the importance weight w_j = p(x, z_j)/q(z_j|x)"),
            Obj("cal(L)", "field", index=("k",),
                definition=r"\mathbb{E}_{z_{1:k}\sim q(z|x)}\left[\log \frac{1}{k}\sum_{j=1}^{k}"
                           r"\frac{p(x,z_j)}{q(z_j|x)}\right]",
                description="the bound L_k = E_{z_1:k ~ q}[log (1/k) Σ_j w_j] (L_1 is the ELBO)"),
            Obj("ELBO", "field", over=("x",), definition=r"\mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]",
                description="the ELBO (= L_1)"),
        ],
        description="p(x, z) on finite supports; q(z|x); k samples z_1, ..., z_k i.i.d. from q(z|x) "
                    "(E_{z_{1:k} ~ q(z|x)}, E_{z_1, z_2 ~ q(z|x)}); w_j = p(x,z_j)/q(z_j|x); "
                    "\\mathcal{L}_k, \\mathcal{L}_1, \\mathcal{L}_2, ELBO",
    )
    ctx["reparam"] = Context(
        "reparam",
        objects=[
            Obj("mu", "scalar", domain="real", description="mean μ"),
            Obj("sigma", "scalar", domain="positive", description="standard deviation σ > 0"),
            Obj("epsilon", "scalar", domain="real", description="standard normal noise ε"),
        ],
        description="μ real, σ > 0, ε (standard normal noise, any real value)",
    )
    ctx["contrastive-count"] = Context(
        "contrastive-count",
        objects=[Obj("K", "scalar", domain="posint"), Obj("N", "scalar", domain="posint"),
                 Obj("i", "scalar", domain="posint")],
        description="K, N, i positive integers",
    )
    ctx["vectors"] = Context(
        "vectors",
        objects=[Obj("u", "vector", shape=("d",)), Obj("v", "vector", shape=("d",))],
        dims={"d": (2, 5)},
        description="u, v real vectors of a random dimension d",
    )
    ctx["unit-vectors"] = Context(
        "unit-vectors",
        objects=[Obj("u", "vector", shape=("d",), structure="unit"),
                 Obj("v", "vector", shape=("d",), structure="unit")],
        dims={"d": (2, 5)},
        description="u, v unit vectors of a random dimension d",
    )
    ctx["numbers"] = Context("numbers", description="plain numbers")
    return ctx


# --------------------------------------------------------------------------
# Question specs
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """What grading knows about one question beyond the catalogue."""

    points: float
    context: Optional[str] = None
    targets: tuple = ()
    forbid: tuple = ()  # object names not allowed as values in an answer
    forbid_ops: tuple = ()  # expression ops not allowed (kl, jsd)
    only_through: Optional[str] = None  # LaTeX of the only form in which the context's objects may appear
    key_claim: Optional[str] = None  # pin: the claim whose answer is the key
    adapter: Optional[str] = None  # how to read the key's SymPy notation
    labels: bool = False  # a set of plain labels (not expressions)
    point_vars: tuple = ()  # names of a point's coordinates, in order (for answers like "d = 0, g = 0")
    rubric: str = ""
    unavailable: str = ""


_FIGURE = ("it asks about four plotted feature distributions; the figure is not part of the sheets, so "
           "the answer cannot be checked")

SPECS = {
    # -- mit-hw4 (points as printed on 000_c4c2f3e64aaf4d56.txt; 2 and 3 split over their sub-items) --------
    "mit-hw4/1": Spec(1, "contrastive-count", targets=("N",), forbid=("N", "i")),
    "mit-hw4/2.C": Spec(0.25, "contrastive-count", targets=("C",), forbid=("K", "i")),
    "mit-hw4/2.target": Spec(0.25, "contrastive-count", targets=("target", "y"), forbid=("K",)),
    "mit-hw4/2.range": Spec(0.5, "numbers"),
    "mit-hw4/3.general": Spec(0.25, "vectors"),
    "mit-hw4/3.sphere": Spec(0.25, "unit-vectors", only_through=r"\|u - v\|"),
    "mit-hw4/4a": Spec(2, unavailable=_FIGURE),
    "mit-hw4/4b": Spec(1, rubric=(
        "Diameter: the largest distance between the features of two points of the same group S_i (how spread "
        "one group is). Margin: the smallest distance between a feature of group i and a feature of group j "
        "(how close two different groups come).")),
    "mit-hw4/4c": Spec(1),
    "mit-hw4/4e.i": Spec(0.5),
    "mit-hw4/4e.ii": Spec(0.5),
    "mit-hw4/4e.iii": Spec(1, rubric=(
        "Invariances: the encoder is constant on each support S_i (the sets are exactly {S_i}). Uniformity: "
        "with every group collapsed to one point, maximizing the smallest margin is placing N points on the "
        "sphere as far apart as possible, i.e. Tammes' problem (roughly uniform placement).")),
    "mit-hw4/4f.1": Spec(0.5),
    "mit-hw4/4f.2": Spec(0.5, rubric=(
        "Features of overlapping groups end up close to each other (a shared point cannot be far from both "
        "groups); full credit also notes that nothing forces the overlap to collapse to a single point or fixes "
        "where it is placed, and that a 'zero margin' claim is not implied.")),
    "mit-hw4/5.1": Spec(1),
    "mit-hw4/5.2a": Spec(0.5),
    "mit-hw4/5.2b": Spec(0.5, rubric=(
        "Yes: scaling the features up makes the logits (and the loss's exponentials) grow without bound, so "
        "the loss is only driven down by ever larger numbers, which overflow or lose precision.")),
    "mit-hw4/6.1": Spec(1, rubric=(
        "N = number of classes C; p_i = the joint of (input with label i, the label i); d = C or any width "
        "matching g's output; X1 = the input space, X2 = the label set; f1 = g (the classifier's logits map "
        "or its features), f2 = the one-hot (or weight-row) embedding of a label, so that f1(x)ᵀf2(y) is the "
        "logit of class y. Must make the dual-encoder loss equal the cross-entropy term by term.")),
    "mit-hw4/6.2": Spec(0.5, rubric=(
        "The classifier's prediction is the arg-max over labels of f1(x)ᵀf2(y), the same rule as the contrastive "
        "accuracy of Question 4 (the positive must have the uniquely largest logit), so the two accuracies "
        "coincide.")),
    **{f"mit-hw4/7a.{r}": Spec(0.5) for r in ("i", "ii", "iii", "iv", "v", "vi")},
    "mit-hw4/7b": Spec(1),
    "mit-hw4/8a": Spec(1),
    "mit-hw4/8b.i": Spec(1),
    "mit-hw4/8b.ii": Spec(1),
    "mit-hw4/8b.iii": Spec(1),
    # -- vae-simclr (001_aff95133276054f6.txt; 1a's 3 points split between the derivation and the ELBO) --------
    "vae-simclr/1a": Spec(2),
    "vae-simclr/1a.elbo": Spec(1, "vae", targets=("cal(L)", "L", "ELBO"), adapter="vae",
                                 key_claim="vae.elbo_decomposition"),
    "vae-simclr/1b": Spec(3, "reparam", targets=("z",)),
    "vae-simclr/1c": Spec(1, rubric=(
        "Reports what the provided notebook actually uses: encoder and decoder layer types and sizes, the latent "
        "dimension, optimizer, learning rate, batch size and number of epochs.")),
    "vae-simclr/1d": Spec(2, rubric=(
        "Shows five test digits next to their reconstructions and observes that reconstructions are blurrier / "
        "smoother than the originals: the overall shape and identity of the digit are kept, fine strokes and "
        "sharp edges are lost.")),
    "vae-simclr/1e": Spec(3, rubric=(
        "A scatter plot of the test latents coloured by digit; comments on which classes form separate clusters "
        "and which overlap, and links the overlap/compactness to the KL term pulling every posterior towards "
        "the same N(0, I) prior.")),
    "vae-simclr/1f": Spec(2, rubric=(
        "Decodes a regular grid of latent points (e.g. [-3, 3]^2) and describes the smooth transitions between "
        "digit classes across the grid, with implausible images far from the prior's mass.")),
    "vae-simclr/2a": Spec(4),
    "vae-simclr/2b": Spec(2, rubric=(
        "Large τ: the exponent flattens, all pairs weigh almost equally, the loss approaches a constant (log of "
        "the number of negatives) and gives weak gradients. Small τ: the softmax concentrates on the hardest "
        "negative (a max), sharp/unstable gradients. τ = 1: plain cosine-similarity logits in [-1, 1], a mild "
        "contrast.")),
    # -- ift6135-a23 (002/004; Q1 5-5-5-5, Q2 5-5, Q3 3-8-3-14 with 3.2 and 3.4 halved, Q4 2-2-3-3-10 with the
    #    second 3 split over 4.4/4.5 and the 10 over 4.6's three parts, Q5 15) ---------------------------------
    **{f"ift6135-a23/1.{k}": Spec(5, labels=True) for k in range(1, 5)},
    "ift6135-a23/2.1": Spec(5),
    "ift6135-a23/2.2": Spec(5),
    "ift6135-a23/3.1": Spec(3),
    "ift6135-a23/3.2a": Spec(4),
    "ift6135-a23/3.2b": Spec(4),
    "ift6135-a23/3.3": Spec(3),
    "ift6135-a23/3.4a": Spec(7),
    "ift6135-a23/3.4b": Spec(7),
    "ift6135-a23/4.1": Spec(2),
    "ift6135-a23/4.2": Spec(2),
    "ift6135-a23/4.3": Spec(3),
    "ift6135-a23/4.4": Spec(1.5),
    "ift6135-a23/4.5": Spec(1.5, rubric=(
        "The losses measure the two players against each other, not image quality: if generator and "
        "discriminator improve at the same pace the losses stay put while the samples get better (or both "
        "can be stuck); loss values alone say nothing about sample quality.")),
    "ift6135-a23/4.6.dstar": Spec(3, "gan-theory", targets=("D^*", "D"), forbid=("D^*",), adapter="gan_theory"),
    "ift6135-a23/4.6a": Spec(4, "gan-theory", targets=("JSD",), forbid=("f_0", "f_1", "mu"),
                              forbid_ops=("kl", "jsd"), adapter="gan_theory", key_claim="gan_theory.jsd_from_discriminator"),
    "ift6135-a23/4.6b": Spec(3, "gan-theory", targets=("f_1",), forbid=("f_1", "mu"), adapter="gan_theory"),
    "ift6135-a23/5": Spec(15, rubric=(
        "A one-page review of SimCLR with the four sections asked for (summary, strengths, weaknesses, "
        "reflections), each answering the sheet's guiding questions in the student's own words: what the "
        "method does (two augmented views, NT-Xent loss, projection head, large batches), what its evidence "
        "is, its limitations (compute, batch size, augmentation design) and connections to the course.")),
    # -- ift6135-h22 (003_6d1f8bd69ec35d2c.txt; Q1 5-5-6 with 1.3 split in three, Q2 5-5-5 over four cases,
    #    Q3 6-4, Q4 4-3-6 with 4.3 split 4/2, Q5 4-2-8-4-2 with 5.3 split 4/4) ---------------------------------
    "ift6135-h22/1.1": Spec(5),
    "ift6135-h22/1.2": Spec(5),
    "ift6135-h22/1.3a": Spec(2, rubric=(
        "In the best case the instance-wise q_i* is at least as good as the amortized q_φ*(z|x_i) for every "
        "x_i (the amortized family is a restriction), so its ELBO is tighter: the amortized posterior has a "
        "larger (or equal) KL gap / bias (the amortization gap).")),
    "ift6135-h22/1.3b": Spec(2, rubric=(
        "Amortized inference needs one encoder pass per data point at test time; instance-wise inference needs "
        "a separate optimization per data point, so it is far slower.")),
    "ift6135-h22/1.3c": Spec(2, rubric=(
        "Amortized: one set of encoder weights shared by all points. Instance-wise: variational parameters "
        "stored for every data point, growing with the data set.")),
    **{f"ift6135-h22/2.{k}": Spec(3.75, labels=True) for k in range(1, 5)},
    "ift6135-h22/3.1": Spec(6),
    "ift6135-h22/3.2": Spec(4),
    "ift6135-h22/4.1": Spec(4, "gan-dynamics", targets=("A",)),
    "ift6135-h22/4.2": Spec(3, "gan-dynamics", point_vars=("d", "g")),
    "ift6135-h22/4.3": Spec(4, "gan-dynamics", targets=("lambda", "lambda_1,2", "lambda_12")),
    "ift6135-h22/4.3.behaviour": Spec(2),
    "ift6135-h22/5.1": Spec(4),
    "ift6135-h22/5.2": Spec(2, "simsiam", targets=("dot(W)_p", "dot(W_p)"), key_claim="simsiam.predictor_gradient"),
    "ift6135-h22/5.3": Spec(4, "simsiam", targets=("dot(W)",), key_claim="simsiam.no_stopgrad_gradient"),
    "ift6135-h22/5.3.H": Spec(4, "simsiam", targets=("H",), key_claim="simsiam.no_stopgrad_h"),
    "ift6135-h22/5.4": Spec(4, "simsiam", targets=("H",), key_claim="simsiam.identity_predictor_h"),
    "ift6135-h22/5.5": Spec(2, rubric=(
        "Without them the gradient flow shrinks W towards 0 (collapse, as 5.3-5.4 show: H is positive "
        "definite). The stop-gradient removes the target branch's pull and the predictor breaks the symmetry "
        "between the branches, so the dynamics have non-collapsed solutions (e.g. W_pᵀW_p - WWᵀ is conserved).")),
}


@dataclass(frozen=True)
class Question:
    """A gradable question: the catalogue entry plus its grading spec."""

    id: str
    kind: str
    spec: Spec
    catalogue_spec: dict = field(compare=False, hash=False, default_factory=dict)

    @property
    def points(self) -> float:
        return self.spec.points

    @property
    def options(self) -> list:
        return [str(o) for o in self.catalogue_spec.get("options", [])]

    @property
    def keys(self) -> list:
        return [str(k) for k in self.catalogue_spec.get("keys", [])]

    @property
    def ask(self) -> str:
        return self.catalogue_spec.get("ask", "")

    @property
    def context(self) -> Optional[Context]:
        return contexts()[self.spec.context] if self.spec.context else None

    def describe(self) -> dict:
        ctx = self.context
        return {
            "question": self.id, "kind": self.kind, "points": self.points, "ask": self.ask,
            "options": self.options or None, "keys": self.keys or None,
            "notation": ctx.description if ctx else None,
        }


@functools.lru_cache(maxsize=None)
def questions() -> dict:
    """Every catalogue question with its grading spec (a missing spec is an error)."""
    out = {}
    missing = []
    for qid, q in catalogue.questions().items():
        spec = SPECS.get(qid)
        if spec is None:
            missing.append(qid)
            continue
        out[qid] = Question(qid, q.kind, spec, dict(q.spec))
    if missing:
        raise KeyError(f"grading specs missing for catalogue questions: {', '.join(missing)}")
    return out


def question(qid: str) -> Question:
    qs = questions()
    if qid not in qs:
        from derivcheck.catalogue import did_you_mean

        raise KeyError(f"unknown question {qid!r}." + did_you_mean(qid, qs))
    return qs[qid]
