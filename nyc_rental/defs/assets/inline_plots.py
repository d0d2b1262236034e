"""Small SVG charts that the Dagster UI shows in place on an asset's page.

The UI renders a Markdown metadata entry in the page only when it is shorter than 1,000 characters; a longer one
(any useful PNG as a data URI) hides behind a [Show Markdown] button. An SVG of a few bars or one line, written
tersely and put in a `data:image/svg+xml` URI, fits: these charts are built to stay under that limit (fewer
bars when the labels are long), and the full-size PNGs go to the week's MLflow run.

They are drawn at a fixed WIDTH: the page shows an entry's value in the third column of a Key | Timestamp | Value
table, beside the page's left navigation and its definition sidebar. On a laptop's 1366-pixel-wide window with the
navigation shown, that column has about 310 pixels where the longest key is `nyc_rental/one_row_per_week`
(model's and test_metrics' pages); a wider chart widens the table past its box, cutting off the right edge
(scripts/ui_screenshots.py measures it at 1440×900 and 1366×768).
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import MetadataValue

# The UI's limit for showing Markdown in place (ui-core MetadataEntry.tsx: `mdStr.length < 1000`).
INLINE_LIMIT = 1000
WIDTH = 280
# The 11-pixel sans-serif labels take about 5.6 pixels a character (Chromium's); the bars' labels are given 6.5.
LABEL_PX = 6.5
BLUE = "steelblue"
GREY = "silver"


class TooLong(ValueError):
    """The chart's Markdown would not show in place."""


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _markdown(svg: str, alt: str) -> str:
    # A link destination may not hold spaces, and '#' or '%' would end or garble the URI: the few characters
    # that need it are escaped, the rest of the SVG stays as written (the browser percent-encodes the <>).
    escaped = svg.replace("%", "%25").replace("#", "%23").replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"![{alt}](data:image/svg+xml,{escaped})"


def _svg(height: int, body: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' font-family='sans-serif' "
        f"font-size='11'>{body}</svg>"
    )


def inline_chart(svg: str, alt: str) -> MetadataValue:
    text = _markdown(svg, alt)
    if len(text) >= INLINE_LIMIT:
        raise TooLong(f"{alt}: {len(text)} characters of Markdown, the UI shows fewer than {INLINE_LIMIT} in place")
    return MetadataValue.md(text)


def bar_chart(values: Sequence[tuple[str, float]], alt: str, reference: Sequence[float] | None = None) -> MetadataValue:
    """Horizontal bars, one per (label, value), largest scale first; with `reference`, a thin grey bar under each
    (e.g. last week's value). As many leading bars as fit in place."""
    for shown in range(len(values), 0, -1):
        try:
            return inline_chart(_bars(values[:shown], reference[:shown] if reference else None), alt)
        except TooLong:
            continue
    raise TooLong(f"{alt}: not even one bar fits in place")


def _bars(values: Sequence[tuple[str, float]], reference: Sequence[float] | None) -> str:
    # Each set of bars is one path of thick horizontal strokes: a dozen characters a bar.
    # The labels end where the longest needs (at most 166 pixels in, for 24 characters and a number), the bars
    # take the rest of WIDTH.
    top = max([abs(v) for _, v in values] + list(reference or [])) or 1.0
    step = 19 if reference else 16
    texts = [f"{label[:24]} {_number(value)}" for label, value in values]
    end = min(166, round(LABEL_PX * max(len(text) for text in texts)))
    start, length = end + 4, WIDTH - end - 10
    labels, bars, grey = [], [], []
    for i, (text, (_, value)) in enumerate(zip(texts, values)):
        y = 2 + step * i
        labels.append(f"<text x='{end}' y='{y + 10}'>{text}</text>")
        bars.append(f"M{start},{y + 6}h{max(round(length * abs(value) / top), 1)}")
        if reference:
            grey.append(f"M{start},{y + 14}h{max(round(length * reference[i] / top), 1)}")
    body = "<style>text{text-anchor:end}</style>" + "".join(labels)
    body += f"<path d='{''.join(bars)}' stroke='{BLUE}' stroke-width='12'/>"
    if reference:
        body += f"<path d='{''.join(grey)}' stroke='{GREY}' stroke-width='3'/>"
    return _svg(4 + step * len(values), body)


def line_chart(
    points: Sequence[tuple[float, float]],
    alt: str,
    x_labels: tuple[str, str],
    diagonal: bool = False,
) -> MetadataValue:
    """One line through `points` (x, y), the y range written on the left and `x_labels` (first, last)
    under it; `diagonal` adds a dashed y = x line (predicted against actual)."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    low, high = (min(xs + ys), max(xs + ys)) if diagonal else (min(ys), max(ys))
    x_low, x_high = (low, high) if diagonal else (min(xs), max(xs))
    left, top, plot_w, plot_h = 44, 8, WIDTH - 60, 110

    def px(x: float) -> int:
        return left + round(plot_w * (x - x_low) / ((x_high - x_low) or 1))

    def py(y: float) -> int:
        return top + plot_h - round(plot_h * (y - low) / ((high - low) or 1))

    line = ",".join(f"{px(x)},{py(y)}" for x, y in points)
    body = (
        f"<text x='40' y='{top + 8}' text-anchor='end'>{_number(high)}</text>"
        f"<text x='40' y='{top + plot_h}' text-anchor='end'>{_number(low)}</text>"
        f"<text x='{left}' y='{top + plot_h + 16}'>{x_labels[0]}</text>"
        f"<text x='{left + plot_w}' y='{top + plot_h + 16}' text-anchor='end'>{x_labels[1]}</text>"
        f"<path d='M{left},{top}V{top + plot_h}H{left + plot_w}' fill='none' stroke='{GREY}'/>"
    )
    if diagonal:
        body += f"<path d='M{px(low)},{py(low)}L{px(high)},{py(high)}' stroke='{GREY}' stroke-dasharray='4'/>"
    body += f"<polyline points='{line}' fill='none' stroke='{BLUE}' stroke-width='2'/>"
    return inline_chart(_svg(top + plot_h + 22, body), alt)
