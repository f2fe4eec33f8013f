"""Whether a claim may back a key: its verified status, read from the results store where results exist.

:func:`verify_claim` answers for one claim, in this order:

1. **The results store** (:mod:`derivcheck.store`, written by ``derivcheck verify``): a stored record
   of the same claim (same expectation and answer) decides.  ``verified`` (the symbolic check and
   every numeric confirmation that ran agree with the expectation) is accepted; ``symbolic-only`` is
   accepted only for a claim that declares no numeric confirmation; ``failed`` and ``inconclusive``
   raise :class:`AnswerKeyError`.  Nothing is re-run at grade time.
2. **No stored result**: a claim written as data (:mod:`derivcheck.derivations.records`) has both
   sides run (they are quick); a Python claim's symbolic check is run once per process, and once per change of
   its source when the on-disk cache is enabled (``store.cache_dir()/grading-keys.json``, never the
   current folder; ``DERIVCHECK_KEY_CACHE=0`` disables it).  Only passing verifications are cached.

Either way a claim that does not verify raises :class:`AnswerKeyError`: grading against an
unverified key is refused.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from pathlib import Path
from typing import Optional

import sympy as sp

from derivcheck.model import Claim


class AnswerKeyError(RuntimeError):
    """A key entry is backed by a claim that does not verify (or is malformed)."""


_lock = threading.Lock()
_verified: dict = {}


def cache_path() -> Path:
    """Where passing symbolic verifications are cached (in derivcheck's cache folder)."""
    from derivcheck import store

    return store.cache_dir() / "grading-keys.json"


def fingerprint(answer) -> str:
    if isinstance(answer, dict):
        return repr(sorted((str(k), str(v).lower()) for k, v in answer.items()))
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        return repr(sorted(a.lower() for a in answer))
    if isinstance(answer, str):
        return answer.strip().lower()
    return sp.srepr(answer) if isinstance(answer, sp.Basic) else repr(answer)


def _fingerprint_claim(c: Claim) -> str:
    """Changes whenever the claim's module, the proof helpers or the answer change."""
    h = hashlib.sha256()
    h.update(c.id.encode())
    h.update(fingerprint(c.answer).encode())
    h.update(c.statement.encode())
    for mod in (c.module, "derivcheck.derivations.prove", "derivcheck.runner"):
        try:
            path = importlib.import_module(mod).__file__
            h.update(Path(path).read_bytes())
        except (ImportError, OSError, TypeError):
            h.update(b"?")
    return h.hexdigest()


def _disk_cache_enabled() -> bool:
    return os.environ.get("DERIVCHECK_KEY_CACHE", "1") not in ("0", "", "no", "off")


def _read_disk_cache() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_disk_cache(claim_id: str, record: dict) -> None:
    try:
        path = cache_path()
        data = _read_disk_cache()
        data[claim_id] = record
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only cache only costs a re-verification next time
        pass


def stored_record(c: Claim) -> Optional[dict]:
    """The results store's record of ``c`` when it is about the same statement (expectation and
    answer unchanged), else None (no store, no result for it, or an unreadable store)."""
    try:
        from derivcheck import store

        rec = store.claim_record(c.id)
    except (ImportError, OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("expect") != c.expect.value:
        return None
    if rec.get("answer") != c.describe().get("answer"):
        return None  # the claim changed since the stored run
    return rec


def verify_claim(c: Claim) -> dict:
    """How ``c`` is known to verify (a dict with ``claim``, ``verdict``, ``source``...); raises
    AnswerKeyError when it does not (see the module docstring for where the status comes from)."""
    with _lock:
        hit = _verified.get(c.id)
    if hit is None:
        rec = stored_record(c)
        if rec is not None:
            hit = _from_store(c, rec)
    if hit is None and _disk_cache_enabled():
        cached = _read_disk_cache().get(c.id)
        if isinstance(cached, dict) and cached.get("fingerprint") == _fingerprint_claim(c) and \
                cached.get("verdict") == c.expect.value:
            hit = dict(cached, cached=True)
    if hit is None and c.module == DATA_CLAIMS:
        hit = _run_both_sides(c)
    if hit is None:
        from derivcheck.runner import run_symbolic

        res = run_symbolic(c)
        hit = {"claim": c.id, "verdict": res.verdict.value, "expect": c.expect.value, "method": res.method,
               "residual": res.residual, "detail": res.detail, "elapsed_s": round(res.elapsed_s, 3),
               "source": "symbolic check run by the grader (no stored result)"}
        if _disk_cache_enabled() and hit["verdict"] == hit["expect"]:
            _write_disk_cache(c.id, dict(hit, fingerprint=_fingerprint_claim(c)))
    if getattr(c, "provenance", ""):
        hit = dict(hit, provenance=c.provenance)  # the grader says where such a key comes from
    with _lock:
        _verified[c.id] = hit
    if hit["verdict"] != hit["expect"]:
        raise AnswerKeyError(
            f"the key claim {c.id} does not verify: {hit.get('source', 'its check')} gives {hit['verdict']} "
            f"(expected {hit['expect']}; {hit.get('method', '')}; residual {hit.get('residual')}). "
            "Grading against an unverified key is refused; fix the claim or remove it from the key."
        )
    return hit


DATA_CLAIMS = "derivcheck.derivations.records"


def _run_both_sides(c: Claim) -> dict:
    """A data claim's checks are quick: with no stored result, both sides are run (status verified needed)."""
    from derivcheck.registry import REGISTRY
    from derivcheck.runner import verify

    out = verify([c], registry=REGISTRY)[0]
    return _from_store(c, out.to_dict()) or {"claim": c.id, "expect": c.expect.value, "verdict": "inconclusive",
                                             "status": out.status, "source": "checks run by the grader"}


def _from_store(c: Claim, rec: dict) -> Optional[dict]:
    status = rec.get("status")
    base = {"claim": c.id, "expect": c.expect.value, "status": status, "source": "results store",
            "method": (rec.get("symbolic") or {}).get("method", ""),
            "residual": (rec.get("symbolic") or {}).get("residual")}
    if status == "verified":
        return dict(base, verdict=c.expect.value)
    if status == "transcribed":  # both sides agree, but the data come from an answer set's figures
        return dict(base, verdict=c.expect.value, provenance=c.provenance)
    if status in ("symbolic-only", "definition"):
        if not rec.get("numeric_declared", len(rec.get("numeric") or ())):
            return dict(base, verdict=c.expect.value, note="no numeric confirmation is declared for this claim")
        return None  # its numeric side was not run in that profile: decide as if there were no result
    verdict = "fails" if c.expect.value == "holds" else "holds"
    if status == "inconclusive":
        verdict = "inconclusive"
    return dict(base, verdict=verdict)


def status_of(c: Claim) -> tuple:
    """(verified: bool, how: dict) without raising: for listings and option keys."""
    try:
        return True, verify_claim(c)
    except AnswerKeyError as exc:
        with _lock:
            hit = _verified.get(c.id, {})
        return False, dict(hit, error=str(exc))


def reset() -> None:
    with _lock:
        _verified.clear()
