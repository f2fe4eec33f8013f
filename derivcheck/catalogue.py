"""The question catalogue: one data record per question, the single source of a question.

The project ships its own copy (``derivcheck/questions.yaml``) of the shared
catalogue, with the same IDs, kinds and options, so an installed derivcheck
works anywhere; a test keeps the IDs and kinds in sync with
``../shared/questions.yaml`` when that file is present.  More files (a new
assignment) are added with ``--questions FILE|DIR`` (:func:`use_questions`) or
the environment variable ``DERIVCHECK_QUESTIONS`` (paths separated by ``:``).

A file is a YAML mapping.  Two top-level keys are reserved:

* ``contexts:`` named notation contexts, shared by the questions and claims
  that name them (``context: simsiam``);
* ``claims:`` claims written as data (``lhs``, ``relation``, ``rhs``,
  ``assumptions``, ``context``): :mod:`derivcheck.derivations.records`
  registers them next to the Python claims.

Every other top-level key is an assignment slug whose value maps question
numbers to records.  The fields of a record are listed in :data:`QUESTION_FIELDS`
(and in the README).  A field named after the record's kind (``derivation:``)
is a kind-specific block handed to that kind's grader as is; a validator can
be registered for it with :func:`register_block`.

Validation is by :func:`check_question`, :func:`check_context` and
:func:`check_claim`: a problem is a :class:`RecordError` naming the file, the
line and the field.  A bad record fails its own question only: it stays in the
catalogue with its ``errors`` (``derivcheck list --questions FILE`` shows them,
grading it answers with the error), and :func:`problems` lists every one.
"""
from __future__ import annotations

import difflib
import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

CATALOGUE_PATH = Path(__file__).with_name("questions.yaml")

KINDS = ("expression", "matrix", "point", "set", "choice", "choices", "mapping", "derivation", "code", "text",
         "unavailable")
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
RELATIONS = ("=", "<=", ">=", "<", ">")
RESERVED = ("contexts", "claims")
#: kinds whose reference may be written in LaTeX (``answer:``) in a record
LATEX_KINDS = ("expression", "matrix", "point", "set")

