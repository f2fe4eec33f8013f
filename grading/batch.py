"""Grading many submissions: one task per submission, isolated, on one core, a process pool, or Dask.

    from derivcheck.grading.batch import collect, grade_many
    paths = collect(["subs/", "late/*.yaml"])
    for report in grade_many(paths, jobs=4):          # or dask="tcp://scheduler:8786"
        print(report.student, report.score, report.max_score)

The unit of work is :func:`grade_source` (a file's name and bytes -> a
:class:`~.results.GradeReport`).  It never raises: a file that cannot be
read becomes a report with ``error`` (file, line, column, advice) and every
other submission is still graded.  The bytes are read here, with the size
cap, so workers on other machines need no shared file system.

* ``jobs > 1``: a :class:`concurrent.futures.ProcessPoolExecutor` whose
  initializer loads (and verifies) the answer key once per worker; answers
  run in each worker's main thread, so the per-answer time limit interrupts
  (SIGALRM).  A worker that dies is not fatal: what it had not finished is
  graded again in this process.
* ``dask=ADDRESS`` (or a ``distributed.Client``): the same task through
  Dask distributed's ``Client.map``/``as_completed``; each worker process
  loads the key on its first task.  Dask runs tasks in worker threads, where
  SIGALRM cannot interrupt a running answer: there the per-answer limit is
  enforced by the evaluator's own deadline checks and the parser's size
  guards, and an answer that still overruns is marked ``timeout`` after the
  fact.

Reports come back in completion order; each carries ``source`` (the path),
and :func:`grade_many` yields ``(index, report)`` so callers can restore the
input order.
"""
from __future__ import annotations

import functools
import glob
import hashlib
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from .results import GradeReport, complete
from .submission import MAX_BYTES, SubmissionError, read_bytes

SUBMISSION_SUFFIXES = (".yaml", ".yml", ".json")


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------
# which files
# --------------------------------------------------------------------------
class NoSubmissions(ValueError):
    """A path names nothing to grade (the message says which)."""


def collect(items: Iterable[str]) -> list:
    """Submission files from files, folders (searched recursively for .yaml/.yml/.json) and globs,
    in a stable order without repeats.  Raises :class:`NoSubmissions` for a path that matches nothing."""
    out: dict = {}
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUBMISSION_SUFFIXES
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise NoSubmissions(f"{item}: no .yaml, .yml or .json files in this folder")
        elif p.exists():
            found = [p]
        elif glob.has_magic(item):
            found = sorted(Path(f) for f in glob.glob(item, recursive=True) if Path(f).is_file())
            if not found:
                raise NoSubmissions(f"{item}: no file matches this pattern")
        else:
            raise NoSubmissions(f"{item}: no such file or folder")
        for f in found:
            out.setdefault(str(f), None)
    return list(out)


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# one submission
# --------------------------------------------------------------------------
def error_report(name: str, err: SubmissionError, assignment: Optional[str] = None) -> GradeReport:
    """The report of a file that could not be read: the error, and the assignment's questions unanswered."""
    from .api import assignment_points

    rep = GradeReport(Path(name).stem, [], error=err.to_dict(), source=name,
                      assignments=(assignment,) if assignment else ())
    if assignment:
        complete(rep, assignment_points(rep.assignments))
    return rep


@functools.lru_cache(maxsize=1)
def _memo():
    """This process's memo of graded answers (a batch repeats many answers; grading is deterministic)."""
    from .api import AnswerMemo

    return AnswerMemo()


def grade_source(name: str, data: Optional[bytes], *, time_limit_s: Optional[float] = None,
                 assignment: Optional[str] = None, read_error: Optional[dict] = None,
                 memo: bool = True) -> GradeReport:
    """Grade one submission's bytes; never raises (an unreadable file gives a report with ``error``).
    ``memo``: reuse this process's results for answers already graded (same question, same answer)."""
    from .api import DEFAULT_TIME_LIMIT_S, grade
    from .keys import AnswerKeyError

    start = time.perf_counter()
    if read_error is not None:
        return error_report(name, SubmissionError(**read_error), assignment)
    try:
        rep = grade(data, name=name, time_limit_s=time_limit_s or DEFAULT_TIME_LIMIT_S, assignment=assignment,
                    memo=_memo() if memo else None)
    except SubmissionError as exc:
        rep = error_report(name, exc, assignment)
    except AnswerKeyError:
        raise  # the key itself is broken: no submission can be graded, stop the batch
    except Exception as exc:  # noqa: BLE001  (one student's file never stops the batch)
        rep = error_report(name, SubmissionError(f"internal error while grading: {type(exc).__name__}: {exc}",
                                                 file=name, advice="report this to the course staff"), assignment)
    rep.source = name
    rep.elapsed_s = time.perf_counter() - start
    return rep


