r"""Code answers (``kind: code``, mit-hw4/7b ``ae_loss`` and 8a ``contrastive_loss``), run in a sandbox.

    from derivcheck.grading.sandbox import run_function, CODE_TASKS
    outcome = run_function(source, "ae_loss", cases)       # runs the student's code, never in this process

The student's source is never executed in the grader's process.  A worker
process (:mod:`.sandbox_boot`, started once, outside any answer's time limit)
imports Torch and forks one fresh child per answer; the child runs under
resource limits, in an empty temporary folder, with an audit hook that blocks
sockets, subprocesses and every file outside that folder except read-only
opens of the Python installation (the grader's own package excluded).  The
child gets only the random input tensors; the reference implementation runs
here, in NumPy, with closed-form gradients.

Each answer is compared with the reference on several random cases (shapes,
seeds, temperatures): the loss value and the gradient with respect to every
input tensor.  Tolerance: the inputs are float32, so an implementation
computing in float32 is accepted within Higham's rounding bound
``gamma_n * (|reference|_inf + S)`` with unit roundoff ``u = 2^-24``, ``n = 4 *
(input elements) + 64`` operations and ``S`` a bound on the magnitude of the
terms summed (see :class:`CodeTask`); the false-failure rate under the standard
rounding model is zero.  For the contrastive loss the inputs lie on the unit
sphere, so only the tangential part of its gradients is compared
(re-normalizing inside the function is equivalent for training).

A syntax error, an exception, a hang, a wrong shape, running out of memory or
an attempt to leave the folder is that answer's verdict with a message, never
a grader failure.  What the sandbox does and does not stop is stated in the
README ("Code answers").
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from derivcheck.registry import stable_seed

from .kinds import grades
from .results import CORRECT, INCORRECT, NEEDS_HUMAN, UNPARSEABLE, Result

U32 = 2.0 ** -24  # unit roundoff of float32
MAX_SOURCE_BYTES = 64 * 1024
WORKER_START_S = 120.0  # importing Torch on a loaded machine


@dataclass(frozen=True)
class Limits:
    """Per answer: wall clock, CPU seconds, memory above the worker's size after importing Torch,
    bytes a file may grow to, open file descriptors."""

    wall_s: float = 3.0
    cpu_s: int = 3
    memory_mib: int = 512
    file_bytes: int = 1 << 20
    open_files: int = 64

    def to_dict(self) -> dict:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "memory_mib": self.memory_mib,
                "file_bytes": self.file_bytes, "open_files": self.open_files}


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------------------------
# references (NumPy, float64, closed-form gradients), derived from the questions' statements
# --------------------------------------------------------------------------------------------
def mse_reference(x: np.ndarray, x_hat: np.ndarray) -> tuple:
    """MSE(x_hat, x) = mean over every element of (x_hat - x)^2 (eq. 12 of the sheet), with gradients."""
    d = x_hat - x
    n = d.size
    return float(np.mean(d * d)), {"x": -2.0 * d / n, "x_hat": 2.0 * d / n}


def _log_softmax_rows(logits: np.ndarray) -> tuple:
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    return logits - m - np.log(s), e / s


def infonce_reference(z: np.ndarray, z_pos: np.ndarray, tau: float) -> tuple:
    """mean_i -log( exp(z_i.z+_i / tau) / sum_j exp(z_i.z+_j / tau) ) (eq. 14 with the batch's other
    positives as negatives), with gradients."""
    b = z.shape[0]
    logits = z @ z_pos.T / tau
    logp, p = _log_softmax_rows(logits)
    loss = float(-np.mean(np.diag(logp)))
    g = (p - np.eye(b)) / b  # d loss / d logits
    return loss, {"z": g @ z_pos / tau, "z_pos": g.T @ z / tau}


def _infonce_value(z, z_pos, tau, *, include_positive=True):
    logits = z @ z_pos.T / tau
    if not include_positive:
        masked = logits.copy()
        np.fill_diagonal(masked, -np.inf)
        m = masked.max(axis=1)
        lse = m + np.log(np.exp(masked - m[:, None]).sum(axis=1))
        return float(np.mean(lse - np.diag(logits)))
    logp, _ = _log_softmax_rows(logits)
    return float(-np.mean(np.diag(logp)))


# --------------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeTask:
    """How one code question is run and judged.

    ``cases(seed)`` gives a list of argument lists (name, array or scalar); ``reference(*args)`` gives
    (value, {name: gradient}); ``scales(*args)`` gives the magnitude bounds S of the tolerance for
    the value and for the gradients; ``tangent`` names inputs on the unit sphere (gradients compared
    after removing their radial part); ``slips`` are (what the slip is, value function) pairs: an
    answer whose values match one of them on every case is told which slip it looks like."""

    question: str
    function: str
    signature: str
    cases: Callable
    reference: Callable
    scales: Callable
    tangent: tuple = ()
    slips: tuple = ()


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _mse_cases(seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for shape in ((4, 6), (3, 1, 5, 5), (2, 3, 4, 4)):
        x = _f32(rng.normal(size=shape))
        x_hat = _f32(x + rng.normal(scale=0.7, size=shape))
        out.append([("x", x), ("x_hat", x_hat)])
    return out


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _infonce_cases(seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for b, d, tau in ((4, 3, 0.07), (8, 5, 0.5), (16, 8, 1.0)):
        z = _unit_rows(rng.normal(size=(b, d)))
        z_pos = _unit_rows(z + rng.normal(scale=0.5, size=(b, d)))
        out.append([("z", _f32(z)), ("z_pos", _f32(z_pos)), ("tau", tau)])
    return out


def _mse_scales(x, x_hat):
    m = np.abs(x) + np.abs(x_hat)
    return float(np.mean(m * m)), float(2.0 * m.max() / m.size)


def _infonce_scales(z, z_pos, tau):
    b = z.shape[0]
    return 1.0 / tau + np.log(b), 2.0 / (tau * b)


CODE_TASKS = {
    "mit-hw4/7b": CodeTask(
        "mit-hw4/7b", "ae_loss", "ae_loss(x, x_hat)", _mse_cases, mse_reference, _mse_scales,
        slips=(
            ("the squared errors are summed instead of averaged", lambda x, xh: float(np.sum((xh - x) ** 2))),
            ("the squared errors are averaged over the batch only (summed over the other dimensions)",
             lambda x, xh: float(np.sum((xh - x) ** 2)) / x.shape[0]),
            ("the square root of the mean squared error is returned (RMSE, not MSE)",
             lambda x, xh: float(np.sqrt(np.mean((xh - x) ** 2)))),
            ("absolute errors are averaged instead of squared errors", lambda x, xh: float(np.mean(np.abs(xh - x)))),
        )),
    "mit-hw4/8a": CodeTask(
        "mit-hw4/8a", "contrastive_loss", "contrastive_loss(z, z_pos, tau)", _infonce_cases, infonce_reference,
        _infonce_scales, tangent=("z", "z_pos"),
        slips=(
            ("the loss is summed over the batch instead of averaged",
             lambda z, zp, tau: z.shape[0] * _infonce_value(z, zp, tau)),
            ("the temperature is missing (logits not divided by tau)", lambda z, zp, tau: _infonce_value(z, zp, 1.0)),
            ("the logits are multiplied by tau instead of divided", lambda z, zp, tau: _infonce_value(z, zp, 1.0 / tau)),
            ("the positive pair is left out of the denominator",
             lambda z, zp, tau: _infonce_value(z, zp, tau, include_positive=False)),
            ("the logits compare z with itself (z z^T) instead of with z_pos", lambda z, zp, tau: _infonce_value(z, z, tau)),
            ("the loss averages both directions (z against z_pos and z_pos against z); the question asks for "
             "z's rows as anchors only",
             lambda z, zp, tau: 0.5 * (_infonce_value(z, zp, tau) + _infonce_value(zp, z, tau))),
            ("the softmax runs over the wrong axis (columns: z_pos's rows as anchors)",
             lambda z, zp, tau: _infonce_value(zp, z, tau)),
        )),
}


def tolerance(ref_inf: float, scale: float, n_elements: int) -> float:
    """Higham's bound gamma_n * (|ref|_inf + S), n = 4 * elements + 64, float32 unit roundoff."""
    n = 4 * n_elements + 64
    gamma = n * U32 / (1 - n * U32)
    return float(gamma * (ref_inf + scale))


