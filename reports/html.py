"""The self-contained HTML verification report.

:func:`render_html` turns a results document (the JSON that
``derivcheck verify --json`` prints) into one HTML file: LaTeX is converted to
MathML (rendered natively by browsers, no script or network), plots are inline
SVG, CSS is inline.  Nothing here decides a verdict: it only shows them.
"""
from __future__ import annotations

import functools
import html
from collections import OrderedDict
from pathlib import Path

import jinja2
from markupsafe import Markup

from .plots import render_svg

TEMPLATES = Path(__file__).with_name("templates")


@functools.lru_cache(maxsize=4096)
def latex_to_mathml(tex: str, display: bool = False) -> str:
    """MathML for ``tex``; on a conversion error the escaped source in <code>."""
    if not tex:
        return ""
    try:
        from latex2mathml.converter import convert

        return convert(tex, display="block" if display else "inline")
    except Exception:  # latex2mathml does not know every macro: show the source
        return f"<code class='tex'>{html.escape(tex)}</code>"


def _fmt(value) -> str:
    if isinstance(value, dict) and set(value) == {"re", "im"}:
        return f"{value['re']:.6g}{value['im']:+.6g}i"
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["math"] = lambda tex: Markup(latex_to_mathml(tex))
    env.filters["displaymath"] = lambda tex: Markup(latex_to_mathml(tex, display=True))
    env.filters["num"] = lambda v: Markup(_fmt(v))
    env.filters["svg"] = lambda plot: Markup(render_svg(plot))
    return env


TOPIC_TITLES = {
    "gan_dynamics": "GAN gradient descent-ascent dynamics",
    "vae": "Variational autoencoders",
    "flows": "Normalizing flows",
    "gan_theory": "GAN theory: optimal discriminator and generator costs",
    "simsiam": "SimSiam linear dynamics",
    "masked_conv": "Masked convolutions",
    "contrastive": "Contrastive learning",
}


def render_html(doc: dict) -> str:
    topics: "OrderedDict[str, list]" = OrderedDict()
    for c in doc["claims"]:
        topics.setdefault(c["topic"], []).append(c)
    refuted = [c for c in doc["claims"] if c.get("expect") == "fails"]
    template = _environment().get_template("report.html.j2")
    return template.render(
        doc=doc,
        topics=topics,
        topic_titles=TOPIC_TITLES,
        refuted=refuted,
        summary=doc["summary"],
        policy=doc.get("policy", {}),
    )
