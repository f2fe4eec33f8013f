"""The seams of grading/: no import cycle between its modules; the ``>=`` tokenizer bug stays fixed."""
import ast
from pathlib import Path

import pytest

from derivcheck.grading.syntax import parse, tokenize

GRADING = Path(__file__).resolve().parents[1] / "grading"


def _imports(path: Path, modules: set) -> set:
    """Every grading module ``path`` imports, at module level or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1:
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
        elif node.level == 0 and (node.module or "").startswith("derivcheck.grading"):
            parts = node.module.split(".")
            names = [parts[2]] if len(parts) > 2 else [a.name for a in node.names]
        else:
            continue
        out |= {n for n in names if n in modules and n != path.stem}
    return out


def import_graph() -> dict:
    modules = {p.stem for p in GRADING.glob("*.py")}
    return {p.stem: _imports(p, modules) for p in GRADING.glob("*.py")}


def cycles(graph: dict) -> list:
    """Every module that reaches itself, with one path back."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(" -> ".join(path + (start,)))
                    stack.clear()
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + (nxt,)))
    return found


def test_no_module_in_grading_imports_one_that_imports_it_back():
    graph = import_graph()
    assert {"context", "evaluate", "semantics", "instances", "errors"} <= set(graph)
    assert cycles(graph) == []


def test_the_cycle_finder_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a", "b -> c -> a -> b",
                                                                        "c -> a -> b -> c"]


def test_context_holds_declarations_only():
    assert import_graph()["context"] <= {"instances"}
    assert import_graph()["errors"] == set() and import_graph()["instances"] == set()


def test_public_names_stay_importable_where_they_were():
    from derivcheck.grading import errors
    from derivcheck.grading.context import Instance
    from derivcheck.grading.evaluate import EvalError, Val
    from derivcheck.grading.instances import Instance as Instance2, Val as Val2
    from derivcheck.grading.keys import ADAPTERS
    from derivcheck.grading.semantics import NotationError
    from derivcheck.grading.syntax import ParseError, TooCostly

    assert Instance is Instance2 and Val is Val2
    assert (ParseError, TooCostly, NotationError, EvalError) == (
        errors.ParseError, errors.TooCostly, errors.NotationError, errors.EvalError)
    assert {"vae", "gan_theory"} <= set(ADAPTERS)


@pytest.mark.parametrize("text, rel", [("a >= b", ">="), ("a>=b", ">="), ("a <= b", "<="), (r"a \geq b", ">="),
                                       ("a > b", ">"), ("b < a", "<"), ("x >= 0 <= y", ">=")])
def test_ascii_relations_tokenize_as_one_token(text, rel):
    toks = [(t.type, t.value) for t in tokenize(text)]
    assert ("REL", rel) in toks
    assert ("REL", "=") not in toks
    parse(text)  # and the parser reads it


def test_greater_or_equal_in_the_middle_of_a_text():
    # the bug: '>=' was only recognised at the very start of the text
    assert [(t.type, t.value) for t in tokenize("a >= b")] == [("LETTER", "a"), ("REL", ">="), ("LETTER", "b")]
