"""Code answers (mit-hw4/7b, 8a): the sandbox and the comparison with the reference.

Each run forks a child of one worker that imported Torch once; the tests share that worker."""
import numpy as np
import pytest

from derivcheck import grading
from derivcheck.grading import sandbox
from derivcheck.grading.api import DEFAULT_TIME_LIMIT_S

AE_OK = "def ae_loss(x, x_hat):\n    return ((x_hat - x) ** 2).mean()\n"
AE_OTHER = ("import torch\nimport torch.nn.functional as F\n\n"
            "def ae_loss(x, x_hat):\n    # written differently: per-sample sums, then a weighted mean\n"
            "    per = F.mse_loss(x_hat, x, reduction='none').flatten(1).sum(1)\n"
            "    return per.sum() / x.numel()\n")
AE_SUM = "def ae_loss(x, x_hat):\n    return ((x_hat - x) ** 2).sum()\n"
NCE_OK = ("import torch\nimport torch.nn.functional as F\n\n"
          "def contrastive_loss(z, z_pos, tau):\n"
          "    logits = z @ z_pos.T / tau\n"
          "    return F.cross_entropy(logits, torch.arange(z.shape[0]))\n")
NCE_OTHER = ("import torch\n\n"
             "def contrastive_loss(z, z_pos, tau):\n"
             "    z = torch.nn.functional.normalize(z, dim=1)\n"
             "    zp = torch.nn.functional.normalize(z_pos, dim=1)\n"
             "    s = torch.exp(torch.einsum('id,jd->ij', z, zp) / tau)\n"
             "    return -(torch.log(torch.diagonal(s) / s.sum(dim=1))).mean()\n")
NCE_NO_TAU = ("import torch\nimport torch.nn.functional as F\n\n"
              "def contrastive_loss(z, z_pos, tau):\n"
              "    return F.cross_entropy(z @ z_pos.T, torch.arange(z.shape[0]))\n")
LOOP = "def ae_loss(x, x_hat):\n    while True:\n        pass\n"
SLEEP = "import time\n\ndef contrastive_loss(z, z_pos, tau):\n    time.sleep(60)\n"
ALLOC = "def ae_loss(x, x_hat):\n    keep = []\n    while True:\n        keep.append(bytes(100_000_000))\n"
TORCH_ALLOC = "import torch\n\ndef ae_loss(x, x_hat):\n    return torch.ones(10**11).sum()\n"
READ_KEY = ("def ae_loss(x, x_hat):\n"
            "    try:\n"
            "        open({path!r}).read()\n"
            "    except Exception:\n"
            "        pass\n"
            "    return ((x_hat - x) ** 2).mean()\n")


@pytest.fixture(scope="module", autouse=True)
def worker():
    sandbox.warm_up()
    yield
    sandbox.shutdown()


def _fd_grad(f, arrays, k, eps=1e-6):
    a = arrays[k]
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        plus = [x.copy() for x in arrays]
        minus = [x.copy() for x in arrays]
        plus[k][idx] += eps
        minus[k][idx] -= eps
        g[idx] = (f(*plus) - f(*minus)) / (2 * eps)
    return g


# -- the references: closed-form gradients against central differences ----------------------------
def test_mse_reference_gradients():
    rng = np.random.default_rng(0)
    x, xh = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    value, grads = sandbox.mse_reference(x, xh)
    assert value == pytest.approx(np.mean((xh - x) ** 2))
    f = lambda a, b: sandbox.mse_reference(a, b)[0]  # noqa: E731
    assert np.allclose(grads["x"], _fd_grad(f, [x, xh], 0), atol=1e-7)
    assert np.allclose(grads["x_hat"], _fd_grad(f, [x, xh], 1), atol=1e-7)


