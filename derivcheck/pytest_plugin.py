"""pytest integration: every claim is a test item named by its ID.

``pytest derivations`` collects each topic module of ``derivations/`` and
yields one item per claim it declares (the symbolic check);
``pytest numerics`` yields one item per numeric confirmation, named
``<claim id>[<confirmation>]``, plus a skipped ``<claim id>[no numeric
confirmation]`` item for each claim of the topic that has none.  A failing
item prints the residual / counterexample / evidence, not a traceback.

Registered under the ``pytest11`` entry point (pyproject.toml), so an installed
derivcheck runs its claims with ``pytest --pyargs derivcheck.derivations`` from any
folder.  Options: ``--full`` runs confirmations marked slow (long trainings);
``--seed N`` reruns every numeric confirmation under seeds derived from N.
Wrong variants declared with ``@claim(..., rejects=[...])`` become
``<claim id>[rejects:i]`` items (symbolic) and ``<claim id>[<confirmation>][rejects:i]``
items (numeric) that must be rejected.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from .model import Verdict
from .registry import REGISTRY, load_all
from .runner import run_numeric, run_symbolic


def pytest_addoption(parser):
    group = parser.getgroup("derivcheck")
    group.addoption("--full", action="store_true", default=False,
                    help="also run numeric confirmations marked slow (long trainings)")
    group.addoption("--seed", dest="derivcheck_seed", type=int, default=None,
                    help="run base seed: each numeric confirmation gets a seed derived from it and its own name "
                         "(default: the confirmation's fixed seed)")
    group.addoption("--questions", action="append", default=[], metavar="FILE|DIR",
                    help="more question records (YAML file or folder); their data claims become items")


def pytest_configure(config):
    if config.getoption("questions", None):
        from . import catalogue

        catalogue.use_questions(config.getoption("questions"))
    config.addinivalue_line("markers", "slow: long trainings; skipped unless --full is given")


def _package_dir(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).resolve().parent


def _topic(file_path: Path):
    """(package, module name) if ``file_path`` is a topic module of derivations/ or numerics/."""
    if file_path.suffix != ".py" or file_path.name.startswith(("_", "test_", "conftest")):
        return None
    resolved = file_path.resolve()
    for package in ("derivcheck.derivations", "derivcheck.numerics"):
        if resolved.parent == _package_dir(package):
            return package, f"{package}.{resolved.stem}"
    return None


def pytest_collect_file(file_path: Path, parent):
    found = _topic(file_path)
    if found is None:
        return None
    package, module = found
    return TopicFile.from_parent(parent, path=file_path, package=package, module=module)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent):
    """A topic file named on the command line (``pytest derivations/vae.py``)
    would also be imported by pytest's Python collector under a second name
    (``derivations.vae``), declaring its claims twice; :class:`TopicFile`
    already collects it, so the Python collector gets an empty stand-in."""
    if _topic(module_path) is not None:
        return _NothingToCollect.from_parent(parent, path=module_path)
    return None


class _NothingToCollect(pytest.File):
    def collect(self):
        return []


class ClaimCheckFailed(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class TopicFile(pytest.File):
    def __init__(self, *, package: str, module: str, **kwargs):
        super().__init__(**kwargs)
        self.package = package
        self.module = module

    def collect(self):
        importlib.import_module(self.module)
        load_all()
        if self.package == "derivcheck.derivations":
            for c in REGISTRY:
                if c.module == self.module:
                    yield SymbolicItem.from_parent(self, name=c.id, claim_id=c.id)
                    for i, _ in enumerate(c.wrong_variants()):
                        yield SymbolicRejectionItem.from_parent(self, name=f"{c.id}[rejects:{i}]", claim_id=c.id,
                                                                index=i)
            return
        topic = self.module.rsplit(".", 1)[1]
        for conf in REGISTRY.confirmations():
            if conf.module == self.module:
                yield NumericItem.from_parent(self, name=conf.qualname, claim_id=conf.claim_id, conf_name=conf.name)
                c = REGISTRY.get(conf.claim_id)
                for i, _ in enumerate(c.wrong_variants()):
                    yield NumericRejectionItem.from_parent(self, name=f"{conf.qualname}[rejects:{i}]",
                                                           claim_id=conf.claim_id, conf_name=conf.name, index=i)
        for c in REGISTRY:
            if c.topic == topic and not REGISTRY.confirmations(c.id):
                yield MissingNumericItem.from_parent(self, name=f"{c.id}[no numeric confirmation]", claim_id=c.id)


class _ClaimItem(pytest.Item):
    def __init__(self, *, claim_id: str, **kwargs):
        super().__init__(**kwargs)
        self.claim_id = claim_id

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ClaimCheckFailed):
            return excinfo.value.text
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


class SymbolicItem(_ClaimItem):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_marker("symbolic")

    def runtest(self):
        c = REGISTRY.get(self.claim_id)
        result = run_symbolic(c)
        self.user_properties.append(("verdict", result.verdict.value))
        self.user_properties.append(("residual", result.residual))
        if result.verdict is not c.expect:
            raise ClaimCheckFailed(
                f"claim {c.id} ({c.title})\n  statement: {c.statement}\n"
                f"  expected: {c.expect.value}, got: {result.verdict.value}\n" + result.explain()
            )

    def reportinfo(self):
        c = REGISTRY.get(self.claim_id)
        return self.path, max(c.line - 1, 0), c.id


class NumericItem(_ClaimItem):
    def __init__(self, *, conf_name: str, **kwargs):
        super().__init__(**kwargs)
        self.conf_name = conf_name
        self.add_marker("numeric")
        if self._conf().slow:
            self.add_marker("slow")

    def _conf(self):
        return next(c for c in REGISTRY.confirmations(self.claim_id) if c.name == self.conf_name)

    def _run(self, conf, answer):
        """The confirmation's result on ``answer`` (a slow one is skipped unless --full)."""
        full = self.config.getoption("full", False)
        if conf.slow and not full:
            pytest.skip("long training: run with --full")
        result = run_numeric(conf, answer=answer, full=full, seed=_seed_override(self.config))
        self.user_properties.append(("verdict", result.verdict.value))
        return result

    def runtest(self):
        c = REGISTRY.get(self.claim_id)
        result = self._run(self._conf(), c.answer)
        if result.verdict is not c.expect:
            raise ClaimCheckFailed(
                f"claim {c.id} ({c.title})\n  expected: {c.expect.value}, got: {result.verdict.value}\n"
                + result.explain()
            )

    def reportinfo(self):
        return self.path, max(self._conf().line - 1, 0), self.name