def _read(path: str, max_bytes: int = MAX_BYTES) -> tuple:
    """(bytes, None) or (None, SubmissionError fields)."""
    try:
        return read_bytes(path, max_bytes), None
    except SubmissionError as exc:
        return None, {"message": exc.message, "file": exc.file, "line": exc.line, "column": exc.column,
                      "advice": exc.advice}


# --------------------------------------------------------------------------
# workers
# --------------------------------------------------------------------------
def init_worker() -> None:
    """Load the answer key (verifying its claims) and draw every notation context's instances, once per worker."""
    from .answers import engine
    from .keys import load_key
    from .questions import questions

    load_key()
    for q in questions().values():
        if q.spec.context:
            engine(q.spec.context)


def _task(name: str, data: Optional[bytes], options: dict) -> GradeReport:
    return grade_source(name, data, **options)


@functools.lru_cache(maxsize=1)
def _dask_worker_ready() -> bool:
    """The key, loaded once per Dask worker process (the first task on a worker pays for it)."""
    init_worker()
    return True


def dask_task(name: str, data: Optional[bytes], options: dict) -> dict:
    """The Dask task; a plain dict crosses the wire."""
    _dask_worker_ready()
    return _task(name, data, options).to_dict("staff")


# --------------------------------------------------------------------------
# many submissions
# --------------------------------------------------------------------------
def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def grade_many(paths: list, *, jobs: int = 1, dask=None, time_limit_s: Optional[float] = None,
               assignment: Optional[str] = None, max_bytes: int = MAX_BYTES,
               reader: Optional[Callable] = None) -> Iterator[tuple]:
    """Yield ``(index, report)`` for every path (completion order), serially, on ``jobs`` processes or on Dask.

    ``reader(path) -> (bytes | None, error fields | None)`` replaces the file read (tests)."""
    options = {"time_limit_s": time_limit_s, "assignment": assignment}
    read = reader or (lambda p: _read(p, max_bytes))
    if dask is not None:
        yield from _on_dask(paths, dask, options, read)
    elif jobs <= 1 or len(paths) <= 1:
        for i, p in enumerate(paths):
            data, err = read(p)
            yield i, grade_source(str(p), data, read_error=err, **options)
    else:
        yield from _on_pool(paths, jobs, options, read)


def _on_pool(paths: list, jobs: int, options: dict, read) -> Iterator[tuple]:
    done: set = set()
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), initializer=init_worker) as pool:
            futures = {}
            for i, p in enumerate(paths):
                data, err = read(p)
                if err is not None:
                    done.add(i)
                    yield i, grade_source(str(p), None, read_error=err, **options)
                    continue
                futures[pool.submit(_task, str(p), data, options)] = i
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    rep = fut.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:  # noqa: BLE001  (AnswerKeyError is re-raised below)
                    from .keys import AnswerKeyError

                    if isinstance(exc, AnswerKeyError):
                        raise
                    rep = error_report(str(paths[i]), SubmissionError(
                        f"internal error while grading: {type(exc).__name__}: {exc}", file=str(paths[i])),
                        options.get("assignment"))
                done.add(i)
                yield i, rep
    except BrokenProcessPool:
        # a worker died (out of memory, a signal): grade what is left here, one at a time
        for i, p in enumerate(paths):
            if i not in done:
                data, err = read(p)
                yield i, grade_source(str(p), data, read_error=err, **options)


def _on_dask(paths: list, dask, options: dict, read) -> Iterator[tuple]:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise RuntimeError("--dask needs Dask distributed: pip install 'derivcheck[dask]'") from None
    own = not isinstance(dask, Client)
    client = Client(dask) if own else dask
    try:
        names, datas, errors = [], [], []
        for p in paths:
            data, err = read(p)
            names.append(str(p))
            datas.append(data)
            errors.append(err)
        todo = [i for i, e in enumerate(errors) if e is None]
        for i, e in enumerate(errors):
            if e is not None:
                yield i, grade_source(names[i], None, read_error=e, **options)
        futures = client.map(dask_task, [names[i] for i in todo], [datas[i] for i in todo],
                             [options] * len(todo), pure=False)
        index = {f.key: i for f, i in zip(futures, todo)}
        for fut in dask_completed(futures):
            i = index[fut.key]
            try:
                rep = GradeReport.from_dict(fut.result())
            except Exception as exc:  # noqa: BLE001
                from .keys import AnswerKeyError

                if isinstance(exc, AnswerKeyError):
                    raise
                rep = error_report(names[i], SubmissionError(
                    f"internal error while grading: {type(exc).__name__}: {exc}", file=names[i]),
                    options.get("assignment"))
            yield i, rep
    finally:
        if own:
            client.close()