def test_infonce_reference_gradients_and_value():
    rng = np.random.default_rng(1)
    z = sandbox._unit_rows(rng.normal(size=(5, 3)))
    zp = sandbox._unit_rows(rng.normal(size=(5, 3)))
    tau = 0.3
    value, grads = sandbox.infonce_reference(z, zp, tau)
    direct = np.mean([-np.log(np.exp(z[i] @ zp[i] / tau) / np.exp(z[i] @ zp.T / tau).sum()) for i in range(5)])
    assert value == pytest.approx(direct, rel=1e-12)
    f = lambda a, b: sandbox.infonce_reference(a, b, tau)[0]  # noqa: E731
    assert np.allclose(grads["z"], _fd_grad(f, [z, zp], 0), atol=1e-6)
    assert np.allclose(grads["z_pos"], _fd_grad(f, [z, zp], 1), atol=1e-6)


def test_tolerance_rule_rejects_a_small_relative_error():
    # gamma_n for the largest case (2*96 elements) is about 5e-5: a 1e-3 relative slip is caught
    assert sandbox.tolerance(1.0, 1.0, 192) < 1e-4


# -- the six cases of the issue, and the other failure modes -----------------------------------------
NCE_DISTANCES = ("import torch\n\n"
                 "def contrastive_loss(z, z_pos, tau):\n"
                 "    # on the unit sphere z.z+ = 1 - |z - z+|^2 / 2: equal values, gradients equal along the sphere\n"
                 "    logits = (2 - torch.cdist(z, z_pos) ** 2) / (2 * tau)\n"
                 "    return torch.nn.CrossEntropyLoss()(logits, torch.arange(len(z)))\n")


def test_correct_and_equivalent_implementations():
    for qid, src in (("mit-hw4/7b", AE_OK), ("mit-hw4/7b", AE_OTHER), ("mit-hw4/8a", NCE_OK),
                     ("mit-hw4/8a", NCE_OTHER), ("mit-hw4/8a", NCE_DISTANCES)):
        r = grading.check(qid, src)
        assert r.verdict == "correct", (qid, r.message)
        assert r.score == r.max_score and "3 random cases" in r.message


def test_wrong_implementations_name_the_slip_without_the_key():
    r = grading.check("mit-hw4/7b", AE_SUM)
    assert r.verdict == "incorrect" and r.score == 0
    assert "summed instead of averaged" in r.message
    student = r.to_dict("student")
    assert "staff" not in student
    ref = r.staff["comparisons"][0]["reference"]
    assert f"{ref:.6g}" not in r.message and f"{ref:.4g}" not in str(student)
    r = grading.check("mit-hw4/8a", NCE_NO_TAU)
    assert r.verdict == "incorrect" and "temperature is missing" in r.message


def test_endless_loop_and_sleep_are_stopped():
    r = grading.check("mit-hw4/7b", LOOP)
    assert r.verdict == "incorrect" and "did not finish within" in r.message
    assert r.elapsed_s < DEFAULT_TIME_LIMIT_S
    r = grading.check("mit-hw4/8a", SLEEP)  # CPU limits miss sleeps: the wall clock does not
    assert r.verdict == "incorrect" and "wall clock" in r.message


def test_unbounded_allocation_is_stopped():
    for src in (ALLOC, TORCH_ALLOC):
        r = grading.check("mit-hw4/7b", src)
        assert r.verdict == "incorrect" and "out of memory" in r.message, r.message


def test_reading_outside_the_folder_is_blocked_even_if_caught():
    from derivcheck.grading import keys

    r = grading.check("mit-hw4/7b", READ_KEY.format(path=keys.__file__))
    assert r.verdict == "incorrect" and "blocked" in r.message and keys.__file__ in r.message
    assert r.details["sandbox_violations"]
    r = grading.check("mit-hw4/7b", READ_KEY.format(path="/etc/hostname"))
    assert r.verdict == "incorrect" and "blocked" in r.message


