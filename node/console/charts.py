"""Server-side SVG charts for the console: ROC, KS and lift curves, and small line charts.

Plain SVG built from numbers, so pages need no JavaScript and no charting library. Every
chart carries a ``<title>`` and ``<desc>`` for screen readers, and its data also appears in
a table beside it on the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

W, H, PAD = 300, 220, 34
_COLOURS = ("#0a4a8f", "#a11616", "#11602a", "#6b4a00")


def _x(v: float, lo: float, hi: float) -> float:
    return PAD + (v - lo) / ((hi - lo) or 1.0) * (W - PAD - 10)


def _y(v: float, lo: float, hi: float) -> float:
    return H - PAD - (v - lo) / ((hi - lo) or 1.0) * (H - PAD - 10)


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    x_label: str,
    y_label: str,
    *,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> Markup:
    """An SVG line chart of named series of (x, y) points, with axes and a legend."""
    points = [p for _, pts in series for p in pts]
    if not points:
        return Markup("")
    xl, xh = x_range or (min(p[0] for p in points), max(p[0] for p in points))
    yl, yh = y_range or (min(0.0, *(p[1] for p in points)), max(p[1] for p in points))
    key = re.sub(r"\W+", "-", title.lower())
    parts = [
        f'<svg role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'aria-labelledby="t-{key} d-{key}">',
        f'<title id="t-{key}">{escape(title)}</title>',
        f'<desc id="d-{key}">{escape(y_label)} against {escape(x_label)}; '
        f"the same figures are in the table beside the chart.</desc>",
        f'<rect x="{PAD}" y="10" width="{W - PAD - 10}" height="{H - PAD - 10}" '
        'fill="#fff" stroke="#767676"/>',
        f'<text x="{W / 2}" y="{H - 4}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="10" y="{H / 2}" transform="rotate(-90 10 {H / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>',
        f'<text x="{PAD}" y="{H - PAD + 12}" text-anchor="middle">{xl:g}</text>',
        f'<text x="{W - 10}" y="{H - PAD + 12}" text-anchor="middle">{xh:.3g}</text>',
        f'<text x="{PAD - 3}" y="{H - PAD}" text-anchor="end">{yl:.3g}</text>',
        f'<text x="{PAD - 3}" y="16" text-anchor="end">{yh:.3g}</text>',
    ]
    if diagonal:
        parts.append(
            f'<line x1="{_x(xl, xl, xh)}" y1="{_y(yl, yl, yh)}" x2="{_x(xh, xl, xh)}" '
            f'y2="{_y(yh, yl, yh)}" stroke="#767676" stroke-dasharray="4 3"/>'
        )
    for i, (name, pts) in enumerate(series):
        colour = _COLOURS[i % len(_COLOURS)]
        path = " ".join(f"{_x(x, xl, xh):.1f},{_y(y, yl, yh):.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.append(f'<text x="{PAD + 8}" y="{24 + 14 * i}" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def roc_chart(roc: Sequence[Sequence[float]]) -> Markup:
    return line_chart(
        "ROC curve", [("model", [(p[0], p[1]) for p in roc])],
        "false positive rate", "true positive rate",
        x_range=(0.0, 1.0), y_range=(0.0, 1.0), diagonal=True,
    )  # fmt: skip


def ks_chart(ks: Sequence[Sequence[float]]) -> Markup:
    return line_chart(
        "KS curves",
        [("defaults", [(p[0], p[1]) for p in ks]), ("non-defaults", [(p[0], p[2]) for p in ks])],
        "share of firms, riskiest first", "cumulative share",
        x_range=(0.0, 1.0), y_range=(0.0, 1.0),
    )  # fmt: skip


def lift_chart(lift: Sequence[Sequence[float]]) -> Markup:
    return line_chart(
        "Lift by decile", [("lift", [(p[0], p[1]) for p in lift])],
        "decile, riskiest first", "default rate / overall rate",
    )  # fmt: skip
