"""The sandbox worker: run as ``python -I -c <this file's text>`` by :mod:`.sandbox`, never imported.

It must not import derivcheck: every student process is a fork of this one and
sees its memory.  It imports Torch once (with one BLAS/OpenMP thread), reports
its address-space size, then serves jobs, one JSON line each on stdin.  For
each job it forks a child that

* starts a new session (its own process group, killed as a whole),
* gets a fresh empty temporary folder as working directory, /dev/null as stdin
  and a capped file in that folder as stdout/stderr,
* scrubs the environment and ``sys.path`` (no project paths, no import hooks
  of the project's editable install),
* sets resource limits: RLIMIT_CPU, RLIMIT_AS (size after the Torch import +
  a headroom), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE = 0,
* installs an audit hook (``sys.addaudithook``, cannot be removed) that blocks
  sockets, subprocesses, fork/exec, signals to other processes, ctypes,
  resource changes, links, and every ``open`` outside the folder except
  read-only opens of the Python installation (stdlib, site-packages) minus the
  denied folders (the grader's own package); every blocked attempt is reported
  to this worker at once, before the student's code can catch the error,
* compiles and runs the submitted source, calls the function on each case's
  inputs, back-propagates, and writes values and gradients to a pipe.

This worker enforces the wall-clock limit (SIGKILL to the child's process
group) and reads the pipe with a byte cap.  It answers one JSON line per job.
"""
import json
import os
import resource
import selectors
import shutil
import signal
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import math  # noqa: E402,F401  (preloaded for the students' code)
import functools  # noqa: E402,F401
import itertools  # noqa: E402,F401
import numpy  # noqa: E402,F401
import torch  # noqa: E402
import torch.nn  # noqa: E402,F401
import torch.nn.functional  # noqa: E402,F401

torch.set_num_threads(1)

MAX_PIPE_BYTES = 4 << 20
STDOUT_HEAD = 2000


def _status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# the child
# ---------------------------------------------------------------------------------------------
def _under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


_BLOCK = []  # the child's violation reporter


def _no_fork_exec(*args, **kwargs):
    if _BLOCK:
        _BLOCK[0]("start a process (_posixsubprocess.fork_exec)")
    raise PermissionError("blocked by the grader's sandbox: starting processes")


