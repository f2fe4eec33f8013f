r"""Accepted rewrites and rejected wrong variants for every expression, matrix, point and set question.

The rows come from the question records (``accept:`` / ``reject:`` in
``derivcheck/questions.yaml``, arranged by :mod:`grading.corpus`): the
question, a reference (the first accepted example, written from the sheet in
the question's notation), answers that must be accepted and answers that must
be rejected.  The wrong variants are the
errors students make: a sign, a factor, the order of non-commuting factors,
swapped distributions, a missing term, the wrong Kronecker order.

Two layers are tested:

* the engine against the reference written here (always runs, whether or not
  the topic's claim exists yet);
* ``grading.check`` against the project's key (the claim's answer).  When
  the claim does not exist yet, the question must answer ``needs-human``;
  when it does, the key must agree with the reference of the record.
"""
import pytest

from derivcheck import grading
from derivcheck.grading.answers import engine
from derivcheck.grading import keys
from derivcheck.grading.keys import AnswerKeyError, key_entry
from derivcheck.grading.questions import question
from derivcheck.grading.semantics import readings, resolve_text
from derivcheck.model import Verdict

from derivcheck.grading.corpus import SETS, TABLE  # noqa: E402


def _entry(qid):
    """The project's key entry, or None when its claim does not verify right now (that claim's own
    test in ``pytest derivations`` reports it; here the reference written above is used instead)."""
    try:
        return key_entry(qid)
    except AnswerKeyError:
        return None


def _cases(table, which):
    for qid, row in table.items():
        for ans in row[which]:
            yield pytest.param(qid, ans, id=f"{qid}:{str(ans)[:40]}")


# -- engine layer: against the reference written here ------------------------------------
def _engine_verdict(qid, answer):
    q = question(qid)
    ref_text = TABLE[qid][0]
    key = resolve_text(ref_text, q.context)
    entry = _entry(qid)
    if entry is not None and entry.ok:
        return grading.check(qid, answer)
    # no claim yet: check against the reference with the same machinery as grading.check
    from derivcheck.grading import api

    fake = keys.KeyEntry(qid, keys.OK, claims=("reference-in-tests",), expr=key)
    return api._check_with_entry(q, fake, answer)


@pytest.mark.parametrize("qid,answer", list(_cases(TABLE, 1)))
def test_accepts_equivalent_rewrite(qid, answer):
    r = _engine_verdict(qid, answer)
    assert r.verdict == "correct", (answer, r.message)
    assert r.score == r.max_score


@pytest.mark.parametrize("qid,answer", list(_cases(TABLE, 2)))
def test_rejects_wrong_variant(qid, answer):
    r = _engine_verdict(qid, answer)
    assert r.verdict in ("incorrect", "unparseable"), (answer, r.verdict, r.message)
    assert r.score == 0


@pytest.mark.parametrize("qid,answer", list(_cases(SETS, 1)))
def test_set_accepts(qid, answer):
    r = _set_verdict(qid, answer)
    assert r.verdict == "correct", (answer, r.message)


@pytest.mark.parametrize("qid,answer", list(_cases(SETS, 2)))
def test_set_rejects(qid, answer):
    r = _set_verdict(qid, answer)
    assert r.verdict in ("incorrect", "unparseable"), (answer, r.verdict, r.message)


def _set_verdict(qid, answer):
    entry = _entry(qid)
    if entry is not None and entry.ok:
        return grading.check(qid, answer)
    from derivcheck.grading import api

    q = question(qid)
    items = [resolve_text(t, q.context) for t in SETS[qid][0]]
    fake = keys.KeyEntry(qid, keys.OK, claims=("reference-in-tests",), items=items)
    return api._check_with_entry(q, fake, answer)


# -- key layer: the project's key agrees with the reference written here -----------------
@pytest.mark.parametrize("qid", list(TABLE) + list(SETS))
def test_key_matches_reference_or_needs_human(qid):
    entry = _entry(qid)
    if entry is None:
        pytest.skip(f"the key claim for {qid} does not verify at the moment (see pytest derivations)")
    accepted = (TABLE.get(qid) or SETS.get(qid))[1][0]
    if not entry.ok:
        r = grading.check(qid, accepted)
        assert r.verdict == "needs-human"
        assert entry.message and qid in entry.message
        return
    q = question(qid)
    eng = engine(q.spec.context)
    if qid in TABLE:
        ref = resolve_text(TABLE[qid][0], q.context)
        if q.kind == "point":
            from derivcheck.grading.answers import _as_column

            ref = _as_column(ref)
        j = eng.judge(ref, "=", entry.expr)
    else:
        j = eng.same_multiset([resolve_text(t, q.context) for t in SETS[qid][0]], entry.items)
    assert j.verdict is Verdict.HOLDS, (qid, j.method, j.detail)


def test_ambiguous_log_is_reported_with_both_readings():
    """The answer set's own writing of 4.6a: log 2(1 - D*) is log(2(1-D*)) or log(2)(1-D*)."""
    text = (r"\frac{1}{2}\left(\mathbb{E}_{x\sim p_0}\left[\log 2(1-D^*(x))\right]"
            r" + \mathbb{E}_{x\sim p_1}\left[\log 2D^*(x)\right]\right)")
    rds = readings(text, question("ift6135-a23/4.6a").context)
    assert len(rds) == 2
    entry = _entry("ift6135-a23/4.6a")
    if entry is None or not entry.ok:
        pytest.skip(entry.message)
    r = grading.check("ift6135-a23/4.6a", text)
    assert r.verdict == "needs-human"
    assert "ambiguous" in r.message and "log(2·(1 - D^*))" in r.message and "log(2)·(1 - D^*)" in r.message
    assert [x["correct"] for x in r.details["readings"]] == [True, False]


# -- label sets (receptive fields): formats accepted, any wrong label rejected ---------------------
LABEL_SETS = [f"ift6135-a23/1.{k}" for k in range(1, 5)] + [f"ift6135-h22/2.{k}" for k in range(1, 5)]


@pytest.mark.parametrize("qid", LABEL_SETS)
def test_label_sets(qid):
    entry = _entry(qid)
    if entry is None or not entry.ok:
        assert grading.check(qid, [11]).verdict == "needs-human"
        return
    key = [int(x) for x in entry.items]
    for form in (key, list(reversed(key)), [str(x) for x in key], ", ".join(map(str, key)),
                 r"\{" + ", ".join(map(str, key)) + r"\}", key + key[:1]):
        assert grading.check(qid, form).verdict == "correct", form
    others = [x for x in (11, 12, 13, 14, 15, 21, 22, 23, 24, 25, 31, 32, 33, 34, 35) if x not in key]
    for form in (key[:-1], key + others[:1], [33]):
        r = grading.check(qid, form)
        assert r.verdict in ("incorrect", "unparseable") and r.score == 0, form
    r = grading.check(qid, [])  # an empty list is no answer at all
    assert r.verdict == "unanswered" and r.score == 0
