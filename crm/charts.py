"""Server-rendered SVG charts for the dashboard: no JavaScript, no CDN, nothing to vendor.

Hand-written because the dashboard needs only horizontal bars and weekly lines, and an inline SVG
prints, works offline, and is readable by screen readers through its <title>/<desc> and the
table that always accompanies it. Every text is escaped; callers pass plain Python values.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BAR_HEIGHT = 14
LABEL_WIDTH = 170
PLOT_WIDTH = 380
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text}{unit}"


def _legend(names: Sequence[str], *, y: int) -> str:
    parts, x = [], 0
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y + 9}" {FONT}>{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(parts)


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
    max_bars: int = 40,
) -> SafeString:
    """Horizontal grouped bars: one group per label, one bar per series, values printed at the end.
    Labels whose every value is empty or zero are left out (the table still lists them)."""
    keep = [i for i in range(len(labels)) if any((list(vs)[i] if i < len(vs) else None) for _, vs in series)]
    labels = [labels[i] for i in keep][:max_bars]
    series = [(name, [list(vs)[i] for i in keep][:max_bars]) for name, vs in series]
    if not labels or not series:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: no data</p>')
    values = [v for _, vs in series for v in list(vs)[: len(labels)] if v is not None]
    top = max([v for v in values if v > 0], default=1.0)
    group_h = BAR_HEIGHT * len(series) + 8
    legend_h = 18 if len(series) > 1 else 0
    height = legend_h + group_h * len(labels) + 4
    width = LABEL_WIDTH + PLOT_WIDTH + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>'
    ]
    if legend_h:
        out.append(_legend([name for name, _ in series], y=2))
    for i, label in enumerate(labels):
        y0 = legend_h + i * group_h
        short = label if len(label) <= 26 else label[:25] + "…"
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y0 + group_h / 2 + 3:.0f}" text-anchor="end" {FONT}>'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        for j, (name, vs) in enumerate(series):
            v = list(vs)[i] if i < len(vs) else None
            w = 0 if v is None or v <= 0 else max(1.0, PLOT_WIDTH * v / top)
            y = y0 + 4 + j * BAR_HEIGHT
            colour = PALETTE[j % len(PALETTE)]
            out.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT - 2}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(name)}: {escape(_fmt(v, unit))}</title></rect>"
                f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{y + BAR_HEIGHT - 4}" {FONT}>{escape(_fmt(v, unit))}</text>'
            )
    out.append(f'<line x1="{LABEL_WIDTH}" y1="{legend_h}" x2="{LABEL_WIDTH}" y2="{height}" stroke="#888"/>')
    out.append("</svg>")
    return mark_safe("".join(out))


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
) -> SafeString:
    """Lines over ordered x labels (weeks); gaps (None) break nothing, they plot as zero."""
    x_labels = list(x_labels)
    if not x_labels or not series:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: no data</p>')
    left, top_pad, plot_w, plot_h, bottom = 44, 22, 560, 180, 34
    width, height = left + plot_w + 10, top_pad + plot_h + bottom
    top = max([v or 0 for _, vs in series for v in vs] + [1])
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(i: int, v: float | None) -> tuple[float, float]:
        return left + i * step, top_pad + plot_h - plot_h * (v or 0) / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>',
        _legend([name for name, _ in series], y=2),
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end" {FONT}>{escape(_fmt(top, unit))}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" {FONT}>0</text>',
    ]
    every = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % every == 0:
            x, _ = xy(i, 0)
            out.append(
                f'<text x="{x:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle" {FONT}>{escape(label)}</text>'
            )
    for j, (name, vs) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(vs)))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(vs):
            x, y = xy(i, v)
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(x_labels[i])} · {escape(name)}: {escape(_fmt(v, unit))}</title></circle>"
            )
    out.append("</svg>")
    return mark_safe("".join(out))