# field -> (accepted Python types, what to write) ---------------------------------------------------
_STR, _NUM, _LIST, _MAP, _BOOL = (str,), (int, float), (list,), (dict,), (bool,)
QUESTION_FIELDS = {
    "kind": (_STR, "one of " + ", ".join(KINDS)),
    "ask": (_STR, "the question in a few words"),
    "notation": (_STR, "the notation a student may use (shown to students)"),
    "points": (_NUM, "a number >= 0"),
    "options": (_LIST + _MAP, "a list of option labels, or a mapping label -> {claim: ID}"),
    "keys": (_LIST, "a list of the mapping's keys"),
    "function": (_STR, "the function a code answer defines"),
    "context": (_STR + _MAP, "the name of a context under 'contexts:', or a context record"),
    "answer": (_STR + _LIST + _NUM, "the reference answer in LaTeX (a list of items for a set)"),
    "claim": (_STR, "the ID of the claim whose answer is the key (or that confirms 'answer')"),
    "adapter": (_STR, "the key adapter of the claim's SymPy notation (vae, gan_theory)"),
    "targets": (_LIST, "names an answer may give on its left-hand side"),
    "forbid": (_LIST, "names an answer may not use"),
    "forbid_ops": (_LIST, "operators an answer may not use (kl, jsd)"),
    "only_through": (_STR, "LaTeX of the only form in which the context's objects may appear"),
    "restates": (_LIST, "LaTeX of the quantity asked for: an answer that contains it only restates the question"),
    "labels": (_BOOL, "true for a set of plain labels"),
    "point_vars": (_LIST, "the names of a point's coordinates, in order"),
    "visibility": (_STR, "one of " + ", ".join(VISIBILITY)),
    "rubric": (_STR, "what a full answer contains (shown to staff only)"),
    "unavailable": (_STR, "why the item cannot be checked"),
    "hints": (_LIST, "a list of {answer: LATEX, message: TEXT} for known wrong answers"),
    "accept": (_LIST, "answers that must be graded correct"),
    "reject": (_LIST, "answers that must be graded wrong"),
}
CONTEXT_FIELDS = {
    "description": (_STR, "the notation in words (shown to students)"),
    "objects": (_MAP, "a mapping name -> object (or a domain, for a scalar)"),
    "variables": (_MAP + _LIST, "random variables with finite supports: name -> [min size, max size]"),
    "dims": (_MAP, "symbolic sizes: name -> [min, max]"),
    "identity_dim": (_STR, "the size of a bare I"),
    "imaginary_unit": (_BOOL, "true when i is the imaginary unit"),
    "default_expectation": (_STR, "the density of an \\mathbb{E}[...] written without a subscript"),
}
OBJECT_KINDS = ("scalar", "vector", "matrix", "density", "joint", "field", "map", "function")
OBJECT_FIELDS = {
    "kind": (_STR, "one of " + ", ".join(OBJECT_KINDS)),
    "domain": (_STR, "real, positive, unit, nonneg, int, posint, complex"),
    "shape": (_LIST, "[rows] for a vector, [rows, cols] for a matrix (dimension names or numbers)"),
    "structure": (_STR, "general, symmetric, spd, psd, orthogonal, unit, simplex, commuting"),
    "over": (_LIST, "the variables a density sums to one over / a field depends on"),
    "given": (_LIST, "the conditioning variables of a density"),
    "aliases": (_LIST, "other spellings"),
    "definition": (_STR, "LaTeX formula in terms of other objects"),
    "description": (_STR, "the object in words"),
    # used by the step checker (grading/steps.py); see grading.context.Obj
    "depends": (_LIST, "parameters it depends on (for 'up to a term constant in')"),
    "fixed": (_LIST, "a joint's variables whose marginal does not depend on those parameters"),
    "index": (_LIST, "an indexed family: placeholder names of its indices"),
    "mirror": (_STR, "a field equal to this other field at the mirrored point"),
    "members": (_NUM, "a family of base values: how many members are drawn"),
    "params": (_LIST, "argument names written after a defined object and ignored"),
}
VARIABLE_FIELDS = {
    "size": (_LIST, "[min, max] size of the support"),
    "copy_of": (_STR, "an i.i.d. copy of this variable"),
    "like": (_STR, "the same support size as this other variable"),
    "measure": (_STR, "a positive field over this variable giving each point's volume"),
}
DOMAINS = ("real", "positive", "unit", "nonneg", "int", "posint", "complex", "small", "few")
STRUCTURES = ("general", "symmetric", "spd", "psd", "orthogonal", "unit", "simplex", "commuting", "exchangeable")
CLAIM_FIELDS = {
    "title": (_STR, "one line"),
    "questions": (_LIST, "the question IDs the claim answers"),
    "context": (_STR + _MAP, "the name of a context, or a context record"),
    "lhs": (_STR + _MAP, "LaTeX, or {derivative: LATEX, wrt: NAME}"),
    "relation": (_STR, "one of " + ", ".join(RELATIONS)),
    "rhs": (_STR, "LaTeX"),
    "assumptions": (_LIST, "LaTeX assumptions (the context's domains encode them)"),
    "expect": (_STR, "holds (default) or fails (a refuted statement)"),
    "note": (_STR, "why a refuted statement is wrong"),
    "rejects": (_LIST, "wrong right-hand sides (LaTeX) that the same checks must refute"),
}


class RecordError(ValueError):
    """A record does not follow the schema; the message names the file, the line and the field."""

    def __init__(self, where: str, field_name: str, message: str):
        super().__init__(f"{where}: {field_name}: {message}" if field_name else f"{where}: {message}")
        self.where = where
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Source:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Question:
    """One question record: its ID, kind, the record's fields (``spec``) and where it was written."""

    id: str
    assignment: str
    number: str
    kind: str
    spec: dict = field(default_factory=dict, compare=False, hash=False)
    source: Optional[Source] = field(default=None, compare=False, hash=False)
    errors: tuple = field(default=(), compare=False, hash=False)

    @property
    def ask(self) -> str:
        return self.spec.get("ask", "")

    @property
    def block(self) -> dict:
        """The kind-specific block (``derivation:`` of a derivation question), or {}."""
        b = self.spec.get(self.kind)
        return b if isinstance(b, dict) else {}

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Record:
    """A named context or a data claim, with where it was written."""

    name: str
    data: dict = field(compare=False, hash=False)
    source: Optional[Source] = field(default=None, compare=False, hash=False)
    errors: tuple = field(default=(), compare=False, hash=False)


