"""Size of the HTML report, and what it is made of.

    python benchmarks/report_size.py [RESULTS.json]

Renders the results store (or RESULTS.json) and prints the file size and the bytes taken by
figures, math, evidence tables and the rest.  The target (README) is at most 1 MB for the full
profile's report.
"""
import re
import sys
import time

from derivcheck import store
from derivcheck.reports.html import render_html


def main(argv):
    doc = store.load(argv[1] if len(argv) > 1 else None)
    if not doc["claims"]:
        print(f"no results in {store.results_path(argv[1] if len(argv) > 1 else None)}: run derivcheck verify first")
        return 2
    t0 = time.perf_counter()
    page = render_html(doc)
    took = time.perf_counter() - t0
    total = len(page.encode())

    def part(pattern):
        found = re.findall(pattern, page, re.S)
        return len(found), sum(len(x.encode()) for x in found)

    print(f"report of {len(doc['claims'])} claims ({doc.get('profile')} profile): {total:,} bytes "
          f"({total / 1e6:.3f} MB), rendered in {took:.1f} s")
    for name, pattern in [("figures (inline SVG)", r"<svg\b.*?</svg>"), ("  of which pictures (PNG)", r"<image\b[^>]*>"),
                          ("math (MathML)", r"<math\b.*?</math>"),
                          ("evidence tables", r'<table class="grid evidence">.*?</table>'),
                          ("answer-set answers", r'<div class="answers-head">.*?(?=<article|<section|</section)'),
                          ("contents tree", r'<nav class="toc".*?</nav>')]:
        n, size = part(pattern)
        print(f"  {name:<26} {n:>5} items {size:>10,} bytes ({100 * size / total:4.1f} %)")
    ids = re.findall(r'\sid="([^"]+)"', page)
    print(f"  element IDs: {len(ids)}, duplicated: {len(ids) - len(set(ids))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
