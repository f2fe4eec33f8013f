"""Numeric confirmations for ``derivations/masked_conv.py``.

A real two-layer masked convolution network is built with Torch
(``nn.Conv2d`` layers whose weights are multiplied by the sheets' masks in
every forward pass; 1 input channel, 4 hidden channels, 1 output channel,
3x3 kernels, padding 1, float64).  The receptive field of output pixel 33
is read off the *non-zero pattern of the input gradient* of that output.

Why the pattern is exact: all weights are drawn from [0.5, 1.5] and there is
no non-linearity, so every entry of the input gradient is a sum of products
of positive numbers, one product per path through the masked kernels.  An
entry is exactly 0.0 when no path exists (the backward pass multiplies
only zeros into it) and at least 0.5^2 = 0.25 otherwise; the evidence also
checks that the smallest non-zero entry is far above the roundoff bound,
so the zero / non-zero split cannot be a floating-point artefact.
"""
from __future__ import annotations

import numpy as np

from derivcheck import NumericResult, Plot, Series, confirms
from derivcheck.derivations import masked_conv as sym

from . import evidence
from .torchkit import seeded, single_threaded, torch

HIDDEN = 4
W_LOW, W_HIGH = 0.5, 1.5


def _mask_tensor(kind: str):
    t = torch()
    return t.tensor(np.array(sym.mask(kind).tolist(), dtype=float), dtype=t.float64)


def build_network(first: str, second: str, seed: int):
    """Two masked conv2d layers (no kernel flipping: Torch's conv2d is a cross-correlation)."""
    t = torch()
    nn = t.nn

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, cin, cout, kind):
            super().__init__(cin, cout, 3, padding=1, bias=False, dtype=t.float64)
            self.register_buffer("mask", _mask_tensor(kind).expand_as(self.weight).clone())

        def forward(self, x):
            return t.nn.functional.conv2d(x, self.weight * self.mask, padding=1)

    gen = seeded(seed)
    net = nn.Sequential(MaskedConv2d(1, HIDDEN, first), MaskedConv2d(HIDDEN, 1, second))
    with t.no_grad():
        for layer in net:
            layer.weight.copy_(W_LOW + (W_HIGH - W_LOW) * t.rand(layer.weight.shape, generator=gen,
                                                                  dtype=t.float64))
    return net


def gradient_pattern(first: str, second: str, seed: int, pixel=(3, 3)) -> np.ndarray:
    """|d output[pixel] / d input| as a 5x5 array (rows and columns 1..5 map to 0..4)."""
    t = torch()
    net = build_network(first, second, seed)
    x = t.rand((1, 1, sym.SIZE, sym.SIZE), generator=seeded(seed + 1), dtype=t.float64).requires_grad_(True)
    y = net(x)
    (grad,) = t.autograd.grad(y[0, 0, pixel[0] - 1, pixel[1] - 1], x)
    return grad[0, 0].abs().numpy()


def field_from_gradient(grad: np.ndarray) -> tuple:
    return tuple(sym.label(r + 1, c + 1) for r in range(sym.SIZE) for c in range(sym.SIZE) if grad[r, c] != 0.0)


def _roundoff_scale() -> tuple[int, float]:
    """(n_ops, scale) for one gradient entry: at most 9 x HIDDEN x 9 products of two weights
    (each <= W_HIGH), summed: n_ops <= 2 x 9 x HIDDEN x 9."""
    n_terms = 9 * HIDDEN * 9
    return 2 * n_terms, n_terms * W_HIGH**2


def grid_image(field, claimed=None, pixel=(3, 3)) -> list:
    """The 5x5 map as a 5x5 RGB picture, one pixel per cell: field cells blue, pixel 33 orange
    (purple when in the field); with ``claimed``, cells claimed but not measured red, measured but
    not claimed yellow.  :func:`grid_labels` gives each cell's label (the report writes it in)."""
    img = np.ones((sym.SIZE, sym.SIZE, 3))
    field = set(field)
    claimed = None if claimed is None else set(claimed)
    for r in range(1, sym.SIZE + 1):
        for c in range(1, sym.SIZE + 1):
            lab = sym.label(r, c)
            colour = (0.92, 0.92, 0.92)
            if lab in field:
                colour = (0.22, 0.45, 0.80)
            if claimed is not None and (lab in claimed) != (lab in field):
                colour = (0.85, 0.15, 0.15) if lab in claimed else (0.95, 0.80, 0.10)
            if (r, c) == tuple(pixel):
                colour = (0.55, 0.20, 0.70) if lab in field else (1.0, 0.55, 0.10)
            img[r - 1, c - 1] = colour
    return img.round(4).tolist()


def grid_labels() -> list:
    """The sheets' pixel labels of the 5x5 map (row digit then column digit), as a 5x5 list."""
    return [[sym.label(r, c) for c in range(1, sym.SIZE + 1)] for r in range(1, sym.SIZE + 1)]


