"""Drawing :class:`Plot` data (as dicts from a results document) to inline SVG.

Matplotlib is imported lazily with the Agg backend; text is converted to
paths so the SVG needs no fonts and the report stays self-contained.
"""
from __future__ import annotations

import io
import math

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["svg.hashsalt"] = "derivcheck"  # stable ids: reproducible files
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.find("<svg"):]


def _finite(values):
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(f)
    return out


def render_svg(plot: dict) -> str:
    kind = plot.get("kind", "line")
    if kind == "images":
        return _images(plot)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for i, s in enumerate(plot.get("series", [])):
        x, y = _finite(s.get("x", [])), _finite(s.get("y", []))
        color = _COLORS[i % len(_COLORS)]
        style = s.get("style") or "-"
        if kind == "scatter":
            ax.scatter(x, y, s=8, color=color, label=s.get("label"), alpha=0.8)
        else:
            # a format string that names its own colour ("k--") keeps it; others get the palette's
            kwargs = {} if style[0] in "bgrcmykw" else {"color": color}
            ax.plot(x, y, style, label=s.get("label"), markersize=3, linewidth=1.4, **kwargs)
    if plot.get("equal_aspect"):
        ax.set_aspect("equal", adjustable="datalim")
    if plot.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(plot.get("xlabel", ""))
    ax.set_ylabel(plot.get("ylabel", ""))
    ax.set_title(plot.get("title", ""), fontsize=10)
    if plot.get("series"):
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return _svg(fig)


def _images(plot: dict) -> str:
    plt = _pyplot()
    series = plot.get("series", [])
    ncols = max(1, min(int(plot.get("ncols", 5) or 5), len(series) or 1))
    nrows = max(1, math.ceil(len(series) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.25 * ncols, 1.4 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, s in zip(axes.flat, series):
        img = s.get("image")
        if img is None:
            continue
        import numpy as np

        arr = np.clip(np.asarray(img, dtype=float), 0.0, 1.0)
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(s.get("label", ""), fontsize=6)
    fig.suptitle(plot.get("title", ""), fontsize=9)
    return _svg(fig)
