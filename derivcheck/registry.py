"""The claim registry: one declaration per claim, one per numeric confirmation.

Modelled on ``torch.distributions.kl.register_kl``: a decorator records the
function in a small registry and returns it unchanged.

    from derivcheck import claim

    @claim("gan_dynamics.eigenvalues", questions=["ift6135-h22/4.3"],
           statement=r"\\lambda = 1 \\pm i\\alpha", assumptions=[r"\\alpha > 0"],
           answer={1 + I*alpha, 1 - I*alpha})
    def eigenvalues(answer):
        return prove.same_set(update_matrix().eigenvals(), answer)

    # numerics/gan_dynamics.py
    @confirms("gan_dynamics.eigenvalues")
    def eigenvalues_lapack(ctx):
        ...
        return NumericResult(evidence=[...])

The global :data:`REGISTRY` is filled by importing the topic modules
(:func:`load_all`); tests build private :class:`Registry` objects.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import pkgutil
import re
import zlib
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional

from . import catalogue
from .model import Claim, Confirmation, Verdict

CLAIM_KINDS = ("theorem", "definition")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


class RegistryError(ValueError):
    """A declaration is malformed; the message says how to fix it."""


def stable_seed(name: str) -> int:
    """A seed derived from a name, identical on every run and machine."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