# --------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _construct(node, path: tuple, lines: dict, scalars):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k_node, v_node in node.value:
            if not isinstance(k_node, yaml.ScalarNode):
                raise yaml.YAMLError(f"line {k_node.start_mark.line + 1}: a mapping key must be a plain value")
            key = scalars.construct_object(k_node)
            key = key if isinstance(key, str) else str(key)
            out[key] = _construct(v_node, path + (key,), lines, scalars)
            lines[path + (key,)] = k_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, path + (i,), lines, scalars) for i, v in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)


def load_yaml(text: str, name: str = "<text>") -> tuple:
    """(data, lines): the YAML document and, for every path of keys/indices in it, its 1-based line."""
    node = yaml.compose(text, Loader=_LOADER)
    lines: dict = {}
    if node is None:
        return {}, lines
    return _construct(node, (), lines, yaml.SafeLoader("")), lines


# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------
#: kind -> validator(block, where) -> list of (field, message); registered by the kind's grader module
BLOCK_VALIDATORS: dict = {}


def register_block(kind: str, validate: Callable) -> None:
    """Validate the ``<kind>:`` block of records of ``kind`` with ``validate(block) -> [(field, message)]``."""
    BLOCK_VALIDATORS[kind] = validate


class _Checker:
    def __init__(self, file: str, lines: dict, path: tuple):
        self.file, self.lines, self.path = file, lines, path
        self.errors: list = []

    def where(self, *sub) -> str:
        p = self.path + tuple(sub)
        while p and p not in self.lines:
            p = p[:-1]
        return f"{self.file}:{self.lines.get(p, 0)}"

    def error(self, field_name: str, message: str, *sub) -> None:
        self.errors.append(RecordError(self.where(*(sub or (field_name.split(".")[0],))), field_name, message))

    def fields(self, data: Any, schema: dict, what: str, extra: tuple = ()) -> bool:
        if not isinstance(data, dict):
            self.errors.append(RecordError(self.where(), "", f"a {what} is a mapping of fields, got "
                                           f"{type(data).__name__}"))
            return False
        for k, v in data.items():
            if k in extra:
                continue
            if k not in schema:
                close = difflib.get_close_matches(str(k), list(schema) + list(extra), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (fields: {', '.join(schema)})"
                self.error(str(k), f"unknown field of a {what}{hint}")
                continue
            types, wanted = schema[k]
            if isinstance(v, bool) and bool not in types:
                ok = False
            else:
                ok = isinstance(v, types)
            if not ok:
                self.error(str(k), f"expected {wanted}, got {v!r}")
        return True


def check_context(data: Any, ch: _Checker) -> None:
    if not ch.fields(data, CONTEXT_FIELDS, "context"):
        return
    dims = data.get("dims") or {}
    if isinstance(dims, dict):
        for d, rng in dims.items():
            if not (isinstance(rng, int) and rng > 0) and not (
                    isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, int) and x > 0 for x in rng)
                    and rng[0] <= rng[1]):
                ch.error(f"dims.{d}", "a size is a positive integer or [min, max]", "dims", d)
    variables = data.get("variables") or {}
    names = list(variables) if isinstance(variables, (dict, list)) else []
    if isinstance(variables, dict):
        for v, rng in variables.items():
            if isinstance(rng, dict):
                inner = _Checker(ch.file, ch.lines, ch.path + ("variables", v))
                inner.fields(rng, VARIABLE_FIELDS, "variable")
                ch.errors += [RecordError(e.where, f"variables.{v}.{e.field}", e.message) for e in inner.errors]
                rng = rng.get("size")
            if rng is not None and not (isinstance(rng, list) and len(rng) == 2 and
                                        all(isinstance(x, int) and x > 0 for x in rng)):
                ch.error(f"variables.{v}", "a support size is [min, max] (positive integers) or empty",
                         "variables", v)
    objects = data.get("objects") or {}
    if not isinstance(objects, dict):
        return
    for name, spec in objects.items():
        sub = ("objects", name)
        if isinstance(spec, str):
            if spec not in DOMAINS:
                ch.error(f"objects.{name}", f"a scalar's domain is one of {', '.join(DOMAINS)}, got {spec!r}", *sub)
            continue
        inner = _Checker(ch.file, ch.lines, ch.path + sub)
        if not inner.fields(spec, OBJECT_FIELDS, "context object"):
            ch.errors += inner.errors
            continue
        for e in inner.errors:
            ch.errors.append(RecordError(e.where, f"objects.{name}.{e.field}", e.message))
        kind = spec.get("kind", "scalar")
        if kind not in OBJECT_KINDS:
            ch.error(f"objects.{name}.kind", f"one of {', '.join(OBJECT_KINDS)}, got {kind!r}", *sub, "kind")
        if spec.get("domain", "real") not in DOMAINS:
            ch.error(f"objects.{name}.domain", f"one of {', '.join(DOMAINS)}", *sub, "domain")
        if spec.get("structure", "general") not in STRUCTURES:
            ch.error(f"objects.{name}.structure", f"one of {', '.join(STRUCTURES)}", *sub, "structure")
        shape = spec.get("shape", [])
        need = {"vector": 1, "matrix": 2}.get(kind)
        if need and spec.get("definition") is None and (not isinstance(shape, list) or len(shape) != need):
            ch.error(f"objects.{name}.shape", f"a {kind} needs shape: [{'rows' if need == 1 else 'rows, cols'}]",
                     *sub)
        for d in shape if isinstance(shape, list) else []:
            if isinstance(d, str) and d not in dims:
                ch.error(f"objects.{name}.shape", f"dimension {d!r} is not declared under dims", *sub, "shape")
        for v in list(spec.get("over", []) or []) + list(spec.get("given", []) or []):
            if v not in names:
                ch.error(f"objects.{name}", f"variable {v!r} is not declared under variables", *sub)


