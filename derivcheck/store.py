"""The results store: the one place where ``verify`` writes and ``report``/``list``/the grader read.

    results_path(path=None) -> Path     where the results document lives
    cache_dir() -> Path                 derivcheck's cache folder (results, the grader's key cache)
    load(path=None) -> dict             the stored results document (an empty one if there is none)
    claim_record(claim_id, path=None)   one claim's record (with ``status``), or None
    save(doc, path=None)                replace the stored document (atomic)
    merge_save(doc, path=None)          merge ``doc``'s claims into the stored document (atomic)

Where it is, first match wins:

1. an explicit ``path`` (the CLI's ``--save``/``--results FILE``);
2. the environment variable ``DERIVCHECK_RESULTS`` (a file path);
3. ``cache_dir() / "results.json"``, where ``cache_dir()`` is ``$DERIVCHECK_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/derivcheck``, else ``~/.cache/derivcheck``.

Nothing is written into the current folder unless a path there is asked for.  Writes go to a
temporary file in the same folder and are renamed into place, so a reader never sees half a file;
merges hold a lock file so two concurrent ``verify --only`` runs do not lose each other's claims.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

RESULTS_ENV = "DERIVCHECK_RESULTS"
CACHE_ENV = "DERIVCHECK_CACHE_DIR"
RESULTS_NAME = "results.json"

# Statuses that count as "ok" for the exit code and the summary (``definition``: the claim only
# restates a definition; ``transcribed``: its key's data come from an answer set, see provenance).
OK_STATUSES = ("verified", "symbolic-only", "definition", "transcribed")
BASE_STATUSES = ("verified", "symbolic-only", "failed", "inconclusive")


class ResultsError(ValueError):
    """The results file exists but is not a readable derivcheck results document."""


def cache_dir() -> Path:
    """derivcheck's cache folder (not created here): ``$DERIVCHECK_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/derivcheck``, else ``~/.cache/derivcheck``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is invalid and ignored
        return Path(xdg) / "derivcheck"
    return Path.home() / ".cache" / "derivcheck"


def results_path(path: Optional[PathLike] = None) -> Path:
    """The results file: ``path`` if given, else ``$DERIVCHECK_RESULTS``, else ``cache_dir()/results.json``."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env).expanduser()
    return cache_dir() / RESULTS_NAME


def summarize(claims: list) -> dict:
    """The ``summary`` block of a document, counted from its claim records."""
    counts = {s: 0 for s in BASE_STATUSES}
    for c in claims:
        status = c.get("status", "inconclusive")
        counts[status] = counts.get(status, 0) + 1
    return {
        "claims": len(claims),
        **counts,
        "numeric_missing": sum(1 for c in claims if not c.get("numeric_declared", len(c.get("numeric", ())))),
        "ok": all(c.get("status") in OK_STATUSES for c in claims),
    }


def empty_document() -> dict:
    """The document of a store that holds no results yet."""
    return {"derivcheck": None, "generated": None, "profile": None, "policy": {},
            "summary": summarize([]), "claims": [], "empty": True}


def load(path: Optional[PathLike] = None) -> dict:
    """The stored results document; :func:`empty_document` if the file does not exist.

    Raises :class:`ResultsError` (with what to do) when the file exists but cannot be read or is not
    a derivcheck results document."""
    p = results_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_document()
    except OSError as exc:
        raise ResultsError(f"cannot read results file {p}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{p} is not valid JSON ({exc}); delete it and run 'derivcheck verify' again") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list):
        raise ResultsError(f"{p} is not a derivcheck results file (no 'claims' list); "
                           "pass the file 'derivcheck verify --save' wrote")
    return doc


def claim_record(claim_id: str, path: Optional[PathLike] = None) -> Optional[dict]:
    """The stored record of ``claim_id`` (a dict with ``status``, ``symbolic``, ``numeric``, ...),
    or None when the store has no result for it (never run, or no store)."""
    for c in load(path)["claims"]:
        if c.get("id") == claim_id:
            return c
    return None


def _write_atomic(p: Path, doc: dict) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=str(p.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(p: Path) -> Iterator[None]:
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, still atomic
        yield
        return
    with open(p.with_name(p.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _stamp(doc: dict) -> list:
    """The claim records of ``doc``, each stamped with the run it came from (profile, time, seed)."""
    out = []
    for c in doc.get("claims", []):
        c = dict(c)
        c.setdefault("profile", doc.get("profile"))
        c.setdefault("generated", doc.get("generated"))
        if doc.get("seed") is not None:
            c.setdefault("run_seed", doc.get("seed"))
        out.append(c)
    return out


def save(doc: dict, path: Optional[PathLike] = None) -> Path:
    """Replace the stored document with ``doc`` (atomic).  Returns the path written."""
    p = results_path(path)
    new = dict(doc, claims=_stamp(doc))
    new.pop("empty", None)
    new["summary"] = summarize(new["claims"])
    with _locked(p):
        _write_atomic(p, new)
    return p


def merge(old: dict, doc: dict) -> dict:
    """``old`` with ``doc``'s claim records replacing those of the same ID (new IDs appended, in
    ``doc``'s order); run metadata from ``doc``; ``profile`` is ``"mixed"`` when the claims come
    from runs of different profiles; the summary is recounted."""
    claims = [dict(c) for c in old.get("claims", [])]
    index = {c.get("id"): i for i, c in enumerate(claims)}
    for c in _stamp(doc):
        if c.get("id") in index:
            claims[index[c["id"]]] = c
        else:
            index[c.get("id")] = len(claims)
            claims.append(c)
    new = dict(old)
    new.update({k: v for k, v in doc.items() if k not in ("claims", "summary")})
    new.pop("empty", None)
    new["claims"] = claims
    if old.get("claims"):
        new.pop("wall_s", None)  # the time of one partial run is not the time of the merged results
    profiles = {c.get("profile") for c in claims if c.get("profile")}
    new["profile"] = profiles.pop() if len(profiles) == 1 else ("mixed" if profiles else doc.get("profile"))
    new["summary"] = summarize(claims)
    return new


def merge_save(doc: dict, path: Optional[PathLike] = None) -> Path:
    """Merge ``doc``'s claims into the stored document (see :func:`merge`) and write it atomically,
    under a lock.  An unreadable stored file is replaced, not merged.  Returns the path written."""
    p = results_path(path)
    with _locked(p):
        try:
            old = load(p)
        except ResultsError:
            old = empty_document()
        _write_atomic(p, merge(old, doc))
    return p


def run_environment() -> dict:
    """What a reader needs to reproduce a run: library versions (read from the installed
    distributions, so Torch is not imported), the git commit of the source tree (when it is a git
    checkout) and whether it had uncommitted changes."""
    import platform
    import subprocess
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for lib in ("sympy", "numpy", "scipy", "torch", "matplotlib", "latex2mathml"):
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    env = {"versions": versions, "commit": None, "dirty": None}
    src = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        if head.returncode == 0:
            env["commit"] = head.stdout.strip()
            status = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10)
            env["dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return env