def _child(job, folder, wfd):
    os.setsid()
    sys.dont_write_bytecode = True
    out = os.open(os.path.join(folder, ".stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False, buffering=1)
    sys.stderr = sys.stdout
    os.chdir(folder)

    os.environ.clear()
    os.environ.update({"HOME": folder, "TMPDIR": folder, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    read_roots = [os.path.realpath(p) for p in job["read_roots"]]
    deny = [os.path.realpath(p) for p in job["deny"]]
    sys.path[:] = [p for p in sys.path if p and _under(os.path.realpath(p), read_roots)
                   and not _under(os.path.realpath(p), deny)]
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()
                        and "derivcheck" not in repr(f).lower()]
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m == "derivcheck" or m.startswith("derivcheck.")]:
        del sys.modules[name]

    # subprocess's C helper forks without an audit event: disable it (os.fork/exec/spawn/system are audited)
    for name in ("_posixsubprocess",):
        mod = sys.modules.get(name)
        if mod is not None and hasattr(mod, "fork_exec"):
            mod.fork_exec = _no_fork_exec

    lim = job["limits"]
    vm = _status_kib("VmSize") * 1024
    address_space = vm + int(lim["memory_mib"]) * (1 << 20)
    if DROP_TO is not None:  # never run a submission as root: drop to nobody (the folder becomes its own)
        nobody = DROP_TO
        for path in (folder, os.path.join(folder, ".stdout")):
            os.chown(path, nobody, nobody)
        os.setgroups([])
        os.setgid(nobody)
        os.setuid(nobody)
    limits = [(resource.RLIMIT_NPROC, 16, 16)] if os.geteuid() != 0 else []
    for what, soft, hard in limits + [(resource.RLIMIT_CORE, 0, 0),
                             (resource.RLIMIT_CPU, int(lim["cpu_s"]), int(lim["cpu_s"]) + 1),
                             (resource.RLIMIT_FSIZE, int(lim["file_bytes"]), int(lim["file_bytes"])),
                             (resource.RLIMIT_NOFILE, int(lim["open_files"]), int(lim["open_files"])),
                             (resource.RLIMIT_AS, address_space, address_space)]:
        try:
            resource.setrlimit(what, (soft, hard))
        except (ValueError, OSError):
            if what != resource.RLIMIT_NPROC:  # NPROC is per user: optional
                raise

    def report(obj):
        data = (json.dumps(obj) + "\n").encode()
        try:
            os.write(wfd, data)
        except OSError:
            pass

    blocked_prefixes = ("socket.", "subprocess.", "ctypes.", "os.exec", "os.posix_spawn", "os.spawn",
                        "os.fork", "os.forkpty", "os.system", "os.kill", "os.killpg", "signal.pthread_kill",
                        "resource.setrlimit", "resource.prlimit", "os.symlink", "os.link", "pty.",
                        "winreg.", "_winapi.", "webbrowser.", "ftplib.", "smtplib.", "http.", "urllib.")
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    own = os.path.realpath(folder)

    def violation(what):
        report({"violation": what})
        raise PermissionError(f"blocked by the grader's sandbox: {what}")

    _BLOCK.append(violation)

    def allowed_path(path, writing):
        if isinstance(path, int):
            return True
        try:
            p = os.path.realpath(os.fsdecode(path))
        except Exception:
            return False
        if _under(p, [own]):
            return True
        if writing:
            return False
        return _under(p, read_roots) and not _under(p, deny)

    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = bool((flags or 0) & write_flags) or any(c in (mode or "") for c in "wax+")
            if not allowed_path(path, writing):
                violation(f"open {os.fsdecode(path) if not isinstance(path, int) else path!s}"
                          f"{' for writing' if writing else ''} (outside the working folder)")
        elif event in ("os.listdir", "os.scandir", "os.chdir"):
            if args and args[0] is not None and not allowed_path(args[0], False):
                violation(f"{event} {os.fsdecode(args[0]) if not isinstance(args[0], int) else args[0]}")
        elif event in ("os.remove", "os.rmdir", "os.rename", "os.replace", "os.mkdir", "os.chmod",
                       "os.chown", "os.truncate", "os.utime"):
            for a in args:
                if isinstance(a, (str, bytes)) and not allowed_path(a, True):
                    violation(f"{event} {os.fsdecode(a)} (outside the working folder)")
        elif event.startswith(blocked_prefixes):
            violation(f"call {event} (network, other processes, signals and native code are off limits)")

    sys.addaudithook(hook)

    # ---- run the submission ------------------------------------------------------------------
    import traceback

    def where(exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<submission>"]
        return frames[-1].lineno if frames else None

    def failure(kind, exc, case=None):
        msg = str(exc)[:300]
        memory = isinstance(exc, MemoryError) or "can't allocate memory" in msg or "not enough memory" in msg
        report({"error": "memory" if memory else kind, "type": type(exc).__name__, "message": msg,
                "line": where(exc), "case": case})

    try:
        code = compile(job["source"], "<submission>", "exec")
    except (SyntaxError, ValueError) as exc:
        report({"error": "syntax", "type": type(exc).__name__, "message": str(getattr(exc, "msg", exc))[:300],
                "line": getattr(exc, "lineno", None), "offset": getattr(exc, "offset", None)})
        return
    except (MemoryError, RecursionError) as exc:
        failure("syntax", exc)
        return
    ns = {"__name__": "submission", "__builtins__": __builtins__}
    try:
        exec(code, ns)
    except BaseException as exc:  # noqa: BLE001 - the student's module body
        failure("module", exc)
        return
    fn = ns.get(job["function"])
    if not callable(fn):
        report({"error": "missing", "message": f"no function named {job['function']!r} is defined"})
        return
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    for k, case in enumerate(job["cases"]):
        args, leaves = [], {}
        for a in case["args"]:
            if "tensor" in a:
                t = torch.tensor(a["tensor"], dtype=dtypes[a.get("dtype", "float32")], requires_grad=True)
                leaves[a["name"]] = t
                args.append(t)
            else:
                args.append(a["value"])
        try:
            out = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            failure("call", exc, k)
            return
        if not isinstance(out, torch.Tensor):
            report({"error": "type", "case": k, "message": f"returned {type(out).__name__}, not a torch tensor"})
            return
        res = {"case": k, "shape": list(out.shape), "dtype": str(out.dtype).replace("torch.", ""),
               "requires_grad": bool(out.requires_grad)}
        if out.numel() != 1:
            report({"error": "shape", "case": k, "shape": list(out.shape),
                    "message": f"returned a tensor of shape {tuple(out.shape)}, not a scalar"})
            return
        try:
            res["value"] = float(out.detach().double().reshape(()))
            if out.requires_grad:
                out.reshape(()).backward()
            res["grads"] = {n: (None if t.grad is None else t.grad.detach().double().tolist())
                            for n, t in leaves.items()}
        except BaseException as exc:  # noqa: BLE001 - a custom autograd Function of the student's
            failure("backward", exc, k)
            return
        report({"result": res})
    report({"finished": True})


# ---------------------------------------------------------------------------------------------
# the worker loop
# ---------------------------------------------------------------------------------------------
def _serve(job):
    folder = tempfile.mkdtemp(prefix="derivcheck-sandbox-")
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(rfd)
            _child(job, folder, wfd)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    _send({"pid": pid})
    start = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = float(job["limits"]["wall_s"])
    buf, over, killed = bytearray(), False, None
    sel = selectors.DefaultSelector()
    sel.register(rfd, selectors.EVENT_READ)
    while True:
        left = wall - (time.monotonic() - start)
        if left <= 0:
            killed = "wall"
            break
        if not sel.select(timeout=left):
            continue
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        buf.extend(chunk)
        if len(buf) > MAX_PIPE_BYTES:
            over, killed = True, "output"
            break
    sel.close()
    if killed:
        for kill in (os.killpg, os.kill):  # the group, and the child itself if it has not called setsid yet
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:  # whatever the child left behind in its own session
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    messages = []
    for line in bytes(buf).splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            messages.append({"garbled": True})
        if len(messages) > 200:
            break
    head = ""
    try:
        with open(os.path.join(folder, ".stdout"), "rb") as fh:
            head = fh.read(STDOUT_HEAD).decode("utf-8", "replace")
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    _send({"done": True, "messages": messages, "killed": killed, "over": over, "elapsed_s": elapsed,
           "signal": sig, "signal_name": signal.Signals(sig).name if sig else None,
           "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
           "cpu_s": (usage.ru_utime + usage.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime), "stdout": head})


NOBODY = 65534
DROP_TO = None  # the uid submissions run as, when this worker is root and that uid can read the libraries


def _probe_drop(paths):
    """Can a process running as nobody read the Python installation?  (A pyenv under /root cannot be.)"""
    if os.geteuid() != 0:
        return None, "the worker does not run as root"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            for p in paths:
                os.listdir(p)
            code = 0
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return NOBODY, "submissions run as nobody"
    return None, "nobody cannot read the Python installation here, so submissions run as the worker's user (root)"


def main():
    global DROP_TO
    roots = [p for p in sys.path if p and os.path.isdir(p)]
    DROP_TO, why = _probe_drop(roots)
    _send({"ready": True, "vmsize_kib": _status_kib("VmSize"), "rss_kib": _status_kib("VmRSS"),
           "torch": torch.__version__, "uid": os.geteuid(), "submissions_uid": DROP_TO if DROP_TO is not None
           else os.geteuid(), "privileges": why})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
        except ValueError:
            _send({"done": True, "messages": [], "killed": None, "protocol_error": "bad job"})
            continue
        _serve(job)


main()
