"""A pool of forked worker processes that run checks, each under a hard wall-clock limit.

The server process loads the key (and everything the grader imports) once,
then forks the workers: each starts with the key already in memory.  A job
goes to an idle worker through a pipe; the event loop waits on the pipe's
file descriptor (no thread per request).  Inside the worker the check runs
in its main thread, so the grader's own limit (``SIGALRM``, see
:mod:`derivcheck.limits`) applies.  If a worker has not answered by the
job's *hard* limit (the check's limit plus a grace, for a long call in C
code that the alarm cannot interrupt), it is killed and replaced by a fresh
fork, and the caller gets :class:`HardTimeout`.  A slow answer therefore
holds one worker for at most its hard limit and never blocks the others.

Jobs are ``(function name, args)`` pairs; the functions are the module-level
entries of :data:`JOBS` (set by the server), so nothing but those can run.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import signal
import traceback
from dataclasses import dataclass
from typing import Optional


class HardTimeout(Exception):
    """The worker did not answer within the job's hard limit (it was replaced)."""


class Busy(Exception):
    """No worker became free within the queue limit."""


class WorkerFailed(Exception):
    """The worker died or the job raised (the message is for the server log, never for a response)."""


def _worker_main(conn, jobs: dict) -> None:
    # the server's handlers (uvicorn's, the event loop's wakeup fd) are not ours
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply = ("ok", jobs[name](*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the server, which logs it
            reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


@dataclass
class _Worker:
    proc: multiprocessing.process.BaseProcess
    conn: object


class CheckPool:
    """``n`` forked workers; :meth:`run` sends one job to an idle worker and awaits its reply."""

    def __init__(self, jobs: dict, n: int = 2, queue_limit_s: float = 30.0):
        if "fork" not in multiprocessing.get_all_start_methods():
            raise RuntimeError("derivcheck serve needs the 'fork' start method (Linux, macOS)")
        self.jobs = dict(jobs)
        self.n = max(1, int(n))
        self.queue_limit_s = queue_limit_s
        self._ctx = multiprocessing.get_context("fork")
        self._workers: list = [self._spawn() for _ in range(self.n)]
        self._idle: Optional[asyncio.Queue] = None
        self.replaced = 0

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, self.jobs), daemon=True,
                                 name="derivcheck-serve-worker")
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _queue(self) -> asyncio.Queue:
        if self._idle is None:  # made in the running loop
            self._idle = asyncio.Queue()
            for w in self._workers:
                self._idle.put_nowait(w)
        return self._idle

    def _replace(self, w: _Worker) -> _Worker:
        try:
            w.proc.kill()
            w.proc.join(timeout=2)
        except Exception:  # noqa: BLE001
            pass
        try:
            w.conn.close()
        except OSError:
            pass
        fresh = self._spawn()
        self._workers = [fresh if x is w else x for x in self._workers]
        self.replaced += 1
        return fresh

    async def run(self, name: str, args: tuple, hard_limit_s: float):
        """The job's result; raises :class:`Busy`, :class:`HardTimeout` or :class:`WorkerFailed`."""
        if name not in self.jobs:
            raise WorkerFailed(f"unknown job {name!r}")
        idle = self._queue()
        try:
            w = await asyncio.wait_for(idle.get(), timeout=self.queue_limit_s)
        except asyncio.TimeoutError:
            raise Busy(f"no worker free within {self.queue_limit_s:g} s") from None
        loop = asyncio.get_running_loop()
        try:
            try:
                w.conn.send((name, args))
            except (OSError, ValueError) as exc:
                w = self._replace(w)
                raise WorkerFailed(f"worker pipe broken: {exc}") from None
            ready = loop.create_future()
            fd = w.conn.fileno()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
            try:
                await asyncio.wait_for(ready, timeout=hard_limit_s)
            except asyncio.TimeoutError:
                w = self._replace(w)
                raise HardTimeout(f"no answer within {hard_limit_s:g} s; worker replaced") from None
            except asyncio.CancelledError:  # the client went away: the worker may still be busy
                w = self._replace(w)
                raise
            finally:
                loop.remove_reader(fd)
            try:
                status, payload = w.conn.recv()
            except (EOFError, OSError) as exc:
                w = self._replace(w)
                raise WorkerFailed(f"worker died: {exc!r}") from None
            if status != "ok":
                raise WorkerFailed(payload)
            return payload
        finally:
            idle.put_nowait(w)

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.close()
            except OSError:
                pass
            if w.proc.is_alive():
                w.proc.terminate()
        for w in self._workers:
            w.proc.join(timeout=2)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=1)
        self._workers = []

    @property
    def pids(self) -> list:
        return [w.proc.pid for w in self._workers]
