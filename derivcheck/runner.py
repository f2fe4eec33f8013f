"""Running checks: claims -> checks -> results.

Each check runs under its time limit; an exception or a timeout becomes an
``inconclusive`` result that says what happened, never a crash of the run.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from .limits import CheckTimeout, time_limit
from .model import Claim, Confirmation, NumericContext, NumericResult, SymbolicResult, Verdict, training_seconds, trainings
from .registry import REGISTRY, Registry

_UNSET = object()


def _failure_detail(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_symbolic(claim: Claim, answer: Any = _UNSET) -> SymbolicResult:
    """Run the claim's SymPy check (with ``answer`` replacing the claim's)."""
    answer = claim.answer if answer is _UNSET else answer
    start = time.perf_counter()
    try:
        with time_limit(claim.timeout_s):
            result = claim.check(answer) if claim.takes_answer else claim.check()
        if not isinstance(result, SymbolicResult):
            result = SymbolicResult(
                Verdict.INCONCLUSIVE,
                method="invalid check",
                detail=f"the check returned {type(result).__name__}, not a SymbolicResult",
            )
    except CheckTimeout as exc:
        result = SymbolicResult(Verdict.INCONCLUSIVE, method="timeout", detail=str(exc))
    except Exception as exc:  # a broken check is reported, not raised
        result = SymbolicResult(Verdict.INCONCLUSIVE, method="error", detail=_failure_detail(exc))
    result.check = f"{claim.module}.{claim.check.__name__}"
    result.elapsed_s = time.perf_counter() - start
    return result


def check_seed(conf: Confirmation, base_seed: Optional[int] = None) -> int:
    """The seed of one confirmation: its fixed seed, or (with a run base seed) a seed derived from the
    base seed and the confirmation's name, so that it is the same whichever worker runs it."""
    if base_seed is None:
        return conf.seed
    from .registry import stable_seed

    return stable_seed(f"{int(base_seed)}/{conf.qualname}")


def run_numeric(conf: Confirmation, *, answer: Any = None, full: bool = False,
                seed: Optional[int] = None) -> NumericResult:
    """Run one numeric confirmation with its fixed seed (or one derived from the run's base ``seed``)."""
    start = time.perf_counter()
    trained_before = training_seconds()
    used_seed = check_seed(conf, seed)
    ctx = NumericContext(seed=used_seed, answer=answer, full=full, claim_id=conf.claim_id)
    try:
        with time_limit(conf.timeout_s):
            result = conf.run(ctx)
        if not isinstance(result, NumericResult):
            result = NumericResult(
                verdict=Verdict.INCONCLUSIVE,
                detail=f"the confirmation returned {type(result).__name__}, not a NumericResult",
            )
        elif not result.evidence and result.verdict is Verdict.INCONCLUSIVE and not result.detail:
            result.detail = "the confirmation produced no evidence"
    except CheckTimeout as exc:
        result = NumericResult(verdict=Verdict.INCONCLUSIVE, detail=f"timeout: {exc}")
    except Exception as exc:
        result = NumericResult(verdict=Verdict.INCONCLUSIVE, detail=f"error: {_failure_detail(exc)}")
    result.check = f"{conf.module}.{conf.name}"
    result.seed = used_seed
    # a training cached per process is charged to the training (document()["trainings"]), not to the
    # check that happened to run it first
    result.training_s = training_seconds() - trained_before
    result.elapsed_s = time.perf_counter() - start - result.training_s
    return result


def skipped_numeric(conf: Confirmation, reason: str) -> NumericResult:
    return NumericResult(
        verdict=Verdict.INCONCLUSIVE, check=f"{conf.module}.{conf.name}", seed=conf.seed, skipped=reason
    )


