r"""A Gradescope autograder for one assignment, and the blank submission students fill in.

    derivcheck template ift6135-h22 > submission.yaml
    derivcheck autograder ift6135-h22 -o autograder.zip

The zip holds what Gradescope expects at its root:

* ``setup.sh`` installs the pinned requirements (``requirements.txt``, the
  versions this zip was built with; Torch is not needed to grade) and
  verifies the answer key once, so every submission reuses the verification;
* ``run_autograder`` grades the student's file in ``/autograder/submission``
  (``submission.yaml``, else the one .yaml/.yml/.json file there) and writes
  ``/autograder/results/results.json`` for the student audience: never a key,
  a rubric or a key value.  Whatever happens (no file, a malformed file, a
  crash of the grader, Python missing) a results.json is written that says
  what went wrong and what to do;
* ``derivcheck/``, the package itself (Gradescope unzips into
  ``/autograder/source``, which ``run_autograder`` puts on ``PYTHONPATH``),
  ``config.json`` (the assignment), and ``submission.yaml``, the blank template.

For tests, ``DERIVCHECK_AUTOGRADER_ROOT`` replaces ``/autograder`` and
``DERIVCHECK_PYTHON`` the Python that ``run_autograder`` uses.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
import traceback
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Optional

ROOT_ENV = "DERIVCHECK_AUTOGRADER_ROOT"

#: distributions the grader imports at run time (tests check that grading imports nothing else)
RUNTIME_REQUIREMENTS = ("sympy", "mpmath", "numpy", "scipy", "lark", "PyYAML", "Jinja2", "MarkupSafe",
                        "latex2mathml", "matplotlib", "scikit-learn", "pytest")


# --------------------------------------------------------------------------
# the blank submission
# --------------------------------------------------------------------------
def _assignment_questions(assignment: str) -> list:
    from derivcheck.catalogue import did_you_mean

    from .questions import questions

    qs = [q for qid, q in questions().items() if qid.split("/")[0] == assignment]
    if not qs:
        known = sorted({qid.split("/")[0] for qid in questions()})
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(known)}."
                       + did_you_mean(assignment, known))
    return qs


def _quote(s: str) -> str:
    """A YAML single-quoted scalar (backslashes stay as typed)."""
    return "'" + str(s).replace("'", "''") + "'"


_BLANK = {"choices": "[]", "set": "[]", "derivation": "[]"}


def template(assignment: str, *, student: str = "") -> str:
    """A blank submission for ``assignment``: every question ID with its kind, points and notation."""
    qs = _assignment_questions(assignment)
    total = sum(q.points for q in qs)
    lines = [
        f"# derivcheck submission for {assignment} ({len(qs)} questions, {total:g} points).",
        "# Fill in 'student' and every answer you have; leave '' or [] for a question you skip.",
        "# Write LaTeX inside SINGLE quotes: '\\frac{1}{2} \\top' (a quote inside is written twice: '').",
        "# Double quotes turn \\t, \\f, \\b, \\n, \\r of \\top, \\frac, \\beta, \\nabla, \\right into control characters.",
        "# Lists: ['a', 'c'];  mappings: {key: 'option'};  derivations: one step per line:",
        "#   - 'lhs = rhs'",
        "#   - '= next'",
        f"student: {_quote(student)}",
        f"assignment: {_quote(assignment)}",
        "answers:",
    ]
    for q in qs:
        info = f"{q.kind}, {q.points:g} pt"
        lines.append("")
        lines.append(f"  # {q.id} ({info})" + (f": {q.ask}" if q.ask else ""))
        notation = q.catalogue_spec.get("notation")
        if notation:
            lines.append(f"  #   notation: {notation}")
        if q.options:
            lines.append(f"  #   options: {', '.join(q.options)}")
        if q.kind == "mapping":
            pairs = ", ".join(f"{k}: ''" for k in q.keys)
            lines.append(f"  {q.id}: {{{pairs}}}")
            continue
        if q.kind == "text":
            lines.append(f"  {q.id}: |")
            lines.append("    ")
            continue
        lines.append(f"  {q.id}: {_BLANK.get(q.kind, _quote(''))}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the zip
# --------------------------------------------------------------------------
SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once per assignment, in /autograder/source.
set -euo pipefail
cd /autograder/source
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update && apt-get install -y python3 python3-pip
fi
python3 -m pip install --no-cache-dir -r requirements.txt
# verify the answer key once (each claim's symbolic check); every submission reuses the verification
PYTHONPATH=/autograder/source python3 -m derivcheck.grading.autograder warm
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission.  It always leaves a results.json.
ROOT="${DERIVCHECK_AUTOGRADER_ROOT:-/autograder}"
PY="${DERIVCHECK_PYTHON:-python3}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
cd "$ROOT/source" || exit 0
PYTHONPATH="$ROOT/source" DERIVCHECK_AUTOGRADER_ROOT="$ROOT" "$PY" -m derivcheck.grading.autograder run
if [ ! -s "$RESULTS" ]; then
  cat > "$RESULTS" <<'EOF'
{"score": 0, "output": "The autograder could not start (Python or its packages are missing), so your submission was not graded. Please tell the course staff.", "visibility": "visible", "stdout_visibility": "visible", "tests": []}
EOF
fi
exit 0
"""


