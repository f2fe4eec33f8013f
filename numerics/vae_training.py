"""A small variational autoencoder on real handwritten digits (vae-simclr 1c-1f).

Data
    By default scikit-learn's bundled ``load_digits`` (1797 greyscale 8 x 8
    digits, no download).  Set the environment variable ``DERIVCHECK_MNIST`` to
    a directory holding the four MNIST IDX files (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each optionally ``.gz``) to train on MNIST
    instead (28 x 28; seeded subsets, see :data:`MNIST_SIZES`; the confirmations in
    ``numerics/vae.py`` then train a tenth of the epochs, since an epoch is ~7x longer).
    Pixels are scaled to [0, 1] and binarized by Bernoulli sampling: afresh for
    every training batch (dynamic binarization) and once, with a fixed seed,
    for the test set, so that the Bernoulli decoder's log p(x | z) is a true
    log-probability and L_k <= log p(x) holds exactly.

Model (recorded in :func:`architecture_rows`)
    encoder  x -> Linear(D, H) -> ReLU -> Linear(H, H) -> ReLU -> Linear(H, 2 d): (mu, log sigma^2)
    decoder  z -> Linear(d, H) -> ReLU -> Linear(H, H) -> ReLU -> Linear(H, D): Bernoulli logits
    prior p(z) = N(0, I_d), d = 2 (so the latent space can be drawn), ELBO with
    the closed-form KL (:func:`gaussian_kl`, the formula of ``vae.gaussian_kl``)
    and one reparameterized sample per example, Adam.

Nothing here decides a verdict: ``numerics/vae.py`` turns the measurements into
evidence.  Torch is imported lazily; CUDA is used when present.
"""
from __future__ import annotations

import gzip
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import torchkit

MNIST_ENV = "DERIVCHECK_MNIST"
THREADS_ENV = "DERIVCHECK_TORCH_THREADS"
#: (training images, test images) taken from MNIST when DERIVCHECK_MNIST is set.
MNIST_SIZES = (10000, 1000)


# ==========================================================================
# Data
# ==========================================================================
@dataclass
class Dataset:
    x_train: np.ndarray  # (n, D) in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_test_bin: np.ndarray  # fixed binarization of the test set
    shape: tuple  # image shape (H, W)
    source: str


def read_idx(path: os.PathLike) -> np.ndarray:
    """An IDX file (the MNIST format, optionally gzip-compressed) as a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{code:02x}")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.dtype(dtypes[code]), offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} elements, found {arr.size}")
    return arr.reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem}[.gz]")


def load_data(seed: int, *, mnist: Optional[str] = None, sizes=MNIST_SIZES) -> Dataset:
    """The digits (or MNIST when ``mnist`` / ``$DERIVCHECK_MNIST`` names a directory)."""
    rng = np.random.default_rng(seed)
    mnist = mnist if mnist is not None else os.environ.get(MNIST_ENV)
    if mnist:
        d = Path(mnist)
        xtr = read_idx(_find(d, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
        ytr = read_idx(_find(d, "train-labels-idx1-ubyte")).astype(int)
        xte = read_idx(_find(d, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
        yte = read_idx(_find(d, "t10k-labels-idx1-ubyte")).astype(int)
        itr = rng.permutation(len(xtr))[: sizes[0]]
        ite = rng.permutation(len(xte))[: sizes[1]]
        xtr, ytr, xte, yte = xtr[itr], ytr[itr], xte[ite], yte[ite]
        shape, source = (28, 28), f"MNIST IDX files in {d} ({len(xtr)} training, {len(xte)} test images, seeded subset)"
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = digits.data / 16.0
        y = digits.target.astype(int)
        order = rng.permutation(len(x))
        n_test = 300
        te, tr = order[:n_test], order[n_test:]
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
        shape, source = (8, 8), f"scikit-learn load_digits ({len(xtr)} training, {len(xte)} test images)"
    x_test_bin = (rng.random(xte.shape) < xte).astype(np.float64)
    return Dataset(xtr.astype(np.float64), ytr, xte.astype(np.float64), yte, x_test_bin, shape, source)


# ==========================================================================
# Model
# ==========================================================================
@dataclass
class Config:
    latent: int = 2
    hidden: int = 256
    epochs: int = 150
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0
    dtype: str = "float32"
    extra: dict = field(default_factory=dict)


def limited_threads():
    """Cap Torch's (and BLAS's) threads for the block: ``$DERIVCHECK_TORCH_THREADS``, default 1 (the
    models here are small; on a shared 2-core machine one thread is faster than two)."""
    return torchkit.torch_threads(max(1, min(torchkit.torch().get_num_threads(),
                                             int(os.environ.get(THREADS_ENV, "1")))))


def build(config: Config, dim: int):
    """(encoder, decoder) as ``torch.nn.Sequential`` modules."""
    t = torchkit.torch()
    nn = t.nn
    h, d = config.hidden, config.latent
    encoder = nn.Sequential(nn.Linear(dim, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2 * d))
    decoder = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, dim))
    return encoder, decoder


def gaussian_kl(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, 1)) per dimension: (mu^2 + sigma^2 - 1 - log sigma^2) / 2."""
    return 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar)


