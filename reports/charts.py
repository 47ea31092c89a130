"""Charts drawn by the service itself, nothing fetched from elsewhere: SVG for the pages (it
prints sharp and needs no script) and PNG through Pillow for the monthly files, with the
DejaVu fonts shipped in ``qr/fonts`` (they have every Vietnamese letter).

A chart is a set of monthly series of rates between 0 and 1 (a missing value is a gap), an
optional threshold line, and labels given by the caller in the page's language.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

FONTS = Path(__file__).resolve().parents[1] / "qr" / "fonts"
COLORS = ("#b3261e", "#1f5f99", "#1b7a3d", "#8a5a00")


@dataclass
class Series:
    label: str
    values: list[float | None]


def _pct(value: float, comma: bool = False) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if comma else text) + " %"


def trend_svg(months: list[str], series: list[Series], *, threshold: float | None = None,
              threshold_label: str = "", title: str = "", width: int = 760, height: int = 280) -> Markup:
    """A line chart of monthly rates (0–100 %), with each point's value in its tooltip."""
    left, right, top, bottom = 48, 16, 30, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(months), 1)
    step = plot_w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
           f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        ty = y(tick)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{int(tick * 100)} %</text>')
    for i, month in enumerate(months):
        label = f"{month[5:7]}/{month[2:4]}" if len(month) == 7 else month
        out.append(f'<text class="tick" x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                   f"{escape(label)}</text>")
    if threshold is not None:
        ty = y(threshold)
        out.append(f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="threshold-label" x="{width - right}" y="{ty - 5:.1f}" text-anchor="end">'
                   f"{escape(threshold_label)} {_pct(threshold)}</text>")
    legend_x = float(left)
    for k, s in enumerate(series):
        color = COLORS[k % len(COLORS)]
        segments: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                segments.append([])
            else:
                segments[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for seg in segments:
            if len(seg) > 1:
                out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2.5" '
                           f'points="{" ".join(seg)}"/>')
        for i, v in enumerate(s.values):
            if v is not None:
                out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{color}" data-series="{k}" '
                           f'data-value="{v:.6f}"><title>{escape(s.label)} {escape(months[i])}: {_pct(v)}</title>'
                           "</circle>")
        out.append(f'<rect x="{legend_x:.0f}" y="6" width="14" height="4" fill="{color}"/>')
        out.append(f'<text class="legend" x="{legend_x + 20:.0f}" y="12">{escape(s.label)}</text>')
        legend_x += 20 + len(s.label) * 6.6 + 28
    out.append("</svg>")
    return Markup("".join(out))