def _seed_override(config):
    seed = config.getoption("derivcheck_seed", None)
    return None if seed is None else int(seed)


class SymbolicRejectionItem(_ClaimItem):
    """A wrong variant declared with ``rejects=[...]``: the symbolic check must give ``fails``."""

    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index
        self.add_marker("symbolic")

    def runtest(self):
        c = REGISTRY.get(self.claim_id)
        wrong = c.wrong_variants()[self.index]
        result = run_symbolic(c.variant(answer=wrong))
        self.user_properties.append(("verdict", result.verdict.value))
        if result.verdict is not Verdict.FAILS:
            raise ClaimCheckFailed(f"claim {c.id}: the wrong variant {wrong!r} was not rejected "
                                   f"(got {result.verdict.value})\n" + result.explain())


class NumericRejectionItem(NumericItem):
    """A wrong variant declared with ``rejects=[...]``: each numeric confirmation must give ``fails``."""

    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self):
        conf = self._conf()
        c = REGISTRY.get(self.claim_id)
        wrong = c.wrong_variants()[self.index]
        result = self._run(conf, wrong)
        if result.verdict is not Verdict.FAILS:
            raise ClaimCheckFailed(f"claim {c.id}: the wrong variant {wrong!r} was not rejected by {conf.qualname} "
                                   f"(got {result.verdict.value})\n" + result.explain())


class MissingNumericItem(_ClaimItem):
    def runtest(self):
        pytest.skip(f"claim {self.claim_id} has no numeric confirmation")


# Keep Verdict importable from here for plugin users.
__all__ = ["Verdict", "SymbolicItem", "NumericItem", "MissingNumericItem", "SymbolicRejectionItem",
           "NumericRejectionItem"]