# Claim status, from the checks' verdicts and the claim's expectation.
VERIFIED = "verified"            # symbolic and every numeric check agree with the expectation
SYMBOLIC_ONLY = "symbolic-only"  # symbolic agrees; no numeric confirmation ran (none declared, or skipped)
FAILED = "failed"                # some check gave the opposite of the expectation
INCONCLUSIVE = "inconclusive"    # some check could not decide (timeout, error, too little evidence)
DEFINITION = "definition"        # the checks agree, but the claim only restates a definition (kind="definition")
TRANSCRIBED = "transcribed"      # the checks agree, but the key's data are transcribed (claim.provenance)
STATUSES = (VERIFIED, SYMBOLIC_ONLY, DEFINITION, TRANSCRIBED, FAILED, INCONCLUSIVE)


@dataclass
class ClaimOutcome:
    claim: Claim
    symbolic: SymbolicResult
    numeric: list = field(default_factory=list)
    declared_numeric: int = 0

    @property
    def status(self) -> str:
        expected = self.claim.expect
        opposite = Verdict.FAILS if expected is Verdict.HOLDS else Verdict.HOLDS
        ran = [r for r in self.numeric if not r.skipped]
        verdicts = [self.symbolic.verdict] + [r.verdict for r in ran]
        if any(v is opposite for v in verdicts):
            return FAILED
        if any(v is not expected for v in verdicts):
            return INCONCLUSIVE
        if self.claim.provenance:
            return TRANSCRIBED
        if self.claim.kind == "definition":
            return DEFINITION
        return VERIFIED if ran else SYMBOLIC_ONLY

    @property
    def ok(self) -> bool:
        return self.status in (VERIFIED, SYMBOLIC_ONLY, DEFINITION, TRANSCRIBED)

    def to_dict(self) -> dict:
        d = self.claim.describe()
        d["status"] = self.status
        d["symbolic"] = self.symbolic.to_dict()
        d["numeric"] = [r.to_dict() for r in self.numeric]
        d["numeric_declared"] = self.declared_numeric
        if not self.declared_numeric:
            d["numeric_missing"] = "this claim has no numeric confirmation"
        return d


ProgressFn = Callable[[str, str, Any], None]


def _units(claims, registry: Registry, full: bool) -> list:
    """The run's work units, in serial order: ("symbolic", claim id) and ("numeric", module, [(claim id,
    confirmation name), ...]); the numeric checks of one topic module form one unit so that a training
    shared by several checks runs once."""
    units, by_module = [], {}
    for c in claims:
        units.append(("symbolic", c.id))
        for conf in registry.confirmations(c.id):
            if conf.slow and not full:
                continue
            if conf.module not in by_module:
                by_module[conf.module] = ("numeric", conf.module, [])
                units.append(by_module[conf.module])
            by_module[conf.module][2].append((c.id, conf.name))
    return units


def _run_unit(unit, full: bool, seed: Optional[int], extra_questions=()):
    """Run one unit (in a worker process): returns [(key, result)], key = claim id or qualname.
    ``extra_questions``: the parent's ``--questions`` files, so that their data claims exist here too."""
    from .registry import load_all

    if extra_questions:
        from . import catalogue

        catalogue.use_questions(list(extra_questions))
    load_all()
    if unit[0] == "symbolic":
        return [(unit[1], run_symbolic(REGISTRY.get(unit[1]))), ("__trainings__", trainings())]
    out = []
    for cid, name in unit[2]:
        conf = next(k for k in REGISTRY.confirmations(cid) if k.name == name)
        out.append((conf.qualname, run_numeric(conf, answer=REGISTRY.get(cid).answer, full=full, seed=seed)))
    out.append(("__trainings__", trainings()))
    return out


#: trainings of the last verify() (name -> seconds), also in document()
LAST_TRAININGS: dict = {}


