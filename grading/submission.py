r"""Reading a student's submission file safely.

    from derivcheck.grading.submission import load_submission, SubmissionError
    sub = load_submission("alice.yaml")   # {"student", "answers", "assignment", "warnings", "source"}

A submission is YAML or JSON: ``student`` (a name or ID), optionally
``assignment`` (its slug), and ``answers`` (question ID -> answer).  Files
come from students, so the loader assumes nothing:

* the size is capped *before* parsing (:data:`MAX_BYTES`);
* bytes are decoded as UTF-8 (a BOM is dropped); anything else is a
  :class:`SubmissionError` that names the byte, line and column;
* YAML is read by a ``SafeLoader`` subclass that rejects anchors and aliases
  (a few hundred bytes of aliases can expand to gigabytes) and counts nodes
  (:data:`MAX_NODES`);
* a malformed file raises :class:`SubmissionError` with the file, line,
  column and advice (``put LaTeX in single quotes``, ``indent with spaces``);
* LaTeX written in double quotes, where YAML and JSON read ``\t``, ``\b``,
  ``\f``, ``\n``, ``\r``, ``\a``, ``\v``, ``\e`` as control characters (so
  ``"\top"`` becomes a tab and ``op``), is restored when the file shows the
  backslash escape, with a warning;
* duplicate question IDs (the later answer is graded), unknown question IDs
  and a missing ``student`` are warnings in the output, not silent.

:func:`answer_size_problem` is the size limit every answer kind is held to.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from .results import warning

MAX_BYTES = 512 * 1024  # a full submission of the longest sheet is a few KiB
MAX_NODES = 20_000  # YAML nodes (scalars, lists, mappings) in one file
MAX_ANSWER_CHARS = {"text": 50_000, "code": 50_000, "derivation": 20_000}
DEFAULT_MAX_ANSWER_CHARS = 20_000  # one expression, matrix, point, set or label (the parser's own guard is 4,000)
MAX_ITEMS = 200  # items of a list answer (a derivation's steps, a set's elements)
MAX_DEPTH = 4  # nesting of lists/mappings inside one answer

SINGLE_QUOTES = "put every LaTeX answer in single quotes ('\\frac{1}{2}') or in a block scalar (|)"


class SubmissionError(ValueError):
    """The submission file or object is malformed; the message says where and what to do."""

    def __init__(self, message: str, *, file: Optional[str] = None, line: Optional[int] = None,
                 column: Optional[int] = None, advice: str = ""):
        self.message, self.file, self.line, self.column, self.advice = message, file, line, column, advice
        where = file or ""
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        text = f"{where}: {message}" if where else message
        if advice:
            text += f" ({advice})"
        super().__init__(text)

    def to_dict(self) -> dict:
        out = {"message": self.message, "file": self.file, "line": self.line, "column": self.column,
               "advice": self.advice, "text": str(self)}
        return {k: v for k, v in out.items() if v not in (None, "")}


# --------------------------------------------------------------------------
# double-quoted escapes that eat LaTeX commands
# --------------------------------------------------------------------------
#: control character produced by a YAML/JSON escape -> the two characters the student typed
_ESCAPED = {"\t": "\\t", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\x07": "\\a", "\x0b": "\\v",
            "\x1b": "\\e", "\x00": "\\0", "\x85": "\\N", "\xa0": "\\_", "\u2028": "\\L", "\u2029": "\\P"}


def _restore_escapes(value: str, raw: Optional[str]) -> Optional[str]:
    """The LaTeX the student typed, if a double-quoted value lost commands to escapes (else None).

    ``raw`` is the scalar's source text; a control character is restored only
    when the source shows the matching backslash escape (a real tab stays a tab)."""
    if not any(ch in value for ch in _ESCAPED):
        return None
    if raw is not None and not any(esc in raw for ch, esc in _ESCAPED.items() if ch in value):
        return None
    return "".join(_ESCAPED.get(ch, ch) for ch in value)


# --------------------------------------------------------------------------
# the YAML loader
# --------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases, with a node budget, duplicate-key records and escape repair."""

    def __init__(self, stream):
        super().__init__(stream)
        self.nodes = 0
        self.duplicates: list = []  # (key, line of the later one, line of the first)
        self.repairs: list = []  # (line, before, after)
        self._text = stream if isinstance(stream, str) else None

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in a submission", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.composer.ComposerError(
                None, None, f"anchors (&{anchor}) are not allowed in a submission", event.start_mark)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES} values in one submission", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen: dict = {}
        mapping: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be a plain value (not a list or "
                    "mapping)", key_node.start_mark) from None
            if key in seen:
                self.duplicates.append((key, key_node.start_mark.line + 1, seen[key]))
            seen[key] = key_node.start_mark.line + 1
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_str(self, node):
        value = super().construct_scalar(node)
        if node.style == '"':
            raw = None
            if self._text is not None:
                raw = self._text[node.start_mark.index:node.end_mark.index]
            fixed = _restore_escapes(value, raw)
            if fixed is not None:
                self.repairs.append((node.start_mark.line + 1, value, fixed))
                return fixed
        return value


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True))