def encode(encoder, x):
    out = encoder(x)
    d = out.shape[-1] // 2
    return out[..., :d], out[..., d:]


def bernoulli_loglik(decoder, z, x):
    """log p(x | z) for binary x, summed over pixels (stable via BCE with logits)."""
    t = torchkit.torch()
    logits = decoder(z)
    return -t.nn.functional.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def elbo_terms(encoder, decoder, x, gen):
    """Per-example (reconstruction term, KL per dimension) with one reparameterized sample."""
    t = torchkit.torch()
    mu, logvar = encode(encoder, x)
    eps = t.randn(mu.shape, generator=gen, dtype=mu.dtype, device="cpu").to(mu.device)
    z = mu + (0.5 * logvar).exp() * eps
    return bernoulli_loglik(decoder, z, x), gaussian_kl(mu, logvar)


def log_weights(encoder, decoder, x, k: int, gen, chunk: int = 256):
    """log w_j = log p(x, z_j) - log q(z_j | x) for z_1..z_k ~ q(z | x): shape (n, k)."""
    t = torchkit.torch()
    out = []
    with t.no_grad():
        for start in range(0, x.shape[0], chunk):
            xb = x[start:start + chunk]
            mu, logvar = encode(encoder, xb)
            std = (0.5 * logvar).exp()
            eps = t.randn((k,) + tuple(mu.shape), generator=gen, dtype=mu.dtype, device="cpu").to(mu.device)
            z = mu + std * eps  # (k, b, d)
            log_prior = -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
            log_q = (-0.5 * eps * eps - 0.5 * logvar).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
            ll = bernoulli_loglik(decoder, z, xb.unsqueeze(0))
            out.append((ll + log_prior - log_q).T)
    return t.cat(out, 0)


@dataclass
class TrainResult:
    config: Config
    data: Dataset
    encoder: object
    decoder: object
    history: list  # (epoch, mean training ELBO over the epoch's batches, test ELBO estimate)
    seconds: float
    device: str
    initial_state: tuple  # (encoder, decoder) state dicts before training

    def modules(self, initial: bool = False):
        """(encoder, decoder); ``initial=True`` gives copies with the untrained weights."""
        if not initial:
            return self.encoder, self.decoder
        enc, dec = build(self.config, self.data.x_train.shape[1])
        enc.load_state_dict(self.initial_state[0])
        dec.load_state_dict(self.initial_state[1])
        dev = next(self.encoder.parameters()).device
        return enc.to(dev).to(self._dtype()), dec.to(dev).to(self._dtype())

    def _dtype(self):
        return getattr(torchkit.torch(), self.config.dtype)

    def tensor(self, array):
        t = torchkit.torch()
        return t.as_tensor(array, dtype=self._dtype(), device=next(self.encoder.parameters()).device)


