"""Tests for the masked-convolution receptive-field claims (ift6135-a23/1, ift6135-h22/2)."""
from __future__ import annotations

import numpy as np
import pytest

from derivcheck import REGISTRY, Verdict, load_all
from derivcheck.derivations import masked_conv as sym
from derivcheck.derivations import prove
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic

load_all()

FIELD_IDS = {case: f"masked_conv.field_{name}" for case, name in sym.CASE_NAMES.items()}

def test_masks_follow_the_sheets_definition():
    assert sym.mask("A").tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert sym.mask("B").tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError):
        sym.mask("C")


def test_pixel_labels_and_raster_past():
    assert sym.label(3, 3) == 33
    assert sym.raster_past() == (11, 12, 13, 14, 15, 21, 22, 23, 24, 25, 31, 32)


@pytest.mark.parametrize("case", sorted(FIELD_IDS))
def test_field_claims_hold(case):
    c = REGISTRY.get(FIELD_IDS[case])
    assert run_symbolic(c).verdict is Verdict.HOLDS
    assert tuple(sorted(c.answer)) == sym.receptive_field(*sym.CASES[case])


def test_every_field_claim_declares_wrong_variants():
    """Wrong fields live on the claims (rejects=[...]); the pytest plugin runs them on both sides."""
    for cid in FIELD_IDS.values():
        assert len(REGISTRY.get(cid).wrong_variants()) >= 2


def test_torch_gradient_pattern_matches_symbolic_propagation():
    from derivcheck.numerics import masked_conv as num

    for first, second in sym.CASES.values():
        grad = num.gradient_pattern(first, second, seed=3)
        assert num.field_from_gradient(grad) == sym.receptive_field(first, second)
        assert grad[grad != 0].min() >= num.W_LOW**2  # path products are bounded below


def test_answer_set_caption_claim_is_refuted_and_its_correction_holds():
    c = REGISTRY.get("masked_conv.answer_set_h22_case1_caption")
    assert c.expect is Verdict.FAILS and "003_6d1f8bd69ec35d2c.txt" in c.note
    assert run_symbolic(c).verdict is Verdict.FAILS
    assert run_symbolic(c.variant(answer=sym.FIELD_KEY[("A", "A")])).verdict is Verdict.HOLDS
    for conf in REGISTRY.confirmations(c.id):
        assert run_numeric(conf, answer=c.answer).verdict is Verdict.FAILS


def test_claims_without_answer_hold_and_a_wrong_relation_fails():
    for cid in ("masked_conv.ab_equals_ba", "masked_conv.causality_and_blind_spot"):
        assert run_symbolic(REGISTRY.get(cid)).verdict is Verdict.HOLDS
        for conf in REGISTRY.confirmations(cid):
            assert run_numeric(conf).verdict is Verdict.HOLDS
    reg = Registry()

    @reg.claim("masked_conv.wrong_ab_equals_aa", questions=["ift6135-a23/1.2"], statement="RF_AB = RF_AA")
    def wrong():
        return prove.same_set(sym.receptive_field("A", "B"), sym.receptive_field("A", "A"))

    assert run_symbolic(reg.get("masked_conv.wrong_ab_equals_aa")).verdict is Verdict.FAILS

    @reg.claim("masked_conv.wrong_blind_spot", questions=["ift6135-a23/1.4"], statement="25 in RF_BB")
    def wrong_blind_spot():
        return prove.true(25 in sym.receptive_field("B", "B"))

    assert run_symbolic(reg.get("masked_conv.wrong_blind_spot")).verdict is Verdict.FAILS


def test_grid_image_is_small_rgb_in_unit_range():
    from derivcheck.numerics import masked_conv as num

    img = np.array(num.grid_image(sym.FIELD_KEY[("A", "A")], claimed=sym.FIELD_KEY[("A", "B")]))
    assert img.shape == (5, 5, 3)  # one pixel per cell; the report draws the cells and their labels
    assert img.min() >= 0 and img.max() <= 1
    # the two wrongly claimed pixels (24, 32) are drawn red
    red = np.abs(img - np.array([0.85, 0.15, 0.15])).sum(axis=2) < 1e-9
    labels = np.array(num.grid_labels())
    assert sorted(labels[red].tolist()) == [24, 32]
    assert labels[2, 2] == 33


def test_four_grid_plot_is_produced():
    conf = REGISTRY.confirmations("masked_conv.causality_and_blind_spot")[0]
    result = run_numeric(conf)
    (plot,) = result.plots
    assert plot.kind == "images" and len(plot.series) == 4
    assert all(len(s.image) <= 32 for s in plot.series)