def safe_yaml(text: str):
    """YAML text read with the submission loader's limits (no aliases, a node budget); raises yaml.YAMLError."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_advice(exc: yaml.YAMLError) -> str:
    problem = str(getattr(exc, "problem", "") or exc)
    if "escape" in problem:
        return ("in double quotes a backslash starts an escape: " + SINGLE_QUOTES)
    if "'\\t'" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "alias" in problem or "anchor" in problem:
        return "write each answer out in full; '&' and '*' at the start of a value must be quoted"
    if "mapping values are not allowed" in problem:
        return "an answer that contains ': ' must be quoted: " + SINGLE_QUOTES
    if "found character '%'" in problem or "found character '@'" in problem or "'`'" in problem:
        return "quote the answer: " + SINGLE_QUOTES
    if "more than" in problem:
        return "a submission holds one answer per question"
    return "check the indentation and the quotes near this line; " + SINGLE_QUOTES


def _yaml_error(exc: yaml.YAMLError, name: str) -> SubmissionError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    msg = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    return SubmissionError(msg, file=name, line=mark.line + 1 if mark else None,
                           column=mark.column + 1 if mark else None, advice=_yaml_advice(exc))


# --------------------------------------------------------------------------
# reading bytes
# --------------------------------------------------------------------------
def _line_col(text: str, index: int) -> tuple:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def decode(data: bytes, name: str) -> str:
    """UTF-8 text of a submission (a BOM dropped), or a SubmissionError naming the bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError("the file is UTF-16, not UTF-8", file=name,
                              advice="save it as UTF-8 (in most editors: Save As, encoding UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(before, len(before))
        raise SubmissionError(f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                              "cannot be decoded", file=name, line=line, column=col,
                              advice="save the file as UTF-8 (in most editors: Save As, encoding UTF-8)") from None


def read_bytes(path: Union[str, Path], max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, refusing to read more than ``max_bytes`` (checked before parsing)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise SubmissionError("is a folder, not a submission file", file=str(path),
                                  advice="give the folder to 'derivcheck grade', which grades every file in it")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except SubmissionError:
        raise
    except OSError as exc:
        raise SubmissionError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > max_bytes:
        raise SubmissionError(f"the file is larger than {max_bytes // 1024} KiB", file=str(path),
                              advice="a submission holds short answers; remove images or pasted output")
    return data


def _json_pairs(duplicates: list):
    def hook(pairs):
        out: dict = {}
        for k, v in pairs:
            if k in out:
                duplicates.append((k, None, None))
            out[k] = v
        return out

    return hook


def _repair_json(obj, repairs: list):
    if isinstance(obj, str):
        fixed = _restore_escapes(obj, None)  # JSON strings cannot hold raw control characters: all came from escapes
        if fixed is not None:
            repairs.append((None, obj, fixed))
            return fixed
        return obj
    if isinstance(obj, list):
        return [_repair_json(x, repairs) for x in obj]
    if isinstance(obj, dict):
        return {k: _repair_json(v, repairs) for k, v in obj.items()}
    return obj


def parse_text(text: str, name: str = "<submission>") -> tuple:
    """(data, duplicates, repairs) from YAML or JSON text (JSON first when it looks like JSON)."""
    duplicates: list = []
    repairs: list = []
    if text.lstrip().startswith("{") and name.lower().endswith(".json"):
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs(duplicates))
        except json.JSONDecodeError as exc:
            raise SubmissionError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno, column=exc.colno,
                                  advice="check the commas and quotes near this point; in JSON every backslash "
                                         "of LaTeX is written twice (\"\\\\frac\")") from None
        return _repair_json(data, repairs), duplicates, repairs
    try:
        loader = _Loader(text)  # the reader refuses control characters already here
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SubmissionError(f"the file contains the control character U+{ord(char):04X}, which YAML cannot read",
                              file=name, line=line, column=col,
                              advice="delete that character - it is often pasted in invisibly from a PDF") from None
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except RecursionError:
        raise SubmissionError("the file is nested too deeply", file=name) from None
    finally:
        loader.dispose()
    return data, loader.duplicates, loader.repairs


# --------------------------------------------------------------------------
# the submission
# --------------------------------------------------------------------------
def _known_questions() -> dict:
    from derivcheck import catalogue

    return catalogue.questions()