def train(config: Config, data: Dataset, *, eval_every: int = 10) -> TrainResult:
    """Maximize the ELBO with Adam; records the mean training ELBO per epoch and the
    test ELBO (closed-form KL, one sample per image) every ``eval_every`` epochs."""
    t = torchkit.torch()
    with limited_threads():
        torchkit.seeded(config.seed)
        dev = torchkit.device()
        dtype = getattr(t, config.dtype)
        dim = data.x_train.shape[1]
        encoder, decoder = build(config, dim)
        encoder, decoder = encoder.to(dev).to(dtype), decoder.to(dev).to(dtype)
        initial = ({k: v.detach().clone() for k, v in encoder.state_dict().items()},
                   {k: v.detach().clone() for k, v in decoder.state_dict().items()})
        opt = t.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=config.lr)
        gen = t.Generator().manual_seed(config.seed + 1)
        xtr = t.as_tensor(data.x_train, dtype=dtype)
        xte = t.as_tensor(data.x_test_bin, dtype=dtype, device=dev)
        n = xtr.shape[0]
        history = []
        start = time.perf_counter()
        for epoch in range(1, config.epochs + 1):
            perm = t.randperm(n, generator=gen)
            total, count = 0.0, 0
            for i in range(0, n, config.batch):
                idx = perm[i:i + config.batch]
                xb = t.bernoulli(xtr[idx], generator=gen).to(dev)  # dynamic binarization
                rec, kl = elbo_terms(encoder, decoder, xb, gen)
                elbo = rec - kl.sum(-1)
                loss = -elbo.mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(elbo.detach().sum())
                count += xb.shape[0]
            test = None
            if epoch == 1 or epoch % eval_every == 0 or epoch == config.epochs:
                with t.no_grad():
                    rec, kl = elbo_terms(encoder, decoder, xte, gen)
                    test = float((rec - kl.sum(-1)).mean())
            history.append((epoch, total / count, test))
        seconds = time.perf_counter() - start
    encoder.train(False)  # evaluation mode
    decoder.train(False)
    return TrainResult(config, data, encoder, decoder, history, seconds, str(dev), initial)


# ==========================================================================
# Measurements and figures (plain numbers; numerics/vae.py judges them)
# ==========================================================================
def elbo_samples(result: TrainResult, x: np.ndarray, *, n_samples: int, seed: int, initial: bool = False) -> np.ndarray:
    """Per-example ELBO estimates (mean of ``n_samples`` single-sample estimates, closed-form KL)."""
    t = torchkit.torch()
    enc, dec = result.modules(initial)
    gen = t.Generator().manual_seed(seed)
    xt = result.tensor(x)
    with limited_threads(), t.no_grad():
        acc = t.zeros(xt.shape[0], dtype=xt.dtype, device=xt.device)
        for _ in range(n_samples):
            rec, kl = elbo_terms(enc, dec, xt, gen)
            acc += rec - kl.sum(-1)
    return (acc / n_samples).double().cpu().numpy()


def iwae_estimates(result: TrainResult, x: np.ndarray, ks, *, seed: int, k_max: Optional[int] = None) -> dict:
    """For each k in ``ks`` (k_max >= 2 max(ks)): per-example estimates of L_k, the mean over the
    disjoint k-blocks of one pool of ``k_max`` draws, and the Monte Carlo variance of that mean
    (``out["mc_var"][k]``, from the spread between blocks); plus the raw log-weights."""
    t = torchkit.torch()
    k_max = k_max or 2 * max(ks)
    if k_max < 2 * max(ks):
        raise ValueError("k_max must allow at least two blocks for every k")
    gen = t.Generator().manual_seed(seed)
    with limited_threads():
        lw = log_weights(result.encoder, result.decoder, result.tensor(x), k_max, gen).double().cpu().numpy()
    out = {"mc_var": {}}
    for k in ks:
        blocks = k_max // k
        w = lw[:, : blocks * k].reshape(lw.shape[0], blocks, k)
        m = w.max(-1, keepdims=True)
        lk = (m[..., 0] + np.log(np.exp(w - m).mean(-1)))  # (n, blocks)
        out[k] = lk.mean(1)  # per example: average over its blocks
        out["mc_var"][k] = lk.var(1, ddof=1) / blocks
    out["log_w"] = lw
    return out


