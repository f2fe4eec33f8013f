"""Drawing :class:`Plot` data (as dicts from a results document) to inline, accessible SVG.

:func:`render_svg` returns one ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (the text
alternative from :func:`describe`), every element ID prefixed with the figure's own ``uid`` (so
figures never clash), and text kept as text:

* line and scatter plots are drawn by matplotlib (Agg, lazily imported) with
  ``svg.fonttype = "none"``; coordinates are rounded to 0.1 pt (invisible at any zoom a reader
  uses) and the metadata block is dropped;
* picture grids (``kind="images"``) are drawn here directly: each picture is one small inline
  PNG (``data:`` URI, scaled without smoothing), its label is SVG text under it, the title is
  wrapped to the grid's width; a picture with ``cell_labels`` (a labelled pixel grid, e.g. a
  receptive field) is drawn cell by cell with each cell's label written in it.

Nothing here decides a verdict.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
import struct
import zlib

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def plot_key(plot: dict) -> str:
    """A content hash: two identical figures get the same key (the report embeds them once)."""
    return hashlib.sha256(json.dumps(plot, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- text alternative
def _finite(values):
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(f)
    return out


def _g(v: float) -> str:
    return f"{v:.4g}"


def describe(plot: dict) -> str:
    """A text alternative naming what the figure shows: kind, axes, each series and its range
    (the figure's ``<title>`` names it; ``aria-labelledby`` reads both)."""
    kind = plot.get("kind", "line")
    series = [s for s in plot.get("series", [])]
    if kind == "images":
        labels = [s.get("label", "") for s in series if s.get("label")]
        shown = "; ".join(labels[:12]) + ("; ..." if len(labels) > 12 else "")
        return (f"A grid of {len(series)} picture{'s' if len(series) != 1 else ''}"
                + (f" in rows of {plot.get('ncols', 5)}" if len(series) > 1 else "")
                + (f", labelled: {shown}." if shown else "."))
    what = "Scatter plot" if kind == "scatter" else "Line plot"
    y, x = plot.get("ylabel") or "y", plot.get("xlabel") or "x"
    parts = [f"{what} of {y} against {x}" + (" (log scale)" if plot.get("logy") else "") + "."]
    for s in series:
        xs, ys = _finite(s.get("x", [])), _finite(s.get("y", []))
        pts = [(a, b) for a, b in zip(xs, ys) if math.isfinite(a) and math.isfinite(b)]
        name = (s.get("label") or "series").lstrip("_") or "series"
        if not pts:
            parts.append(f"{name}: no finite points.")
            continue
        ax = [p[0] for p in pts]
        ay = [p[1] for p in pts]
        desc = f"{name}: {len(pts)} point{'s' if len(pts) != 1 else ''}, {x} from {_g(min(ax))} to {_g(max(ax))}, " \
               f"{y} from {_g(min(ay))} to {_g(max(ay))}"
        if kind != "scatter" and len(pts) > 1:
            desc += f" (first {_g(pts[0][1])}, last {_g(pts[-1][1])})"
        parts.append(desc + ".")
    return " ".join(parts)


# --------------------------------------------------------------------------- SVG helpers
def _slim(svg: str) -> str:
    """Drop what a browser does not need: IDs nothing refers to (matplotlib names every group),
    the long font fallback list (the page's sans-serif is used), no-op rotations, indentation."""
    referenced = set(re.findall(r'(?:url\(#|href="#)([^")]+)', svg))
    svg = re.sub(r'\sid="([^"]+)"', lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    svg = re.sub(r"font-family: [^;\"]+", "font-family: sans-serif", svg)
    svg = re.sub(r'\stransform="rotate\(-?0 [-\d.]+ [-\d.]+\)"', "", svg)
    svg = re.sub(r"\n\s+", "\n", svg)
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = _merge_tspans(svg)
    # matplotlib's global "*{stroke-linejoin...}" rule: the page states it once for every figure
    svg = re.sub(r'<defs>\n<style type="text/css">[^<]*</style>\n</defs>\n?', "", svg)
    svg = re.sub(r"<g>\n(<use [^>]*/>)\n</g>", r"\1", svg)
    svg = re.sub(r"<g>\n</g>\n?", "", svg)
    svg = re.sub(r'\sd="([^"]*)"', lambda m: ' d="' + _path(m.group(1)) + '"', svg)
    svg = re.sub(r'\sstyle="([^"]*)"', lambda m: ' style="' + re.sub(r"\s*([:;])\s*", r"\1", m.group(1)).strip(";")
                 + '"', svg)
    return _group_markers(_unwrap_bare_groups(svg))


_TSPAN = re.compile(r'<tspan x="([^"]+)" y="([^"]+)" style="([^"]*)">([^<]*)</tspan>\n?')


def _merge_tspans(svg: str) -> str:
    """Mathtext writes one ``<tspan>`` per character; characters on one baseline in one style
    become one ``<tspan>`` (the browser advances them itself)."""
    def merge(m):
        spans = _TSPAN.findall(m.group(0))
        out, cur = [], None
        for x, y, style, text in spans:
            if cur is not None and cur[1] == y and cur[2] == style:
                cur[3] += text
            else:
                if cur is not None:
                    out.append(cur)
                cur = [x, y, style, text]
        if cur is not None:
            out.append(cur)
        return "".join(f'<tspan x="{x}" y="{y}" style="{st}">{t}</tspan>' for x, y, st, t in out) + "\n"

    return re.sub(r"(?:%s)+" % _TSPAN.pattern, merge, svg)


def _unwrap_bare_groups(svg: str) -> str:
    """Remove ``<g>`` elements without attributes (matplotlib nests many), keeping their content."""
    out, stack, pos = [], [], 0
    for m in re.finditer(r"<g(\s[^>]*)?>\n?|</g>\n?", svg):
        out.append(svg[pos:m.start()])
        pos = m.end()
        tag = m.group(0)
        if tag.startswith("</g>"):
            if stack.pop():
                out.append(tag)
        elif m.group(1) and m.group(1).strip():
            stack.append(True)
            out.append(tag)
        else:
            stack.append(False)
    out.append(svg[pos:])
    return "".join(out)


def _path(d: str) -> str:
    """``M 1.5 2 \nL 3 4 \nL 3.5 4 z`` -> ``M1.5 2l1.5 2 .5 0z``: a run of straight segments in
    relative form (computed in tenths from the rounded absolute points, so nothing drifts)."""
    d = " ".join(d.split())
    tokens = re.findall(r"[A-Za-z]|-?\d+(?:\.\d+)?(?:e-?\d+)?", d)
    if not tokens or any(t.isalpha() and t not in "MLz" for t in tokens):
        return re.sub(r"\s*([A-Za-z])\s*", r"\1", d)
    out, cmd, cur, i, last = [], None, None, 0, None
    while i < len(tokens):
        t = tokens[i]
        if t.isalpha():
            cmd = t
            i += 1
            if t == "z":
                out.append("z")
                last = None
            continue
        x, y = round(float(t) * 10), round(float(tokens[i + 1]) * 10)
        i += 2
        if cmd == "M" or cur is None:
            out.append(f"M{_tenths(x)} {_tenths(y)}")
            last, cmd = None, "L"  # further pairs after a moveto are linetos
        else:
            dx, dy = _tenths(x - cur[0]), _tenths(y - cur[1])
            sep = "" if dx.startswith("-") else " "
            out.append((sep if last == "l" else "l") + f"{dx}{'' if dy.startswith('-') else ' '}{dy}")
            last = "l"
        cur = (x, y)
    return "".join(out)


def _tenths(v: int) -> str:
    s = f"{v / 10:.1f}".rstrip("0").rstrip(".")
    s = s.replace("0.", ".", 1) if s.startswith("0.") else s.replace("-0.", "-.", 1)
    return s or "0"


_USE = re.compile(r'<use xlink:href="#([^"]+)" x="([^"]+)" y="([^"]+)" style="([^"]+)"/>\n')  # noqa: E501


def _group_markers(svg: str) -> str:
    """Runs of marker ``<use>`` lines with one style become one styled group (markers are most
    of a line plot's bytes)."""
    out, pos = [], 0
    for run in re.finditer(r"(?:%s)+" % _USE.pattern, svg):
        uses = _USE.findall(run.group(0))
        if len(uses) < 3 or len({(u[0], u[3]) for u in uses}) != 1:
            continue
        ref, style = uses[0][0], uses[0][3]
        out.append(svg[pos:run.start()])
        dots = _dots(svg, ref, style, [(x, y) for _, x, y, _ in uses])
        out.append(dots or f'<g style="{style}">\n' + "".join(f'<use xlink:href="#{ref}" x="{x}" y="{y}"/>\n'
                                                             for _, x, y, _ in uses) + "</g>\n")
        pos = run.end()
    out.append(svg[pos:])
    return "".join(out)


def _dots(svg: str, ref: str, style: str, points: list):
    """Round markers (``o``) of one colour as one path of zero-length round-capped strokes, or
    None for other markers.  Same picture, a tenth of the bytes."""
    m = re.search(r'<path id="%s" d="([^"]*)"(?: style="([^"]*)")?' % re.escape(ref), svg)
    if not m or "C" not in m.group(1):
        return None
    coords = [abs(float(v)) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))]
    fill = re.search(r"fill:\s*(#[0-9a-fA-F]{6})", style)
    if not coords or not fill:
        return None
    edge = re.search(r"stroke-width:\s*([\d.]+)", (m.group(2) or "") + ";" + style)
    width = 2 * max(coords) + (float(edge.group(1)) if edge else 1.0)
    opacity = re.search(r"fill-opacity:\s*([\d.]+)", style)
    d, prev = [], None
    for x, y in points:
        xt, yt = round(float(x) * 10), round(float(y) * 10)
        if prev is None:
            d.append(f"M{_tenths(xt)} {_tenths(yt)}h0")
        else:
            dx, dy = _tenths(xt - prev[0]), _tenths(yt - prev[1])
            d.append(f"m{dx}{'' if dy.startswith('-') else ' '}{dy}h0")
        prev = (xt, yt)
    return (f'<path d="{"".join(d)}" style="fill:none;stroke:{fill.group(1)};stroke-width:{width:.2f};'
            f'stroke-linecap:round' + (f";stroke-opacity:{opacity.group(1)}" if opacity else "") + '"/>\n')


