"""Small SVG charts for the report pages and the printed report.

Pure: labels and values in, SVG markup out, so the same chart shows on the screen, on
paper and in a PDF printed without a network. Values are shares from 0 to 1 (shown as
percentages) unless ``scale`` and ``fmt`` say otherwise. A missing value (``None``) is a
gap in a line and "no data" beside a bar, never a zero. Every text is escaped; each
chart carries a ``<title>``, an ``aria-label`` and a ``<desc>`` listing its figures, so
a screen reader gets the numbers too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
PALETTE = ("#0b6e4f", "#d97706", "#1d64c2", "#a61b1b", "#6b4fbb")
GOOD, FAIR, POOR, NO_DATA = "#2f7d32", "#d97706", "#c0392b", "#9aa5b1"
INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9e2ec"

Value = float | None
#: A line: its name and its points, ``(x label, value)``.
Series = tuple[str, Sequence[tuple[str, Value]]]


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(text: str, size: float) -> float:
    """Roughly how wide ``text`` sets at ``size``: CJK characters are square, Latin ones
    about six tenths of that."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _clip(text: str, size: float, room: float) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _open(kind: str, title: str, width: float, height: float, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}"'
        f' aria-label="{_esc(title)}" font-family="{_esc(FONT)}" font-size="14">',
        f"<title>{_esc(title)}</title>",
        f"<desc>{_esc(desc)}</desc>",
    ]