def kl_per_dimension(result: TrainResult, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(KL per example and dimension, encoder means, encoder log-variances) on ``x``."""
    t = torchkit.torch()
    with limited_threads(), t.no_grad():
        mu, logvar = encode(result.encoder, result.tensor(x))
        kl = gaussian_kl(mu, logvar)
    return kl.double().cpu().numpy(), mu.double().cpu().numpy(), logvar.double().cpu().numpy()


def mc_kl_check(result: TrainResult, x: np.ndarray, *, seed: int, n_samples: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (closed-form KL, Monte Carlo mean of log q(z|x) - log p(z)) on the trained encoder."""
    t = torchkit.torch()
    gen = t.Generator().manual_seed(seed)
    with limited_threads(), t.no_grad():
        mu, logvar = encode(result.encoder, result.tensor(x))
        eps = t.randn((n_samples,) + tuple(mu.shape), generator=gen, dtype=mu.dtype, device="cpu").to(mu.device)
        z = mu + (0.5 * logvar).exp() * eps
        log_q = (-0.5 * eps * eps - 0.5 * logvar).sum(-1)
        log_p = (-0.5 * z * z).sum(-1)
        mc = (log_q - log_p).mean(0)
        closed = gaussian_kl(mu, logvar).sum(-1)
    return closed.double().cpu().numpy(), mc.double().cpu().numpy()


def reconstructions(result: TrainResult, x_bin: np.ndarray) -> np.ndarray:
    """Bernoulli means of p(x | z = mu(x)) (the decoder at the encoder mean)."""
    t = torchkit.torch()
    with limited_threads(), t.no_grad():
        mu, _ = encode(result.encoder, result.tensor(x_bin))
        return t.sigmoid(result.decoder(mu)).double().cpu().numpy()


def latent_grid(result: TrainResult, n: int = 10, lim: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Decoded Bernoulli means on an n x n grid over [-lim, lim]^2 (row 0 = top = largest z_2)."""
    t = torchkit.torch()
    axis = np.linspace(-lim, lim, n)
    grid = np.array([(z1, z2) for z2 in axis[::-1] for z1 in axis])
    with limited_threads(), t.no_grad():
        imgs = t.sigmoid(result.decoder(result.tensor(grid))).double().cpu().numpy()
    return grid, imgs


def encoded_means(result: TrainResult, x_bin: np.ndarray) -> np.ndarray:
    t = torchkit.torch()
    with limited_threads(), t.no_grad():
        mu, _ = encode(result.encoder, result.tensor(x_bin))
    return mu.double().cpu().numpy()


def architecture_rows(result: TrainResult) -> list:
    c, d = result.config, result.data
    dim = d.x_train.shape[1]
    n_params = sum(p.numel() for m in (result.encoder, result.decoder) for p in m.parameters())
    return [
        ["data", d.source],
        ["input", f"{d.shape[0]} x {d.shape[1]} = {dim} pixels, binarized (dynamic for training, fixed for test)"],
        ["encoder", f"{dim} -> {c.hidden} -> ReLU -> {c.hidden} -> ReLU -> 2 x {c.latent} (mu, log sigma^2)"],
        ["decoder", f"{c.latent} -> {c.hidden} -> ReLU -> {c.hidden} -> ReLU -> {dim} Bernoulli logits"],
        ["latent size", str(c.latent)],
        ["prior", f"N(0, I_{c.latent})"],
        ["objective", "ELBO = E_q[log p(x|z)] - KL(q || p(z)), closed-form KL, 1 reparameterized sample"],
        ["optimizer", f"Adam, learning rate {c.lr:g}, batch {c.batch}, {c.epochs} epochs"],
        ["parameters", f"{n_params:,}"],
        ["dtype / device", f"{c.dtype} / {result.device}"],
        ["seed", str(c.seed)],
        ["training time", f"{result.seconds:.1f} s"],
    ]


def config_dict(config: Config) -> dict:
    return asdict(config)