class Registry:
    def __init__(self, *, validate_questions: bool = True):
        self._claims: dict[str, Claim] = {}
        self._confirmations: dict[str, list[Confirmation]] = defaultdict(list)
        self._validate_questions = validate_questions

    # -- declaring ---------------------------------------------------------
    def claim(
        self,
        id: str,
        *,
        questions: Iterable[str],
        statement: str,
        title: str = "",
        assumptions: Iterable[str] = (),
        answer: Any = None,
        expect: str | Verdict = Verdict.HOLDS,
        note: str = "",
        timeout_s: float = 60.0,
        kind: str = "theorem",
        provenance: str = "",
        rejects: Any = (),
    ) -> Callable:
        """Declare a claim whose symbolic check is the decorated function.

        The function takes ``answer`` as its only argument when ``answer`` is
        given, no argument otherwise, and returns a ``SymbolicResult``.
        ``kind="definition"`` marks a check that only restates a definition;
        ``provenance`` says where a key's data come from when they are not
        derived (a transcription); ``rejects`` lists wrong answers (or is a
        callable returning them) that both sides must reject.
        """

        def register(func: Callable) -> Callable:
            if not ID_PATTERN.match(id):
                raise RegistryError(
                    f"claim ID {id!r} is not a dotted lower-case ID such as 'gan_dynamics.eigenvalues'"
                )
            params = [
                p for p in inspect.signature(func).parameters.values() if p.default is inspect.Parameter.empty
            ]
            wanted = 1 if answer is not None else 0
            if len(params) != wanted:
                raise RegistryError(
                    f"check for claim {id!r} must take {'one argument (the answer)' if wanted else 'no arguments'}"
                    f" because the claim {'declares' if wanted else 'does not declare'} an answer;"
                    f" {func.__qualname__} takes {len(params)}"
                )
            if kind not in CLAIM_KINDS:
                raise RegistryError(f"claim {id!r}: kind must be one of {CLAIM_KINDS}, not {kind!r}")
            if rejects and answer is None:
                raise RegistryError(f"claim {id!r}: rejects=[...] needs an answer= to vary")
            qs = tuple(questions)
            if not qs:
                raise RegistryError(f"claim {id!r} answers no question: give questions=[...] from questions.yaml")
            if self._validate_questions:
                for q in qs:
                    try:
                        catalogue.question(q)
                    except KeyError as exc:
                        raise RegistryError(f"claim {id!r}: {exc.args[0]}") from None
            c = Claim(
                id=id,
                questions=qs,
                statement=statement,
                check=func,
                title=title or (inspect.getdoc(func) or "").split("\n")[0],
                assumptions=tuple(assumptions),
                answer=answer,
                expect=Verdict(expect),
                note=note,
                timeout_s=timeout_s,
                module=func.__module__,
                line=func.__code__.co_firstlineno,
                kind=kind,
                provenance=provenance,
                rejects=rejects if callable(rejects) else tuple(rejects),
            )
            old = self._claims.get(id)
            if old is not None and (old.module, old.line) != (c.module, c.line):
                raise RegistryError(f"claim ID {id!r} declared twice: {old.module}:{old.line} and {c.module}:{c.line}")
            self._claims[id] = c
            return func

        return register

    def confirms(
        self,
        claim_id: str,
        *,
        seed: Optional[int] = None,
        timeout_s: float = 120.0,
        slow: bool = False,
        name: Optional[str] = None,
    ) -> Callable:
        """Declare a numeric confirmation of ``claim_id``.

        The function receives a :class:`NumericContext` (``seed``, ``rng``,
        ``answer``, ``full``) and returns a ``NumericResult``.  ``slow``
        marks long trainings: they run only in the full profile.
        """

        def register(func: Callable) -> Callable:
            conf_name = name or func.__name__
            conf = Confirmation(
                claim_id=claim_id,
                name=conf_name,
                run=func,
                seed=stable_seed(f"{claim_id}/{conf_name}") if seed is None else int(seed),
                timeout_s=timeout_s,
                slow=slow,
                module=func.__module__,
                line=func.__code__.co_firstlineno,
            )
            existing = self._confirmations[claim_id]
            for i, other in enumerate(existing):
                if other.name == conf_name:
                    if (other.module, other.line) != (conf.module, conf.line):
                        raise RegistryError(
                            f"confirmation {conf.qualname} declared twice: {other.module}:{other.line}"
                            f" and {conf.module}:{conf.line}; pass name=... to tell them apart"
                        )
                    existing[i] = conf
                    break
            else:
                existing.append(conf)
            return func

        return register

    # -- reading -----------------------------------------------------------
    def __iter__(self):
        return iter(sorted(self._claims.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._claims)

    def __contains__(self, claim_id: str) -> bool:
        return claim_id in self._claims

    def get(self, claim_id: str) -> Claim:
        try:
            return self._claims[claim_id]
        except KeyError:
            close = difflib.get_close_matches(claim_id, list(self._claims), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else " Run 'derivcheck list' to see the IDs."
            raise KeyError(f"no claim {claim_id!r}.{hint}") from None

    def confirmations(self, claim_id: Optional[str] = None) -> list[Confirmation]:
        if claim_id is not None:
            return list(self._confirmations.get(claim_id, ()))
        return [c for cid in sorted(self._confirmations) for c in self._confirmations[cid]]

    def for_question(self, qid: str) -> list[Claim]:
        return [c for c in self if qid in c.questions]

    def select(self, pattern: Optional[str]) -> list[Claim]:
        """Claims whose ID or one of whose question IDs match ``pattern``.

        A pattern with ``*``/``?``/``[`` is a glob; otherwise it matches an ID
        prefix (``gan_dynamics``) or a question ID prefix (``ift6135-h22/4``).
        """
        claims = list(self)
        if not pattern:
            return claims

        def match(text: str) -> bool:
            if any(ch in pattern for ch in "*?["):
                return fnmatch.fnmatchcase(text, pattern)
            return text == pattern or text.startswith(pattern.rstrip(".") + ".") or text.startswith(pattern)

        return [c for c in claims if match(c.id) or any(match(q) for q in c.questions)]

    def validate(self) -> None:
        """Every confirmation names a declared claim."""
        problems = []
        for cid, confs in self._confirmations.items():
            if cid not in self._claims and confs:
                close = difflib.get_close_matches(cid, list(self._claims), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                where = ", ".join(f"{c.module}:{c.line}" for c in confs)
                problems.append(f"confirmation(s) at {where} name unknown claim {cid!r}{hint}")
        if problems:
            raise RegistryError("; ".join(problems))


#: The project's registry, filled by importing the topic modules.
REGISTRY = Registry()
claim = REGISTRY.claim
confirms = REGISTRY.confirms

TOPIC_PACKAGES = ("derivcheck.derivations", "derivcheck.numerics")


def topic_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]


def load_all(registry: Registry = REGISTRY) -> Registry:
    """Import every derivation and numerics module (idempotent) and validate."""
    for package in TOPIC_PACKAGES:
        for mod in topic_modules(package):
            importlib.import_module(mod)
    registry.validate()
    return registry