def bars_svg(rows: list[tuple[str, float | None]], *, title: str = "", width: int = 760,
             threshold: float | None = None) -> Markup:
    """Horizontal bars of rates, one per unit, in the order given."""
    bar_h, gap, left, right, top = 16, 6, 260, 60, 8
    height = top * 2 + len(rows) * (bar_h + gap)
    plot_w = width - left - right
    out = [f'<svg class="chart bars" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        ty = top + i * (bar_h + gap)
        text = label if len(label) <= 40 else label[:39] + "…"
        out.append(f'<text class="tick" x="{left - 8}" y="{ty + 12}" text-anchor="end">{escape(text)}</text>')
        if value is not None:
            out.append(f'<rect x="{left}" y="{ty}" width="{plot_w * max(0.0, min(1.0, value)):.1f}" height="{bar_h}" '
                       f'fill="{COLORS[0]}"><title>{escape(label)}: {_pct(value)}</title></rect>')
            out.append(f'<text class="tick" x="{left + plot_w * max(0.0, min(1.0, value)) + 4:.1f}" y="{ty + 12}">'
                       f"{_pct(value)}</text>")
        else:
            out.append(f'<text class="tick muted" x="{left + 4}" y="{ty + 12}">—</text>')
    if threshold is not None:
        tx = left + plot_w * threshold
        out.append(f'<line class="threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 4}" y2="{height - top + 4}"/>')
    out.append("</svg>")
    return Markup("".join(out))


# --- PNG ------------------------------------------------------------------------------------------


def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def monthly_png(title: str, subtitle: str, months: list[str], series: list[Series],
                bars: list[tuple[str, float | None]], *, threshold: float | None, threshold_label: str,
                trend_title: str, bars_title: str, footnote: str) -> bytes:
    """The monthly disclosure's chart: the trend of the rates over the months, and the units'
    rates as bars. 1600 px wide, white background, PNG."""
    from PIL import Image, ImageDraw

    width = 1600
    bar_h, bar_gap = 26, 8
    trend_h = 520
    height = 150 + trend_h + 130 + max(len(bars), 1) * (bar_h + bar_gap) + 110
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    ink, muted, grid = (29, 39, 51), (91, 103, 118), (221, 227, 234)
    draw.text((60, 40), title, font=_font(40, True), fill=ink)
    draw.text((60, 95), subtitle, font=_font(24), fill=muted)

    # trend
    top = 150
    draw.text((60, top), trend_title, font=_font(28, True), fill=ink)
    left, right, ptop, pbottom = 140, width - 90, top + 90, top + trend_h
    plot_w, plot_h = right - left, pbottom - ptop
    n = max(len(months), 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return ptop + plot_h * (1 - max(0.0, min(1.0, v)))

    small = _font(20)
    for tick in (0, 0.25, 0.5, 0.75, 1):
        ty = py(tick)
        draw.line([(left, ty), (right, ty)], fill=grid, width=2)
        draw.text((left - 14, ty), f"{int(tick * 100)} %", font=small, fill=muted, anchor="rm")
    for i, month in enumerate(months):
        draw.text((px(i), pbottom + 16), f"{month[5:7]}/{month[:4]}", font=small, fill=muted, anchor="ma")
    if threshold is not None:
        ty = py(threshold)
        for sx in range(left, right, 24):
            draw.line([(sx, ty), (min(sx + 12, right), ty)], fill=(138, 90, 0), width=3)
        draw.text((right, ty - 8), f"{threshold_label} {_pct(threshold, True)}", font=small, fill=(138, 90, 0),
                  anchor="rb")
    legend_x = float(left)
    for k, s in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points = [(px(i), py(v)) if v is not None else None for i, v in enumerate(s.values)]
        for a, b in zip(points, points[1:]):
            if a and b:
                draw.line([a, b], fill=color, width=5)
        for p in points:
            if p:
                draw.ellipse([p[0] - 7, p[1] - 7, p[0] + 7, p[1] + 7], fill=color)
        draw.rectangle([legend_x, top + 50, legend_x + 30, top + 58], fill=color)
        draw.text((legend_x + 40, top + 54), s.label, font=small, fill=ink, anchor="lm")
        legend_x += 40 + draw.textlength(s.label, font=small) + 40

    # bars
    top = pbottom + 130
    draw.text((60, top - 44), bars_title, font=_font(28, True), fill=ink)
    label_w = 780
    bar_left, bar_right = 60 + label_w, width - 140
    label_font = _font(19)
    for i, (label, value) in enumerate(bars):
        ty = top + 10 + i * (bar_h + bar_gap)
        text = label
        while draw.textlength(text, font=label_font) > label_w - 20 and len(text) > 10:
            text = text[:-2] + "…"
        draw.text((bar_left - 14, ty + bar_h / 2), text, font=label_font, fill=ink, anchor="rm")
        if value is None:
            draw.text((bar_left + 6, ty + bar_h / 2), "—", font=label_font, fill=muted, anchor="lm")
            continue
        end = bar_left + (bar_right - bar_left) * max(0.0, min(1.0, value))
        draw.rectangle([bar_left, ty, max(end, bar_left + 2), ty + bar_h], fill=COLORS[0])
        draw.text((end + 8, ty + bar_h / 2), _pct(value, True), font=label_font, fill=ink, anchor="lm")
    if threshold is not None and bars:
        tx = bar_left + (bar_right - bar_left) * threshold
        draw.line([(tx, top), (tx, top + 10 + len(bars) * (bar_h + bar_gap))], fill=(138, 90, 0), width=3)
    draw.text((60, height - 60), footnote, font=_font(18), fill=muted)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