def check_question(q: dict, ch: _Checker, contexts: dict) -> None:
    kind = q.get("kind") if isinstance(q, dict) else None
    if not ch.fields(q, QUESTION_FIELDS, "question record", extra=(kind,) if kind in KINDS and kind not in QUESTION_FIELDS else ()):
        return
    if "kind" not in q:
        ch.error("kind", "missing: every record names its kind (" + ", ".join(KINDS) + ")", )
        return
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        ch.error("kind", f"unknown kind {kind!r}" + (f" (did you mean {close[0]!r}?)" if close else
                                                    f"; kinds: {', '.join(KINDS)}"))
        return
    if "points" in q and isinstance(q["points"], (int, float)) and not isinstance(q["points"], bool) \
            and q["points"] < 0:
        ch.error("points", "a number >= 0")
    if q.get("visibility", "visible") not in VISIBILITY:
        ch.error("visibility", f"one of {', '.join(VISIBILITY)}, got {q.get('visibility')!r}")
    if kind in ("choice", "choices", "mapping") and not q.get("options"):
        ch.error("options", f"a {kind} question lists its options")
    if kind == "mapping" and not q.get("keys"):
        ch.error("keys", "a mapping question lists its keys")
    if isinstance(q.get("options"), dict):
        for label, st in q["options"].items():
            if not (isinstance(st, dict) and set(st) <= {"claim", "text"} and isinstance(st.get("claim"), str)):
                ch.error(f"options.{label}", "an option's statement is {claim: CLAIM_ID} (its truth is that "
                         "claim's verified status)", "options", label)
    if "answer" in q and kind not in LATEX_KINDS:
        ch.error("answer", f"a {kind} question's key is derived (from claims: 'claim:' or options with claims), "
                 f"not written; 'answer:' is for {', '.join(LATEX_KINDS)}")
    if kind == "set" and "answer" in q and not isinstance(q["answer"], list):
        ch.error("answer", "a set's reference is a list of items")
    ctx = q.get("context")
    if isinstance(ctx, str) and ctx not in contexts:
        close = difflib.get_close_matches(ctx, list(contexts), n=1)
        ch.error("context", f"no context named {ctx!r}" + (f" (did you mean {close[0]!r}?)" if close else
                                                          f"; contexts: {', '.join(sorted(contexts))}"))
    elif isinstance(ctx, dict):
        inner = _Checker(ch.file, ch.lines, ch.path + ("context",))
        check_context(ctx, inner)
        ch.errors += inner.errors
    if kind in LATEX_KINDS and not q.get("labels") and ("answer" in q or q.get("accept") or q.get("reject")) \
            and ctx is None:
        ch.error("context", "a LaTeX answer is read in a notation context: give 'context:'")
    for h_i, h in enumerate(q.get("hints") or []):
        if not (isinstance(h, dict) and set(h) <= {"answer", "message"} and "answer" in h and
                isinstance(h.get("message"), str)):
            ch.error(f"hints[{h_i}]", "a hint is {answer: LATEX, message: TEXT}", "hints", h_i)
    block = q.get(kind) if kind not in QUESTION_FIELDS else None
    if block is not None:
        if not isinstance(block, dict):
            ch.error(kind, f"the {kind} block is a mapping of fields")
        elif kind in BLOCK_VALIDATORS:
            for f, msg in BLOCK_VALIDATORS[kind](block) or ():
                ch.error(f"{kind}.{f}", msg, kind, f)