def _shown(value: Value, fmt: Callable[[float], str], none_label: str) -> str:
    return none_label if value is None else fmt(value)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    width: float = 720,
    height: float = 260,
    scale: float = 1.0,
    fmt: Callable[[float], str] = percent,
    none_label: str = "—",
    ticks: int = 4,
    max_labels: int = 12,
) -> str:
    """Lines over shared x labels (in the order first seen), the y axis from 0 to
    ``scale``, a legend on top; with few points each point is labelled with its value."""
    labels: list[str] = []
    for _, points in series:
        labels += [x for x, _ in points if x not in labels]
    desc = "; ".join(
        f"{name}: " + ", ".join(f"{x} {_shown(v, fmt, none_label)}" for x, v in points)
        for name, points in series
    )
    out = _open("line", title, width, height, desc)
    left, right, top, bottom, inset = 52.0, 16.0, 44.0, 30.0, 30.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        share = min(max(value / scale, 0.0), 1.0) if scale else 0.0
        return top + plot_h * (1 - share)

    def x_of(index: int) -> float:
        if len(labels) <= 1:
            return left + plot_w / 2
        return left + inset + (plot_w - 2 * inset) * index / (len(labels) - 1)

    for step in range(ticks + 1):  # grid and y labels
        tick = scale * step / ticks
        y = y_of(tick)
        out.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}"'
                   f' stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
        out.append(f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end"'
                   f' fill="{MUTED}" font-size="12">{_esc(_tick(tick, fmt))}</text>')  # fmt: skip
    every = max(1, -(-len(labels) // max_labels))  # thin the x labels when there are many
    for index, label in enumerate(labels):
        if index % every and index != len(labels) - 1:
            continue
        out.append(f'<text x="{_n(x_of(index))}" y="{_n(height - 8)}" text-anchor="middle"'
                   f' fill="{MUTED}" font-size="12">{_esc(label)}</text>')  # fmt: skip
    legend_x = left
    for number, (name, _) in enumerate(series):  # legend
        colour = PALETTE[number % len(PALETTE)]
        out.append(f'<line x1="{_n(legend_x)}" y1="16" x2="{_n(legend_x + 22)}" y2="16"'
                   f' stroke="{colour}" stroke-width="3"/>')  # fmt: skip
        out.append(f'<text x="{_n(legend_x + 28)}" y="21" fill="{INK}">{_esc(name)}</text>')
        legend_x += 28 + text_width(name, 14) + 24
    marks: dict[int, list[tuple[float, str, str]]] = {}  # x index → (y, colour, text)
    for number, (name, points) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        values = dict(points)
        runs: list[list[str]] = [[]]
        for index, label in enumerate(labels):
            value = values.get(label)
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{_n(x_of(index))},{_n(y_of(value))}")
        for part in runs:
            if len(part) > 1:
                out.append(f'<polyline points="{" ".join(part)}" fill="none" stroke="{colour}"'
                           ' stroke-width="2.5" stroke-linejoin="round"/>')  # fmt: skip
        for index, label in enumerate(labels):
            value = values.get(label)
            if value is None:
                continue
            x, y = x_of(index), y_of(value)
            shown = fmt(value)
            out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{colour}">'
                       f"<title>{_esc(f'{name} {label}: {shown}')}</title></circle>")  # fmt: skip
            marks.setdefault(index, []).append((y, colour, shown))
    if len(labels) <= 8:  # few points: write the values beside them
        for index, found in marks.items():
            out += _point_labels(x_of(index), sorted(found), top, height - 22)
    if not labels:
        out.append(f'<text x="{_n(width / 2)}" y="{_n(top + plot_h / 2)}" text-anchor="middle"'
                   f' fill="{MUTED}">{_esc(none_label)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _point_labels(
    x: float, marks: Sequence[tuple[float, str, str]], top: float, lowest: float
) -> list[str]:
    """The values at one x, top to bottom: the highest point's above it, the others below
    theirs, each at least a line below the one before so that none overlap."""
    out, line, last = [], 15.0, -1e9
    for number, (y, colour, text) in enumerate(marks):
        wanted = y - 9 if number == 0 and y - 9 >= top - 10 else y + 19
        at = min(max(wanted, last + line), lowest)
        last = at
        out.append(f'<text x="{_n(x)}" y="{_n(at)}" text-anchor="middle" fill="{colour}"'
                   f' font-size="13" font-weight="600" paint-order="stroke" stroke="#fff"'
                   f' stroke-width="3">{_esc(text)}</text>')  # fmt: skip
    return out


def _tick(value: float, fmt: Callable[[float], str]) -> str:
    if fmt is percent:
        return f"{value * 100:.0f}%"
    return fmt(value)


def grade(share: float, thresholds: tuple[float, float]) -> str:
    """``good``, ``fair`` or ``poor``: at or above the first threshold, the second, or
    below both."""
    good, fair = thresholds
    return "good" if share >= good else "fair" if share >= fair else "poor"


def bar_chart(
    items: Sequence[tuple[str, Value]],
    *,
    title: str,
    width: float = 720,
    bar: float = 22,
    gap: float = 10,
    scale: float = 1.0,
    fmt: Callable[[float], str] = percent,
    none_label: str = "—",
    thresholds: tuple[float, float] | None = (0.95, 0.85),
) -> str:
    """Horizontal bars, one per item, the label at the left and the value at the bar's
    end. With ``thresholds`` a bar is green, amber or red by its share of ``scale``."""
    desc = "; ".join(f"{label}: {_shown(v, fmt, none_label)}" for label, v in items)
    size = 14.0
    label_w = min(max((text_width(label, size) for label, _ in items), default=0) + 12,
                  width * 0.36)  # fmt: skip
    value_w = max(text_width(none_label, size), 60) + 8
    left, right = label_w, width - value_w
    height = max(len(items), 1) * (bar + gap) + gap
    out = _open("bar", title, width, height, desc)
    colours = {"good": GOOD, "fair": FAIR, "poor": POOR}
    top, end = _n(gap / 2), _n(height - gap / 2)
    out.append(f'<line x1="{_n(left)}" y1="{top}" x2="{_n(left)}" y2="{end}" stroke="{MUTED}"/>')
    out.append(f'<line x1="{_n(right)}" y1="{top}" x2="{_n(right)}" y2="{end}" stroke="{GRID}"'
               ' stroke-dasharray="3 3"/>')  # fmt: skip
    for index, (label, value) in enumerate(items):
        y = gap + index * (bar + gap)
        middle = y + bar / 2 + 4.5
        shown_label = _clip(label, size, left - 12)
        out.append(f"<g><title>{_esc(label)}</title>"
                   f'<text x="{_n(left - 8)}" y="{_n(middle)}" text-anchor="end" fill="{INK}">'
                   f"{_esc(shown_label)}</text></g>")  # fmt: skip
        if value is None:
            out.append(f'<text x="{_n(left + 6)}" y="{_n(middle)}" fill="{NO_DATA}">'
                       f"{_esc(none_label)}</text>")  # fmt: skip
            continue
        share = min(max(value / scale, 0.0), 1.0) if scale else 0.0
        kind = grade(share, thresholds) if thresholds else "plain"
        colour = colours.get(kind, PALETTE[0])
        length = max((right - left) * share, 1.5)
        shown = fmt(value)
        out.append(f'<rect class="bar-{kind}" x="{_n(left)}" y="{_n(y)}" width="{_n(length)}"'
                   f' height="{_n(bar)}" rx="3" fill="{colour}">'
                   f"<title>{_esc(f'{label}: {shown}')}</title></rect>")  # fmt: skip
        out.append(f'<text x="{_n(left + length + 6)}" y="{_n(middle)}" fill="{INK}"'
                   f' font-weight="600">{_esc(shown)}</text>')  # fmt: skip
    if not items:
        out.append(f'<text x="{_n(width / 2)}" y="{_n(height / 2 + 4)}" text-anchor="middle"'
                   f' fill="{MUTED}">{_esc(none_label)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)