def load_submission(source: Union[str, Path, dict, bytes], *, name: Optional[str] = None,
                    max_bytes: int = MAX_BYTES) -> dict:
    """A validated submission: ``{"student", "answers", "assignment", "warnings", "source"}``.

    ``source`` is a dict, a file path, or the file's bytes (then ``name``
    says where they came from).  Raises :class:`SubmissionError`."""
    duplicates: list = []
    repairs: list = []
    if isinstance(source, dict):
        data, name = source, name
    else:
        if isinstance(source, bytes):
            name = name or "<submission>"
            if len(source) > max_bytes:
                raise SubmissionError(f"the file is larger than {max_bytes // 1024} KiB", file=name)
            raw = source
        else:
            name = name or str(source)
            raw = read_bytes(source, max_bytes)
        text = decode(raw, name)
        data, duplicates, repairs = parse_text(text, name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SubmissionError("a submission is a mapping with 'student' and 'answers'", file=name,
                              advice="start the file with 'student: <your ID>' and 'answers:'")
    warnings: list = []
    answers = data.get("answers")
    if answers is None:
        answers = {}
        warnings.append(warning("no-answers", "the submission has no answers: every question scores 0"))
    if not isinstance(answers, dict):
        raise SubmissionError("'answers' must be a mapping from question ID to answer", file=name,
                              advice="write one 'ID: answer' line per question under 'answers:' "
                                     "(run 'derivcheck template ASSIGNMENT' for a blank one)")
    unknown_top = sorted(str(k) for k in data if k not in ("student", "answers", "assignment"))
    if unknown_top:
        warnings.append(warning("unknown-field", f"ignored fields: {', '.join(unknown_top)} (a submission has "
                                                 "'student', 'assignment' and 'answers')"))
    student = data.get("student")
    if student is None or (isinstance(student, str) and not student.strip()):
        student = Path(name).stem if name and not name.startswith("<") else "anonymous"
        warnings.append(warning("missing-student", f"no 'student' in the submission: graded as {student!r}"))
    student = str(student).strip()
    assignment = data.get("assignment")
    assignment = str(assignment).strip() if assignment is not None else None
    answer_ids = {str(k) for k in answers}
    for key, later, first in duplicates:
        if str(key) in answer_ids:
            where = f" (lines {first} and {later})" if later else ""
            warnings.append(warning("duplicate-question", f"{key} is answered twice{where}: the later answer "
                                                          "was graded", question=str(key), line=later))
    for line, before, after in repairs:
        escapes = sorted({_ESCAPED[ch] for ch in before if ch in _ESCAPED})
        warnings.append(warning(
            "yaml-escape", f"in a double-quoted value{f' (line {line})' if line else ''} the escapes "
                           f"{', '.join(escapes)} were read as control characters, which cuts LaTeX commands such "
                           f"as \\top or \\frac; the backslashes were restored and the answer was read as "
                           f"{after[:80]!r}. Next time {SINGLE_QUOTES}", line=line))
    known = _known_questions()
    assignments = {qid.split("/")[0] for qid in known}
    if assignment is not None and assignment not in assignments:
        from derivcheck.catalogue import did_you_mean

        warnings.append(warning("unknown-assignment", f"unknown assignment {assignment!r}; known: "
                                                      f"{', '.join(sorted(assignments))}.{did_you_mean(assignment, assignments)}"))
        assignment = None
    clean: dict = {}
    for k, v in answers.items():
        qid = str(k).strip()
        if qid not in known:
            from derivcheck.catalogue import did_you_mean

            prefix = f"{assignment}/{qid}" if assignment else None
            if prefix in known:  # 'answers: {4.1: ...}' under 'assignment: ift6135-h22'
                qid = prefix
            else:
                warnings.append(warning("unknown-question", f"unknown question ID {qid!r}: not graded."
                                                            f"{did_you_mean(qid, known)}", question=qid))
        clean[qid] = v
    return {"student": student, "answers": clean, "assignment": assignment, "warnings": warnings, "source": name}


def assignments_of(sub: dict) -> tuple:
    """The assignment(s) a submission answers: its ``assignment`` field, else the prefixes of its known IDs."""
    if sub.get("assignment"):
        return (sub["assignment"],)
    known = _known_questions()
    seen: dict = {}
    for qid in sub["answers"]:
        if qid in known:
            seen.setdefault(qid.split("/")[0], None)
    return tuple(seen)


def answer_size_problem(answer: Any, kind: str) -> Optional[str]:
    """Why an answer is too large to grade (None when it is within the limits of its kind)."""
    limit = MAX_ANSWER_CHARS.get(kind, DEFAULT_MAX_ANSWER_CHARS)

    def walk(x, depth: int) -> Optional[str]:
        if depth > MAX_DEPTH:
            return f"the answer is nested more than {MAX_DEPTH} levels deep"
        if isinstance(x, str):
            if len(x) > limit:
                return f"the answer is {len(x)} characters long; a {kind} answer may have at most {limit}"
            return None
        if isinstance(x, (list, tuple, set, dict)):
            if len(x) > MAX_ITEMS:
                return f"the answer has {len(x)} items; at most {MAX_ITEMS} are read"
            items = list(x.items()) if isinstance(x, dict) else list(x)
            for it in items:
                for y in (it if isinstance(x, dict) else (it,)):
                    problem = walk(y, depth + 1)
                    if problem:
                        return problem
        return None

    return walk(answer, 0)