def _prefix_ids(svg: str, uid: str) -> str:
    """Every ID becomes ``{uid}-{n}`` (short, and unique across the page), references follow."""
    ids = list(dict.fromkeys(re.findall(r'\sid="([^"]+)"', svg)))
    if not ids:
        return svg
    new = {old: f"{uid}-{n}" for n, old in enumerate(ids)}
    pattern = re.compile(r'(\sid="|url\(#|href="#)(' + "|".join(re.escape(i) for i in
                                                                 sorted(ids, key=len, reverse=True)) + r')(?=["\)])')
    return pattern.sub(lambda m: f"{m.group(1)}{new[m.group(2)]}", svg)


_NUM = re.compile(r"-?\d+\.\d{2,}")
_GEOM_ATTR = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|transform|viewBox)=")([^"]*)(")')


def _round_coords(svg: str) -> str:
    def attr(m):
        return m.group(1) + _NUM.sub(lambda n: f"{float(n.group(0)):.1f}".rstrip("0").rstrip("."),
                                     m.group(2)) + m.group(3)

    return _GEOM_ATTR.sub(attr, svg)


def _accessible(svg: str, uid: str, title: str, desc: str) -> str:
    """``role="img"``, ``aria-labelledby`` its own title and description; drop the XML prolog and
    metadata, a fixed pixel height (CSS scales the figure to its column)."""
    svg = svg[svg.find("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    head_end = svg.find(">")
    head = svg[:head_end]
    head = re.sub(r'\s(version|xmlns:xlink)="[^"]*"', "", head)
    head += (f' role="img" aria-labelledby="{uid}-title {uid}-desc" class="fig"')
    body = svg[head_end:]
    body = f'>\n<title id="{uid}-title">{html.escape(title)}</title>\n<desc id="{uid}-desc">{html.escape(desc)}</desc>' \
           + body[1:]
    body = body.replace("xlink:href=", "href=")
    return head + body


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, selectable, searchable
    matplotlib.rcParams["svg.hashsalt"] = "derivcheck"  # stable ids: reproducible files
    matplotlib.rcParams["font.family"] = "sans-serif"
    # drop polyline vertices that move a curve by less than 0.3 px (invisible; curves are 300+ points)
    matplotlib.rcParams["path.simplify"] = True
    matplotlib.rcParams["path.simplify_threshold"] = 0.3
    import matplotlib.pyplot as plt

    return plt


def _figure_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
    return buf.getvalue()


# --------------------------------------------------------------------------- line / scatter
def _chart(plot: dict) -> str:
    plt = _pyplot()
    kind = plot.get("kind", "line")
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
    ax.set_title(_wrap(plot.get("title", ""), 70), fontsize=10)
    if any(not str(s.get("label", "")).startswith("_") for s in plot.get("series", [])):
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return _slim(_round_coords(_figure_svg(fig)))


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else ""


# --------------------------------------------------------------------------- picture grids
def _png(arr) -> bytes:
    """A minimal PNG (8-bit RGB, or RGBA when a pixel is None: transparent) of an H x W x 3
    array with values in [0, 1]."""
    h, w = len(arr), len(arr[0])
    rgba = any(px is None for row in arr for px in row)
    raw = bytearray()
    for row in arr:
        raw.append(0)
        for px in row:
            if px is None:
                raw.extend(b"\0\0\0\0")
                continue
            raw.extend(int(round(max(0.0, min(1.0, float(c))) * 255)) for c in px)
            if rgba:
                raw.append(255)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6 if rgba else 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def _rgb(img) -> list:
    """Grey (H x W) or RGB (H x W x 3) nested lists as RGB rows."""
    out = []
    for row in img:
        out.append([[v, v, v] if not isinstance(v, (list, tuple)) else list(v)[:3] for v in row])
    return out


def _luminance(px) -> float:
    def lin(c):
        c = max(0.0, min(1.0, float(c)))
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in px)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _hex(px) -> str:
    return "#" + "".join(f"{int(round(max(0.0, min(1.0, float(c))) * 255)):02x}" for c in px)


def _text_lines(text: str, max_chars: int) -> list:
    import textwrap

    return textwrap.wrap(text, max(8, max_chars)) if text else []


def _images(plot: dict) -> str:
    series = [s for s in plot.get("series", []) if s.get("image") is not None]
    ncols = max(1, min(int(plot.get("ncols", 5) or 5), len(series) or 1))
    nrows = max(1, math.ceil(len(series) / ncols))
    # panel size: labelled grids get cells big enough for their labels; pictures are scaled up
    sizes = []
    for s in series:
        h, w = len(s["image"]), len(s["image"][0]) if s["image"] else 0
        if s.get("cell_labels"):
            sizes.append((w * 30, h * 30))
        else:
            scale = max(1, int(96 // max(h, w, 1))) if ncols <= 6 else max(1, int(56 // max(h, w, 1)))
            sizes.append((w * scale, h * scale))
    pw = max((s[0] for s in sizes), default=64)
    ph = max((s[1] for s in sizes), default=64)
    char_w, font = 6.4, 11
    label_chars = max((len(s.get("label", "")) for s in series), default=0)
    colw = max(pw, min(label_chars, 26) * char_w) + 12
    label_lines = max((len(_text_lines(s.get("label", ""), int((colw - 4) // char_w))) for s in series), default=0)
    rowh = ph + 6 + label_lines * (font + 3) + 10
    shapes = {(len(s["image"]), len(s["image"][0])) for s in series if s["image"]}
    mosaic = (len(series) > 1 and len(shapes) == 1 and not any(s.get("cell_labels") for s in series)
              and len(set(sizes)) == 1)
    if mosaic:  # one PNG for the whole grid (compresses far better than one per picture)
        (h_n, w_n), = shapes
        scale = sizes[0][0] // max(w_n, 1)
        colw = math.ceil(colw / scale) * scale
        rowh = math.ceil(rowh / scale) * scale
    width = max(colw * ncols, 220)
    title_lines = _text_lines(plot.get("title", ""), int(width // 7.4))
    top = 8 + len(title_lines) * 17 + 6
    height = top + rowh * nrows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}">']
    for i, line in enumerate(title_lines):
        out.append(f'<text x="{width / 2:.0f}" y="{8 + 13 + i * 17}" text-anchor="middle" font-size="13" '
                   f'font-weight="600" fill="#1b1b1b">{html.escape(line)}</text>')
    if mosaic:
        cols_n, rows_n = colw // scale, rowh // scale
        canvas = [[None] * (cols_n * ncols) for _ in range(rows_n * nrows)]
        for k, s in enumerate(series):
            r, c = divmod(k, ncols)
            x_n = c * cols_n + (cols_n - w_n) // 2
            for i, row in enumerate(_rgb(s["image"])):
                canvas[r * rows_n + i][x_n:x_n + w_n] = row
        data = base64.b64encode(_png(canvas)).decode("ascii")
        out.append(f'<image x="0" y="{top}" width="{cols_n * ncols * scale}" height="{rows_n * nrows * scale}" '
                   f'preserveAspectRatio="none" style="image-rendering:pixelated" '
                   f'href="data:image/png;base64,{data}"/>')
    for k, (s, (w_px, h_px)) in enumerate(zip(series, sizes)):
        r, c = divmod(k, ncols)
        x0 = c * colw + (colw - w_px) / 2
        y0 = top + r * rowh + (ph - h_px) / 2
        img = _rgb(s["image"])
        if mosaic:
            pass
        elif s.get("cell_labels"):
            labels = s["cell_labels"]
            cell = 30
            out.append(f'<g transform="translate({x0:g} {y0:g})" stroke="#555" stroke-width="0.5">')
            texts, by_colour = [], {}
            for i, row in enumerate(img):
                for j, px in enumerate(row):  # one path per colour, one square per cell
                    by_colour.setdefault(_hex(px), []).append(f"M{j * cell} {i * cell}h{cell - 2}v{cell - 2}h{2 - cell}z")
                    lab = labels[i][j] if i < len(labels) and j < len(labels[i]) else ""
                    if lab not in ("", None):
                        ink = "" if _luminance(px) > 0.179 else ' fill="#fff"'
                        texts.append(f'<text x="{j * cell + 14}" y="{i * cell + 18}"{ink}>{html.escape(str(lab))}</text>')
            out.extend(f'<path fill="{colour}" d="{"".join(d)}"/>' for colour, d in by_colour.items())
            out.append('</g>')
            out.append(f'<g transform="translate({x0:g} {y0:g})" text-anchor="middle" font-size="11">'
                       + "".join(texts) + "</g>")
        else:
            data = base64.b64encode(_png(img)).decode("ascii")
            out.append(f'<image x="{x0:.1f}" y="{y0:.1f}" width="{w_px}" height="{h_px}" '
                       f'preserveAspectRatio="none" style="image-rendering:pixelated" '
                       f'href="data:image/png;base64,{data}"/>')
        for li, line in enumerate(_text_lines(s.get("label", ""), int((colw - 4) // char_w))):
            ly = top + r * rowh + ph + 6 + font + li * (font + 3)
            out.append(f'<text x="{c * colw + colw / 2:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="{font}" '
                       f'fill="#1b1b1b">{html.escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _hoist_styles(svg: str, uid: str) -> str:
    """Repeated ``style``/``clip-path`` attribute pairs become classes (``{uid}-s0``...) defined
    once in the figure's own ``<style>``: the bulk of a chart's bytes is the same style on every
    tick, grid line and label."""
    pat = re.compile(r'(\sclip-path="url\(#([^)]+)\)")?\sstyle="([^"]*)"')
    counts: dict = {}
    for m in pat.finditer(svg):
        key = (m.group(2), m.group(3))
        counts[key] = counts.get(key, 0) + 1
    names = {k: f"{uid}-s{i}" for i, k in enumerate(k for k, n in counts.items() if n > 1)}
    if not names:
        return svg

    def repl(m):
        key = (m.group(2), m.group(3))
        return f' class="{names[key]}"' if key in names else m.group(0)

    svg = pat.sub(repl, svg)
    css = "".join("." + name + "{" + style + (f";clip-path:url(#{clip})" if clip else "") + "}"
                  for (clip, style), name in names.items())
    head_end = svg.find(">", svg.find("<svg")) + 1
    return svg[:head_end] + f"\n<style>{css}</style>" + svg[head_end:]


def render_svg(plot: dict, uid: str = "fig") -> str:
    """One accessible inline ``<svg>`` for ``plot``; every ID in it starts with ``uid``."""
    svg = _images(plot) if plot.get("kind") == "images" else _chart(plot)
    svg = _hoist_styles(_prefix_ids(svg, uid), uid)
    return _accessible(svg, uid, plot.get("title", "") or "figure", describe(plot))