@pytest.mark.parametrize("src, verdict, words", [
    ("def ae_loss(x, x_hat)\n    return 0\n", "unparseable", "does not compile"),
    ("def mse(x, x_hat):\n    return 0\n", "incorrect", "no function named 'ae_loss'"),
    ("def ae_loss(x, x_hat):\n    return 1 / 0\n", "incorrect", "ZeroDivisionError"),
    ("def ae_loss(x, x_hat):\n    return ((x_hat - x) ** 2).mean(dim=0)\n", "incorrect", "not a scalar"),
    ("def ae_loss(x, x_hat):\n    return float(((x_hat - x) ** 2).mean())\n", "incorrect", "not a torch tensor"),
    ("def ae_loss(x, x_hat):\n    return ((x_hat.detach() - x) ** 2).mean()\n", "incorrect", "no gradient reaches x_hat"),
    ("import socket\n\ndef ae_loss(x, x_hat):\n    socket.create_connection(('127.0.0.1', 9))\n", "incorrect",
     "blocked"),
    ("import os\n\ndef ae_loss(x, x_hat):\n    os.system('true')\n", "incorrect", "blocked"),
    ("import derivcheck.grading.keys\n", "incorrect", "No module named 'derivcheck'"),
    ("import os\nos.kill(os.getppid(), 9)\n", "incorrect", "blocked"),
    ("import _posixsubprocess\n\ndef ae_loss(x, x_hat):\n    _posixsubprocess.fork_exec()\n", "incorrect",
     "blocked"),
    ("import ctypes\n\ndef ae_loss(x, x_hat):\n    ctypes.CDLL(None).getpid()\n", "incorrect", "blocked"),
    ("import os\n\ndef ae_loss(x, x_hat):\n    os.listdir('/work')\n", "incorrect", "blocked"),
    ("def ae_loss(x, x_hat):\n    print('x' * 3_000_000)\n", "incorrect", "File too large"),
])
def test_other_failures_are_verdicts(src, verdict, words):
    r = grading.check("mit-hw4/7b", src)
    assert r.verdict == verdict and words in r.message, r.message


def test_writing_in_its_own_folder_is_allowed():
    src = ("def ae_loss(x, x_hat):\n    open('scratch.txt', 'w').write('ok')\n    print('hello')\n"
           "    return ((x_hat - x) ** 2).mean()\n")
    r = grading.check("mit-hw4/7b", src)
    assert r.verdict == "correct" and "hello" in r.details["stdout"]


def test_not_source_text():
    r = grading.check("mit-hw4/7b", ["def ae_loss(x, x_hat):", "    return 0"])
    assert r.verdict == "unparseable"


def test_whole_submission_with_every_kind_finishes_within_limits():
    limit = DEFAULT_TIME_LIMIT_S
    subs = [(AE_OK, NCE_OTHER), (AE_OTHER, NCE_NO_TAU), (LOOP, SLEEP), (ALLOC, NCE_OK),
            (READ_KEY.format(path="/etc/passwd"), NCE_OK)]
    for ae, nce in subs:
        rep = grading.grade({"student": "s", "answers": {"mit-hw4/7b": ae, "mit-hw4/8a": nce,
                                                          "mit-hw4/1": "K", "mit-hw4/4c": "ii"}})
        answered = {r.question: r for r in rep.results if r.verdict != "unanswered"}  # the others: unanswered
        assert set(answered) == {"mit-hw4/7b", "mit-hw4/8a", "mit-hw4/1", "mit-hw4/4c"}
        assert answered["mit-hw4/1"].verdict == answered["mit-hw4/4c"].verdict == "correct"
        for r in answered.values():
            assert r.elapsed_s < limit, (r.question, r.elapsed_s)
            assert r.verdict != "needs-human", r.message


def test_runs_as_the_user_the_worker_reports():
    """A root worker drops submissions to nobody when nobody can read the Python installation (it says why
    not otherwise: a pyenv under /root cannot be read by nobody)."""
    info = sandbox.warm_up()
    src = ("import os\n\ndef ae_loss(x, x_hat):\n    print('uid', os.geteuid())\n"
           "    return ((x_hat - x) ** 2).mean()\n")
    r = grading.check("mit-hw4/7b", src)
    assert r.verdict == "correct" and f"uid {info['submissions_uid']}" in r.details["stdout"]
    assert info["privileges"]