def _case_evidence(first: str, second: str, claimed, seed: int) -> tuple[list, tuple, np.ndarray]:
    grad = gradient_pattern(first, second, seed)
    measured = field_from_gradient(grad)
    claimed = {int(p) for p in claimed}
    labels = {sym.label(r + 1, c + 1): grad[r, c] for r in range(sym.SIZE) for c in range(sym.SIZE)}
    claimed_zero = sorted(p for p in claimed if labels.get(p, 0.0) == 0.0)
    unclaimed_nonzero = sorted(p for p, g in labels.items() if g != 0.0 and p not in claimed)
    n_ops, scale = _roundoff_scale()
    nonzero = grad[grad != 0.0]
    ev = [
        evidence.compare(
            f"claimed pixels with zero input gradient ({first} then {second})", len(claimed_zero), 0,
            tolerance=0.0, rule="exact count: a claimed pixel the output does not depend on is a counterexample",
            error=0.0, error_kind="exact", n=len(claimed), seed=seed,
            detail=f"pixels {claimed_zero}" if claimed_zero else "",
        ),
        evidence.compare(
            f"unclaimed pixels with non-zero input gradient ({first} then {second})", len(unclaimed_nonzero), 0,
            tolerance=0.0, rule="exact count: an unclaimed pixel the output depends on is a counterexample",
            error=0.0, error_kind="exact", n=sym.SIZE**2 - len(claimed), seed=seed,
            detail=f"pixels {unclaimed_nonzero}" if unclaimed_nonzero else "",
        ),
        evidence.roundoff(
            f"smallest non-zero |gradient| ({first} then {second}) is not roundoff", float(nonzero.min()), 0.0,
            n_ops=n_ops, scale=scale, relation=">", seed=seed,
            detail=f"path products are >= {W_LOW**2}; Torch field {list(measured)}",
        ),
    ]
    return ev, measured, grad


def _field_confirmation(first: str, second: str):
    def run(ctx):
        ev, measured, _ = _case_evidence(first, second, ctx.answer, ctx.seed)
        plot = Plot(
            f"Receptive field of pixel 33, mask {first} then {second}: Torch gradient vs claim",
            kind="images", ncols=1,
            series=[Series(f"{first} then {second}", image=grid_image(measured, claimed=ctx.answer),
                           cell_labels=grid_labels())],
            caption="Blue: pixels with non-zero input gradient that the claim lists; red: claimed but no "
                    "gradient; yellow: gradient but not claimed; orange/purple: pixel 33 (purple when it is "
                    "in the field).",
        )
        return NumericResult(evidence=ev, plots=[plot])

    run.__name__ = f"torch_gradient_{first.lower()}{second.lower()}"
    run.__doc__ = f"Non-zero input-gradient pattern of a masked Torch network ({first} then {second})."
    return single_threaded(run)


for _q, (_first, _second) in sym.CASES.items():
    confirms(f"masked_conv.field_{sym.CASE_NAMES[_q]}")(_field_confirmation(_first, _second))
confirms("masked_conv.answer_set_h22_case1_caption")(_field_confirmation("A", "A"))


@confirms("masked_conv.ab_equals_ba")
@confirms("masked_conv.causality_and_blind_spot")
@single_threaded
def torch_all_cases(ctx):
    """All four fields from Torch gradients: AB = BA = AA + {24, 32}, containment in the raster
    past, self-connection only for B then B, pixel 25 never reached; draws the four grids."""
    fields = {}
    for first, second in sym.CASES.values():
        fields[(first, second)] = set(field_from_gradient(gradient_pattern(first, second, ctx.seed)))
    past = set(sym.raster_past())
    ev = []

    def count(quantity, bad, n, rule):
        ev.append(evidence.compare(quantity, len(bad), 0, tolerance=0.0, rule=rule, error=0.0, error_kind="exact",
                                   n=n, seed=ctx.seed, detail=f"offending pixels {sorted(bad)}" if bad else ""))

    ab, ba, aa = fields[("A", "B")], fields[("B", "A")], fields[("A", "A")]
    count("pixels in exactly one of the AB and BA fields", ab ^ ba, 25, "exact set comparison")
    count("pixels where AB differs from AA + {24, 32}", ab ^ (aa | {24, 32}), 25, "exact set comparison")
    for (first, second), field in fields.items():
        count(f"{first}{second}: field pixels after 33 in raster order", field - past - {33}, 25,
              "exact count (causality)")
        wrong_self = {33} if (33 in field) != (first == second == "B") else set()
        count(f"{first}{second}: pixel 33 in the field iff both masks are B (violations)", wrong_self, 1,
              "exact check")
        count(f"{first}{second}: blind-spot pixel 25 in the field", field & {25}, 1, "exact check")
    series = [Series(f"{first} then {second} ({len(field)} px)", image=grid_image(field),
                     cell_labels=grid_labels())
              for (first, second), field in fields.items()]
    plot = Plot("Receptive field of output pixel 33 (from Torch input gradients)", kind="images", ncols=4,
                series=series,
                caption="Blue: input pixels that output pixel 33 depends on after two masked 3x3 convolutions; "
                        "orange: pixel 33 itself (purple when it is inside the field, only for B then B). Pixel 25 "
                        "is never reached (the blind spot).")
    return NumericResult(evidence=ev, plots=[plot])