# --------------------------------------------------------------------------------------------
# the worker
# --------------------------------------------------------------------------------------------
class SandboxError(RuntimeError):
    """The sandbox itself failed (the worker could not start or broke the protocol)."""


def _package_dirs() -> list:
    out = []
    for name in ("derivcheck", "derivcheck.grading", "derivcheck.derivations", "derivcheck.numerics",
                 "derivcheck.reports"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            out.extend(str(Path(p).resolve()) for p in spec.submodule_search_locations)
    return out


def read_roots() -> list:
    """What a student's process may read: the Python installation's library folders."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return sorted(str(Path(r).resolve()) for r in roots if r and Path(r).exists())


def denied_paths() -> list:
    """Inside the readable roots, what stays closed: the grader's own packages (a regular install puts
    them in site-packages) and the project's install records."""
    out = set(_package_dirs())
    for root in read_roots():
        for p in Path(root).glob("*derivcheck*"):
            out.add(str(p.resolve()))
    return sorted(out)


class _Worker:
    def __init__(self):
        self.err = None
        self.proc: Optional[subprocess.Popen] = None
        self.buf = bytearray()
        self.info: dict = {}
        self.child: Optional[int] = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        boot = (Path(__file__).with_name("sandbox_boot.py")).read_text(encoding="utf-8")
        home = tempfile.gettempdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", boot], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, cwd=home, env=env,
                                     start_new_session=True, close_fds=True)
        self.buf = bytearray()
        try:
            msg = self._read(time.monotonic() + WORKER_START_S)
        except (SandboxError, TimeoutError, ValueError) as exc:
            tail = self._stderr_tail()
            self.close()
            raise SandboxError(f"the sandbox worker did not start ({exc}){': ' + tail if tail else ''}") from None
        if not msg.get("ready"):
            self.close()
            raise SandboxError(f"the sandbox worker did not start: {msg}")
        self.info = msg

    def _stderr_tail(self) -> str:
        try:
            self.err.seek(0)
            return self.err.read()[-800:].decode("utf-8", "replace").strip()
        except (OSError, AttributeError):
            return ""

    def _read(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the sandbox worker")
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                if not sel.select(timeout=left):
                    continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise SandboxError("the sandbox worker exited")
            self.buf.extend(chunk)
        line, _, rest = bytes(self.buf).partition(b"\n")
        self.buf = bytearray(rest)
        return json.loads(line)

    def run(self, job: dict, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        first = self._read(deadline)
        self.child = first.get("pid")
        done = self._read(deadline)
        self.child = None
        return done

    def close(self) -> None:
        for pid in (self.child,):
            if pid:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        self.child = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            for f in (self.proc.stdin, self.proc.stdout, self.err):
                try:
                    f.close()
                except OSError:
                    pass
        self.proc = None


_WORKER = _Worker()
_LOCK = threading.RLock()
atexit.register(_WORKER.close)


def warm_up(q=None) -> dict:
    """Start the worker (imports Torch once, ~2-5 s) if it is not running; returns its start figures."""
    with _LOCK:
        if not _WORKER.alive():
            _WORKER.close()
            _WORKER.start()
        return dict(_WORKER.info)


def shutdown() -> None:
    """Stop the worker (it is restarted on the next use)."""
    with _LOCK:
        _WORKER.close()


@dataclass
class Outcome:
    """What came back from one run: per-case results, the first error, blocked attempts."""

    results: list = field(default_factory=list)
    error: Optional[dict] = None
    violations: list = field(default_factory=list)
    killed: Optional[str] = None
    signal_name: Optional[str] = None
    finished: bool = False
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    stdout: str = ""


def run_function(source: str, function: str, cases: list, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """Run ``function`` of ``source`` on each case (a list of (name, ndarray | scalar)) in a sandboxed child
    process; tensors are passed as float32 leaves that require grad.  Never runs ``source`` here."""
    args = [[({"name": n, "tensor": v.tolist(), "dtype": "float32"} if isinstance(v, np.ndarray)
              else {"name": n, "value": v}) for n, v in case] for case in cases]
    job = {"source": source, "function": function, "cases": [{"args": a} for a in args],
           "limits": limits.to_dict(), "read_roots": read_roots(), "deny": denied_paths()}
    with _LOCK:
        if not _WORKER.alive():
            warm_up()
        try:
            done = _WORKER.run(job, timeout=limits.wall_s + 10.0)
        except BaseException:
            _WORKER.close()  # a broken protocol, or the caller's own time limit: never leave the child running
            raise
    out = Outcome(killed=done.get("killed"), signal_name=done.get("signal_name"),
                  elapsed_s=float(done.get("elapsed_s", 0.0)), cpu_s=float(done.get("cpu_s", 0.0)),
                  stdout=done.get("stdout", ""))
    for m in done.get("messages", []):
        if "violation" in m:
            out.violations.append(m["violation"])
        elif "result" in m:
            out.results.append(m["result"])
        elif "error" in m and out.error is None:
            out.error = m
        elif m.get("finished"):
            out.finished = True
    return out


# --------------------------------------------------------------------------------------------
# judging
# --------------------------------------------------------------------------------------------
def _tangential(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    return g - np.sum(g * x, axis=1, keepdims=True) * x


def _shape_text(case: list) -> str:
    return ", ".join(f"{n}: {tuple(v.shape)}" if isinstance(v, np.ndarray) else f"{n} = {v:g}" for n, v in case)


def _error_message(task: CodeTask, out: Outcome, limits: Limits) -> tuple:
    """(verdict, message) for a run that did not finish every case."""
    e = out.error or {}
    line = f" (line {e['line']})" if e.get("line") else ""
    if out.violations:
        return INCORRECT, (f"the code tried to {out.violations[0]}; the sandbox blocked it and the answer is not "
                           "graded further (code answers may only compute with their inputs)")
    if out.killed == "wall":
        return INCORRECT, f"{task.function} did not finish within {limits.wall_s:g} s (wall clock): an endless loop?"
    if out.killed == "output":
        return INCORRECT, "the code wrote too much output; it was stopped"
    if out.signal_name in ("SIGXCPU", "SIGKILL") and not e:
        return INCORRECT, f"{task.function} used more than {limits.cpu_s} s of CPU time and was stopped"
    kind = e.get("error")
    if kind == "syntax":
        return UNPARSEABLE, f"the code does not compile: {e.get('type')}: {e.get('message')}{line}"
    if kind == "memory":
        return INCORRECT, (f"the code ran out of memory (the limit is {limits.memory_mib} MiB above the Torch "
                           f"runtime){line}")
    if kind == "missing":
        return INCORRECT, f"{e.get('message')}; expected {task.signature}"
    if kind == "module":
        return INCORRECT, f"running the module's top level raised {e.get('type')}: {e.get('message')}{line}"
    if kind in ("call", "backward"):
        what = "calling" if kind == "call" else "back-propagating through"
        return INCORRECT, f"{what} {task.function} raised {e.get('type')}: {e.get('message')}{line}"
    if kind == "type":
        return INCORRECT, f"{task.function} {e.get('message')}; expected a scalar tensor"
    if kind == "shape":
        return INCORRECT, f"{task.function} {e.get('message')} (expected a scalar: the mean over the batch)"
    if out.signal_name:
        return INCORRECT, f"the process running {task.function} died with {out.signal_name}"
    return INCORRECT, f"{task.function} returned no result"


def judge(task: CodeTask, cases: list, out: Outcome, limits: Limits = DEFAULT_LIMITS) -> tuple:
    """(verdict, message, details, staff) for the outcome of a run on ``cases``."""
    details = {"cases": [_shape_text(c) for c in cases], "elapsed_s": round(out.elapsed_s, 3),
               "cpu_s": round(out.cpu_s, 3), "limits": limits.to_dict()}
    if out.stdout:
        details["stdout"] = out.stdout
    if out.violations:
        details["sandbox_violations"] = out.violations
    staff: dict = {"reference": "NumPy float64 with closed-form gradients (grading/sandbox.py)"}
    if out.violations or not out.finished or len(out.results) != len(cases):
        verdict, message = _error_message(task, out, limits)
        return verdict, message, details, staff
    worst, rows = 0.0, []
    first_bad = None
    for k, (case, res) in enumerate(zip(cases, out.results)):
        values = [v for _, v in case]
        ref_value, ref_grads = task.reference(*values)
        s_value, s_grad = task.scales(*values)
        n_el = sum(v.size for v in values if isinstance(v, np.ndarray))
        tol_v = tolerance(abs(ref_value), s_value, n_el)
        err_v = abs(res["value"] - ref_value)
        row = {"case": k, "value": res["value"], "reference": ref_value, "error": err_v, "tolerance": tol_v,
               "grads": {}}
        bad = [] if err_v <= tol_v else ["value"]
        inputs = dict(case)
        for name, g_ref in ref_grads.items():
            g = res["grads"].get(name)
            if g is None:
                bad.append(f"no gradient reaches {name}")
                row["grads"][name] = None
                continue
            g = np.asarray(g, dtype=np.float64)
            if g.shape != g_ref.shape:
                bad.append(f"gradient of {name} has shape {g.shape}")
                continue
            if name in task.tangent:
                g, g_ref = _tangential(g, inputs[name]), _tangential(g_ref, inputs[name])
            err = float(np.max(np.abs(g - g_ref)))
            tol = tolerance(float(np.max(np.abs(g_ref))), s_grad, n_el)
            row["grads"][name] = {"error": err, "tolerance": tol}
            worst = max(worst, err / tol)
            if err > tol:
                bad.append(f"gradient with respect to {name}")
        worst = max(worst, err_v / tol_v)
        rows.append(row)
        if bad and first_bad is None:
            first_bad = (k, bad)
    staff["comparisons"] = rows
    details["student_values"] = [r["value"] for r in rows]
    if first_bad is None:
        return CORRECT, (f"{task.function} matches the reference loss and its gradients on {len(cases)} random "
                         f"cases ({'; '.join(details['cases'])}), within float32 rounding"), details, staff
    k, bad = first_bad
    msg = (f"on case {k + 1} ({details['cases'][k]}) {task.function} differs from the expected result: "
           f"{', '.join(bad)} (your value: {rows[k]['value']:.6g})")
    slip = _matching_slip(task, cases, out)
    if slip:
        msg += f". This looks like a known slip: {slip}"
        details["slip"] = slip
    elif "value" not in bad:
        msg += ". The value is right, so a term is probably detached from the graph or computed outside autograd"
    return INCORRECT, msg, details, staff


def _matching_slip(task: CodeTask, cases: list, out: Outcome) -> Optional[str]:
    for what, fn in task.slips:
        ok = True
        for case, res in zip(cases, out.results):
            values = [v for _, v in case]
            target = fn(*values)
            s_value, _ = task.scales(*values)
            n_el = sum(v.size for v in values if isinstance(v, np.ndarray))
            if abs(res["value"] - target) > tolerance(abs(target), s_value, n_el):
                ok = False
                break
        if ok:
            return what
    return None


def _prepare(q) -> None:
    if q.id in CODE_TASKS:
        try:
            warm_up()
        except (SandboxError, TimeoutError, OSError, ValueError):
            pass  # the answer's own run retries and reports the failure as that answer's verdict


@grades("code", keyed=False, prepare=_prepare)
def grade_code(q, entry, answer, deadline) -> Result:
    """Run the submitted function in the sandbox and compare it with the reference."""
    task = CODE_TASKS.get(q.id)
    if task is None:
        return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                      f"code ({q.catalogue_spec.get('function', '')}): no reference to run it against; "
                      "graded by a person")
    if not isinstance(answer, str):
        return Result(q.id, UNPARSEABLE, 0.0, q.points,
                      f"expected Python source text defining {task.signature}, got a {type(answer).__name__}")
    if len(answer.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, f"the source is longer than {MAX_SOURCE_BYTES // 1024} KiB")
    left = deadline - time.perf_counter() - 0.5
    limits = DEFAULT_LIMITS
    if left < limits.wall_s:
        limits = Limits(wall_s=max(0.5, left), cpu_s=max(1, int(min(limits.cpu_s, left + 1))),
                        memory_mib=limits.memory_mib, file_bytes=limits.file_bytes, open_files=limits.open_files)
    cases = task.cases(stable_seed(q.id))
    try:
        out = run_function(answer, task.function, cases, limits)
    except (SandboxError, TimeoutError, OSError, ValueError) as exc:
        return Result(q.id, NEEDS_HUMAN, 0.0, q.points, "the sandbox could not run this answer; graded by a person",
                      method="sandbox", staff={"error": f"{type(exc).__name__}: {exc}"})
    verdict, message, details, staff = judge(task, cases, out, limits)
    score = q.points if verdict == CORRECT else 0.0
    return Result(q.id, verdict, score, q.points, message, method="sandboxed run vs reference on random tensors",
                  details=details, staff=staff)
