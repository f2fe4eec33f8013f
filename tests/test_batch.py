r"""Batches that lose no student: files, folders and globs; per-submission isolation; a process pool and
Dask giving the serial results; atomic output; a 1,000-file batch interrupted and resumed."""
import csv
import io
import json
import os
from pathlib import Path

import pytest
import yaml

from derivcheck.grading import batch
from derivcheck.grading.batch import NoSubmissions, collect, grade_many
from test_grading_api import run_cli

A_OK = r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}"


@pytest.fixture(autouse=True)
def _loaded(registry):
    return registry


def write_class(folder: Path, n: int = 6) -> list:
    """A small class: right, wrong, empty, malformed, non-UTF-8 and a duplicate-ID submission."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "alice.yaml": yaml.safe_dump({"student": "alice", "answers": {"ift6135-h22/4.1": A_OK,
                                                                     "ift6135-h22/4.3.behaviour": "diverge"}}),
        "bob.json": json.dumps({"student": "bob", "answers": {"ift6135-h22/4.1": "A", "ift6135-h22/4.2": "(1, 0)"}}),
        "carol.yaml": "student: carol\nassignment: ift6135-h22\nanswers: {}\n",
        "dave.yaml": "student: dave\nanswers:\n  ift6135-h22/5.2: \"\\sigma\"\n",
        "erin.yaml": "student: \xe9rin\nanswers: {}\n",
        "frank.yml": "student: frank\nanswers:\n  ift6135-h22/1.2: instance\n  ift6135-h22/1.2: amortized\n",
    }
    paths = []
    for name, text in list(files.items())[:n]:
        p = folder / name
        p.write_bytes(text.encode("latin-1" if name == "erin.yaml" else "utf-8"))
        paths.append(p)
    return paths


def comparable(rep) -> dict:
    d = rep.to_dict("staff")
    for r in d["results"]:
        r.pop("elapsed_s", None)
    return d


def test_collect_files_folders_and_globs(tmp_path):
    paths = write_class(tmp_path / "subs")
    (tmp_path / "subs" / "notes.txt").write_text("not a submission")
    (tmp_path / "subs" / ".hidden").mkdir()
    (tmp_path / "subs" / ".hidden" / "x.yaml").write_text("student: x")
    got = collect([str(tmp_path / "subs")])
    assert sorted(got) == sorted(str(p) for p in paths)
    assert collect([str(tmp_path / "subs" / "*.yaml"), str(paths[0])]) == sorted(
        str(p) for p in paths if p.suffix == ".yaml")  # no repeats
    for bad in (str(tmp_path / "missing.yaml"), str(tmp_path / "subs" / "*.csv"), str(tmp_path / "empty")):
        if bad.endswith("empty"):
            (tmp_path / "empty").mkdir()
        with pytest.raises(NoSubmissions):
            collect([bad])


def test_each_submission_is_graded_in_isolation(tmp_path):
    paths = write_class(tmp_path)
    reps = dict(grade_many([str(p) for p in paths], jobs=1))
    by = {Path(r.source).name: r for r in reps.values()}
    assert len(by) == 6
    assert by["alice.yaml"].score == 6 and by["alice.yaml"].max_score == 74
    assert by["carol.yaml"].score == 0 and by["carol.yaml"].max_score == 74
    assert by["dave.yaml"].error["line"] == 3 and "single quotes" in by["dave.yaml"].error["advice"]
    assert "UTF-8" in by["erin.yaml"].error["message"]
    assert [w["code"] for w in by["frank.yml"].warnings] == ["duplicate-question"]
    assert by["bob.json"].readable and by["bob.json"].score == 0


def test_process_pool_gives_the_serial_results(tmp_path):
    paths = [str(p) for p in write_class(tmp_path)]
    serial = {i: comparable(r) for i, r in grade_many(paths, jobs=1)}
    pooled = {i: comparable(r) for i, r in grade_many(paths, jobs=2)}
    assert pooled == serial


def test_cli_grades_a_folder_writes_atomically_and_exits_1_for_unreadable_files(tmp_path, capsys):
    write_class(tmp_path / "subs")
    out = tmp_path / "out" / "grades.json"
    assert run_cli("grade", str(tmp_path / "subs"), "-o", str(out), "--jobs", "1", "--quiet") == 1
    doc = json.loads(out.read_text())
    assert isinstance(doc, list) and len(doc) == 6
    assert {d["student"] for d in doc if "error" in d} == {"dave", "erin"}
    assert not list(out.parent.glob(".*.tmp")) and not Path(str(out) + ".partial.jsonl").exists()
    csv_out = tmp_path / "grades.csv"
    assert run_cli("grade", str(tmp_path / "subs" / "*.yaml"), "--format", "csv", "-o", str(csv_out),
                   "--jobs", "1", "--quiet", "--assignment", "ift6135-h22") == 1
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text())))
    assert len(rows) == 4 and all(r["max_score"] == "74" for r in rows)  # --assignment fixes even unreadable ones
    assert {r["student"]: r["total"] for r in rows}["alice"] == "6"
    assert {r["student"] for r in rows if r["error"]} == {"dave", "erin"}
    # all readable: exit 0
    assert run_cli("grade", str(tmp_path / "subs" / "alice.yaml"), "--quiet") == 0
    capsys.readouterr()


def test_audience_flag(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"student": "s", "answers": {"ift6135-h22/5.5": "collapse"}}))
    assert run_cli("grade", str(p), "--audience", "student") == 0
    assert '"staff"' not in capsys.readouterr().out
    assert run_cli("grade", str(p)) == 0
    assert '"rubric"' in capsys.readouterr().out
    assert run_cli("grade", str(p), "--format", "gradescope") == 0  # student by default
    assert "rubric" not in capsys.readouterr().out


def test_a_1000_file_batch_interrupted_and_resumed(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    labels = ["converge", "cycle", "diverge", "Diverge.", "(DIVERGE)", "?"]
    for k in range(1000):
        (folder / f"s{k:04d}.yaml").write_text(
            f"student: s{k:04d}\nassignment: ift6135-h22\nanswers:\n  ift6135-h22/4.3.behaviour: '{labels[k % 6]}'\n"
            + ("  ift6135-h22/1.2: ]\n" if k % 97 == 5 else ""))
    out = tmp_path / "grades.json"
    journal = Path(str(out) + ".partial.jsonl")
    real = batch.grade_many
    seen = []

    def interrupted(paths, **kw):
        for n, item in enumerate(real(paths, **kw)):
            if n == 400:
                raise KeyboardInterrupt
            seen.append(item)
            yield item

    monkeypatch.setattr(batch, "grade_many", interrupted)
    assert run_cli("grade", str(folder), "-o", str(out), "--jobs", "1", "--quiet") == 130
    assert not out.exists() and len(journal.read_text().splitlines()) == 400
    # a student fixes a file that was already graded: it is graded again on resume
    first = sorted(folder.iterdir())[0]
    first.write_text(first.read_text().replace("'converge'", "'diverge'"))
    graded_again = []

    def counting(paths, **kw):
        graded_again.extend(paths)
        yield from real(paths, **kw)

    monkeypatch.setattr(batch, "grade_many", counting)
    assert run_cli("grade", str(folder), "-o", str(out), "--jobs", "1", "--quiet", "--resume") == 1
    assert len(graded_again) == 601 and str(first) in graded_again
    doc = json.loads(out.read_text())
    assert [d["student"] for d in doc] == [f"s{k:04d}" for k in range(1000)]  # input order, nobody lost
    assert all(d["max_score"] == 74 for d in doc)
    assert doc[0]["score"] == 2
    assert sum(1 for d in doc if "error" in d) == len(range(5, 1000, 97))
    right = sum(1 for d in doc for r in d["results"] if r["question"] == "ift6135-h22/4.3.behaviour"
                and r["verdict"] == "correct")
    assert right == sum(1 for k in range(1000) if k % 97 != 5 and labels[k % 6] in ("diverge", "Diverge.", "(DIVERGE)")) + 1
    assert not journal.exists()
    capsys.readouterr()


def test_dask_local_cluster_gives_the_serial_results(tmp_path):
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'derivcheck[dask]'")
    from distributed import Client, LocalCluster

    paths = [str(p) for p in write_class(tmp_path)]
    serial = {i: comparable(r) for i, r in grade_many(paths, jobs=1)}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        on_dask = {i: comparable(r) for i, r in grade_many(paths, dask=client)}
        # the CLI path: --dask ADDRESS
        out = tmp_path / "dask.json"
        assert run_cli("grade", *paths, "--dask", cluster.scheduler_address, "-o", str(out), "--quiet") == 1
    assert on_dask == serial
    assert [d["student"] for d in json.loads(out.read_text())] == [serial[i]["student"] for i in range(len(paths))]


def test_dask_missing_is_a_usage_error(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *a, **kw):
        if name.startswith("distributed"):
            raise ImportError(name)
        return real_import(name, *a, **kw)

    p = write_class(tmp_path, 1)[0]
    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert run_cli("grade", str(p), "--dask", "tcp://127.0.0.1:1") == 2
    assert "derivcheck[dask]" in capsys.readouterr().err


def test_memo_of_repeated_answers_gives_the_same_results(tmp_path):
    from derivcheck.grading.api import AnswerMemo, grade

    memo = AnswerMemo()
    sub = {"student": "a", "answers": {"ift6135-h22/4.1": A_OK, "ift6135-h22/5.2": r"F_{12} - F_1 W_p",
                                       "ift6135-h22/4.3.behaviour": "cycle"}}
    plain = grade(sub)
    first, second = grade(sub, memo=memo), grade(dict(sub, student="b"), memo=memo)
    assert memo.hits == 3 and memo.misses == 3
    for rep in (first, second):
        assert [(r.question, r.verdict, r.score, r.message) for r in rep.results] == \
            [(r.question, r.verdict, r.score, r.message) for r in plain.results]
    second.results[0].message = "changed"
    assert grade(sub, memo=memo).results[0].message != "changed"  # copies, never shared objects


_REAL_TASK = batch._task


def _dies_on_bob(name, data, options):
    """A task that kills its worker process on one submission (module level: the pool pickles it by name)."""
    if name.endswith("bob.json"):
        os._exit(1)
    return _REAL_TASK(name, data, options)


def test_a_worker_that_dies_loses_no_student(tmp_path, monkeypatch):
    """A worker killed mid-batch (out of memory, a signal): what it had not finished is graded here."""
    paths = [str(p) for p in write_class(tmp_path)]
    monkeypatch.setattr(batch, "_task", _dies_on_bob)
    got = dict(grade_many(paths, jobs=2))
    assert sorted(got) == list(range(len(paths)))
    serial = {i: comparable(r) for i, r in grade_many(paths, jobs=1)}
    assert {i: comparable(r) for i, r in got.items()} == serial