def verify(
    claims: Optional[Iterable[Claim]] = None,
    *,
    registry: Registry = REGISTRY,
    full: bool = False,
    progress: Optional[ProgressFn] = None,
    seed: Optional[int] = None,
    jobs: int = 1,
) -> list[ClaimOutcome]:
    """Run every check of ``claims`` (default: all) and collect outcomes.

    ``progress(kind, name, result)`` is called after each check.  ``seed``: a run base seed from
    which every numeric confirmation's seed is derived (default: their fixed seeds).  ``jobs > 1``
    runs the checks on a process pool (the project's registry only); each check's seed depends on
    the check, not on the worker, so the outcomes are those of the serial run, timings aside.
    """
    claims = list(registry if claims is None else claims)
    LAST_TRAININGS.clear()
    if jobs > 1 and registry is REGISTRY:
        return _verify_parallel(claims, full=full, progress=progress, seed=seed, jobs=jobs)
    before = trainings()
    outcomes = []
    for c in claims:
        sym = run_symbolic(c)
        if progress:
            progress("symbolic", c.id, sym)
        confs = registry.confirmations(c.id)
        numeric = []
        for conf in confs:
            if conf.slow and not full:
                res = skipped_numeric(conf, "long training: runs with --full")
            else:
                res = run_numeric(conf, answer=c.answer, full=full, seed=seed)
            if progress:
                progress("numeric", conf.qualname, res)
            numeric.append(res)
        outcomes.append(ClaimOutcome(c, sym, numeric, declared_numeric=len(confs)))
    LAST_TRAININGS.update({k: v - before.get(k, 0.0) for k, v in trainings().items() if v - before.get(k, 0.0) > 0})
    return outcomes


def _verify_parallel(claims, *, full, progress, seed, jobs) -> list[ClaimOutcome]:
    import concurrent.futures as cf
    import multiprocessing as mp

    units = _units(claims, REGISTRY, full)
    # the slowest units first (numeric topics), so that the pool ends together
    order = sorted(range(len(units)), key=lambda i: 0 if units[i][0] == "numeric" else 1)
    results: dict = {}
    ctx = mp.get_context("spawn")  # no fork of a process that may hold Torch or BLAS threads
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        from . import catalogue

        extra = tuple(str(p) for p in getattr(catalogue, "_extra", ()))
        futures = {pool.submit(_run_unit, units[i], full, seed, extra): i for i in order}
        for fut in cf.as_completed(futures):
            for key, res in fut.result():
                if key == "__trainings__":
                    for name, secs in res.items():  # per worker process: each worker's own totals
                        LAST_TRAININGS[name] = max(LAST_TRAININGS.get(name, 0.0), secs)
                    continue
                results[key] = res
                if progress:
                    progress("symbolic" if isinstance(res, SymbolicResult) else "numeric", key, res)
    outcomes = []
    for c in claims:
        confs = REGISTRY.confirmations(c.id)
        numeric = [results[conf.qualname] if conf.qualname in results
                   else skipped_numeric(conf, "long training: runs with --full") for conf in confs]
        outcomes.append(ClaimOutcome(c, results[c.id], numeric, declared_numeric=len(confs)))
    return outcomes


def count_checks(claims: Iterable[Claim], registry: Registry = REGISTRY) -> int:
    return sum(1 + len(registry.confirmations(c.id)) for c in claims)


def summarize(outcomes: Iterable[ClaimOutcome]) -> dict:
    outcomes = list(outcomes)
    counts = {s: 0 for s in STATUSES}
    for o in outcomes:
        counts[o.status] += 1
    return {
        "claims": len(outcomes),
        **counts,
        "numeric_missing": sum(1 for o in outcomes if not o.declared_numeric),
        "ok": all(o.ok for o in outcomes),
    }


def document(outcomes: Iterable[ClaimOutcome], *, full: bool = False) -> dict:
    """The JSON document of a run: what ``verify --json`` prints and ``report`` renders."""
    import datetime

    from . import __version__
    from .numerics import policy

    outcomes = list(outcomes)
    return {
        "derivcheck": __version__,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": "full" if full else "quick",
        "policy": policy.describe(),
        "summary": summarize(outcomes),
        "statistics": _stats_budget(outcomes),
        "trainings": {k: round(v, 3) for k, v in sorted(LAST_TRAININGS.items())},
        "claims": [o.to_dict() for o in outcomes],
    }


def _stats_budget(outcomes) -> dict:
    from .numerics import stats

    return stats.budget_report(stats.count_statistical(outcomes))