def check_claim(c: dict, ch: _Checker, contexts: dict) -> None:
    if not ch.fields(c, CLAIM_FIELDS, "claim record"):
        return
    for f in ("lhs", "rhs", "context"):
        if f not in c:
            ch.error(f, "missing: a data claim states lhs, relation, rhs in a context")
    if c.get("relation", "=") not in RELATIONS:
        ch.error("relation", f"one of {', '.join(RELATIONS)}")
    if c.get("expect", "holds") not in ("holds", "fails"):
        ch.error("expect", "holds or fails")
    lhs = c.get("lhs")
    if isinstance(lhs, dict) and not (set(lhs) == {"derivative", "wrt"} and isinstance(lhs["derivative"], str)
                                      and isinstance(lhs["wrt"], str)):
        ch.error("lhs", "a derivative is {derivative: LATEX, wrt: NAME}")
    ctx = c.get("context")
    if isinstance(ctx, str) and ctx not in contexts:
        ch.error("context", f"no context named {ctx!r}; contexts: {', '.join(sorted(contexts))}")
    elif isinstance(ctx, dict):
        inner = _Checker(ch.file, ch.lines, ch.path + ("context",))
        check_context(ctx, inner)
        ch.errors += inner.errors


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------
@dataclass
class Catalogue:
    questions: dict = field(default_factory=dict)   # qid -> Question
    contexts: dict = field(default_factory=dict)    # name -> Record
    claims: dict = field(default_factory=dict)      # claim ID -> Record
    files: list = field(default_factory=list)
    errors: list = field(default_factory=list)      # file-level errors (unreadable YAML)

    def problems(self) -> list:
        out = [str(e) for e in self.errors]
        for r in list(self.contexts.values()) + list(self.claims.values()) + list(self.questions.values()):
            out += [str(e) for e in r.errors]
        return out


def _guarded(check, data, ch: _Checker, *args) -> None:
    """Run a schema check; a value of the wrong type that trips it is reported, never raised."""
    try:
        check(data, ch, *args)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        if not ch.errors:
            ch.errors.append(RecordError(ch.where(), "", f"cannot be checked: {type(exc).__name__}: {exc}"))