def requirements() -> str:
    """Pinned versions of what the grader imports, as installed where the zip is built."""
    out = []
    for dist in RUNTIME_REQUIREMENTS:
        try:
            out.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(dist)
    return "\n".join(out) + "\n"


def _package_dirs() -> dict:
    """Installed import name -> source folder, for derivcheck and its subpackages."""
    import importlib

    out = {}
    for name in ("derivcheck", "derivcheck.derivations", "derivcheck.numerics", "derivcheck.grading",
                 "derivcheck.reports"):
        mod = importlib.import_module(name)
        out[name] = Path(list(mod.__path__)[0])
    return out


def build_zip(assignment: str, output) -> Path:
    """Write the Gradescope autograder zip for ``assignment``; returns its path."""
    blank = template(assignment)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name: str, data, mode: int = 0o644):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)

        add("setup.sh", SETUP_SH, 0o755)
        add("run_autograder", RUN_AUTOGRADER, 0o755)
        add("requirements.txt", requirements())
        add("config.json", json.dumps({"assignment": assignment}, indent=1) + "\n")
        add("submission.yaml", blank)
        for name, folder in sorted(_package_dirs().items()):
            target = name.replace(".", "/")
            for f in sorted(folder.rglob("*")):
                rel = f.relative_to(folder)
                if not f.is_file() or "__pycache__" in rel.parts or f.suffix == ".pyc":
                    continue
                if name == "derivcheck" and rel.parts[0] in ("derivations", "numerics", "grading", "reports"):
                    continue  # the subpackages are added from their own folders
                add(f"{target}/{rel.as_posix()}", f.read_bytes())
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, output)
    return output


# --------------------------------------------------------------------------
# inside Gradescope
# --------------------------------------------------------------------------
def root() -> Path:
    return Path(os.environ.get(ROOT_ENV, "/autograder"))


def _config(base: Path) -> dict:
    p = base / "source" / "config.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def find_submission(folder: Path) -> tuple:
    """(path or None, message): ``submission.yaml`` (or .yml/.json), else the only YAML/JSON file."""
    if not folder.is_dir():
        return None, f"no submission folder ({folder})"
    for name in ("submission.yaml", "submission.yml", "submission.json"):
        if (folder / name).is_file():
            return folder / name, ""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in (".yaml", ".yml", ".json"))
    if len(files) == 1:
        return files[0], ""
    if not files:
        names = ", ".join(sorted(f.name for f in folder.iterdir())) or "nothing"
        return None, (f"no .yaml, .yml or .json file was uploaded (found: {names}). Upload your answers as "
                      "submission.yaml (the course gives a blank one to fill in).")
    return None, (f"{len(files)} YAML/JSON files were uploaded ({', '.join(f.name for f in files[:5])}); upload "
                  "one, named submission.yaml")


def _failure(message: str) -> dict:
    return {"score": 0.0, "output": message, "output_format": "md", "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [{"name": "reading the submission", "number": "0", "score": 0.0, "status": "failed",
                       "output": message, "output_format": "md", "visibility": "visible"}]}


def run(base: Optional[Path] = None) -> dict:
    """Grade the submission under ``base`` (default ``/autograder``) and write results/results.json."""
    base = base or root()
    out = base / "results" / "results.json"
    start = time.perf_counter()
    try:
        from . import formats
        from .batch import grade_source
        from .submission import SubmissionError, read_bytes

        assignment = _config(base).get("assignment")
        path, problem = find_submission(base / "submission")
        if path is None:
            doc = _failure(problem)
        else:
            try:
                data = read_bytes(path)
                report = grade_source(path.name, data, assignment=assignment)
            except SubmissionError as exc:
                from .batch import error_report

                report = error_report(path.name, exc, assignment)
            report.elapsed_s = time.perf_counter() - start
            doc = formats.to_gradescope(report, "student")
    except BaseException as exc:  # noqa: BLE001  (a crash becomes a results file, never "autograder failed")
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        sys.stderr.write("".join(tb))
        doc = _failure(f"The autograder crashed while grading ({type(exc).__name__}: {exc}); your submission "
                       "was not graded. Please tell the course staff; resubmitting will not help.")
    _write(out, json.dumps(doc, indent=1) + "\n")
    return doc


def _write(path: Path, text: str) -> None:
    """Atomic and self-contained: it must work when the rest of the grader cannot even be imported."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def warm(assignment: Optional[str] = None) -> None:
    """Verify the assignment's answer key once (setup.sh), so that each run reuses the verification."""
    from .keys import load_key

    assignment = assignment or _config(root()).get("assignment")
    load_key([q.id for q in _assignment_questions(assignment)] if assignment else None)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd = argv[0] if argv else "run"
    if cmd == "warm":
        warm()
        return 0
    if cmd == "run":
        run()
        return 0
    sys.stderr.write("usage: python -m derivcheck.grading.autograder run|warm\n")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