def parse_into(cat: Catalogue, text: str, name: str) -> None:
    """Add the records of one YAML text (file ``name``) to ``cat``; problems stay on their records."""
    try:
        data, lines = load_yaml(text, name)
    except yaml.YAMLError as exc:
        cat.errors.append(RecordError(name, "", f"not valid YAML: {exc}"))
        return
    if not isinstance(data, dict):
        cat.errors.append(RecordError(f"{name}:1", "", "a questions file is a mapping (assignment -> records)"))
        return
    cat.files.append(name)
    for cname, cdata in (data.get("contexts") or {}).items():
        ch = _Checker(name, lines, ("contexts", cname))
        if cname in cat.contexts:
            ch.error("", f"context {cname!r} declared twice (also at {cat.contexts[cname].source})")
        _guarded(check_context, cdata, ch)
        cat.contexts[cname] = Record(cname, cdata if isinstance(cdata, dict) else {},
                                     Source(name, lines.get(("contexts", cname), 0)), tuple(ch.errors))
    for cid, cdata in (data.get("claims") or {}).items():
        ch = _Checker(name, lines, ("claims", cid))
        _guarded(check_claim, cdata, ch, cat.contexts)
        if cid in cat.claims:
            ch.error("", f"claim {cid!r} declared twice (also at {cat.claims[cid].source})")
        cat.claims[cid] = Record(cid, cdata if isinstance(cdata, dict) else {},
                                 Source(name, lines.get(("claims", cid), 0)), tuple(ch.errors))
    for assignment, items in data.items():
        if assignment in RESERVED:
            continue
        if not isinstance(items, dict):
            cat.errors.append(RecordError(f"{name}:{lines.get((assignment,), 0)}", str(assignment),
                                          "an assignment maps question numbers to records"))
            continue
        for number, spec in items.items():
            qid = f"{assignment}/{number}"
            ch = _Checker(name, lines, (assignment, number))
            spec = spec if spec is not None else {}
            _guarded(check_question, spec, ch, cat.contexts)
            if qid in cat.questions:
                ch.error("", f"question {qid} declared twice (also at {cat.questions[qid].source})")
            rec = dict(spec) if isinstance(spec, dict) else {}
            kind = rec.get("kind", "text") if rec.get("kind") in KINDS else "text"
            cat.questions[qid] = Question(qid, str(assignment), str(number), kind, rec,
                                          Source(name, lines.get((assignment, number), 0)), tuple(ch.errors))


def parse_catalogue(text: str, name: str = "<text>") -> dict:
    """The question records of one YAML text, by ID (records with problems carry their ``errors``)."""
    cat = Catalogue()
    parse_into(cat, text, name)
    return cat.questions


def question_files(paths) -> list:
    """The YAML files named by ``paths`` (a folder stands for its ``*.yaml``/``*.yml`` files, sorted)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file())
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"--questions {p}: no such file or folder")
    return out


_lock = threading.RLock()
_extra: list = []
_listeners: list = []


def _env_paths() -> list:
    raw = os.environ.get("DERIVCHECK_QUESTIONS", "")
    return [p for p in raw.split(os.pathsep) if p.strip()]


def use_questions(paths) -> list:
    """Add the questions files (or folders) ``paths`` to the catalogue; returns the files added.

    Raises FileNotFoundError for a path that does not exist.  Every cache built
    from the catalogue is cleared (see :func:`on_change`)."""
    files = question_files([paths] if isinstance(paths, (str, Path)) else list(paths))
    with _lock:
        for f in files:
            if f.resolve() not in _extra:
                _extra.append(f.resolve())
    changed()
    return files


def reset_questions() -> None:
    """Back to the project's own catalogue (and ``DERIVCHECK_QUESTIONS``) only (tests)."""
    with _lock:
        _extra.clear()
    changed()


def on_change(fn: Callable) -> Callable:
    """Call ``fn()`` whenever the set of questions files changes (modules drop their caches)."""
    _listeners.append(fn)
    return fn


def changed() -> None:
    catalogue.cache_clear()
    for fn in list(_listeners):
        fn()


@functools.lru_cache(maxsize=None)
def catalogue() -> Catalogue:
    """The project's records plus every added questions file."""
    cat = Catalogue()
    parse_into(cat, CATALOGUE_PATH.read_text(encoding="utf-8"), str(CATALOGUE_PATH))
    with _lock:
        extra = list(_extra)
    for p in [Path(x).resolve() for x in question_files(_env_paths())] + extra:
        if str(p) in cat.files:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            cat.errors.append(RecordError(str(p), "", f"cannot read: {exc}"))
            continue
        parse_into(cat, text, str(p))
    return cat


def questions() -> dict:
    """All catalogue questions by ID."""
    return catalogue().questions


def problems() -> list:
    """Every schema problem of every loaded file, as 'file:line: field: message'."""
    return catalogue().problems()


def did_you_mean(name: str, candidates) -> str:
    """' Did you mean a, b?' for the closest candidates, or '' when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f" Did you mean {', '.join(close)}?" if close else ""


def question(qid: str) -> Question:
    qs = questions()
    if qid not in qs:
        raise KeyError(f"unknown question ID {qid!r}: IDs are '<assignment>/<number>' as in questions.yaml "
                       "(or a file given with --questions)." + did_you_mean(qid, qs))
    return qs[qid]
