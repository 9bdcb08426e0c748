"""Small inline SVG charts for the monitoring dashboard, drawn on the server.

No JavaScript and nothing fetched from elsewhere: each function returns safe SVG markup
whose text is escaped, whose colours read on the admin's light and dark themes
(``currentColor`` for text and axes), and which says what it shows in ``<title>``
tooltips and an ``aria-label``.
"""

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

COLOURS = {
    "succeeded": "#3a9d5d",
    "failed": "#d64545",
    "cancelled": "#9aa0a6",
    "queued": "#d9a521",
    "running": "#417690",
    "range": "#79aec8",
}
FONT = 'font-family="inherit" font-size="11"'


def nice_ceiling(value):
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) >= value, at least 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover


def stacked_bars(buckets, series, *, label_of, tooltip_of, aria_label, width=720, height=190):
    """Vertical bars, one per bucket, stacked by ``series`` [(key, label)].

    ``label_of(bucket, index)`` gives the axis label under a bar, or None for none.
    """
    left, right, top, bottom = 34, 6, 8, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(b[key] for key, _ in series) for b in buckets]
    top_value = nice_ceiling(max(totals, default=0))
    slot = plot_w / max(len(buckets), 1)
    bar = max(slot * 0.8, 1)
    parts = [_svg_open(width, height, aria_label)]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        value = top_value * fraction
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity=".15"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="currentColor" fill-opacity=".7" {}>{}</text>',
                left,
                width - right,
                _n(y),
                _n(y),
                left - 4,
                _n(y + 4),
                mark_safe(FONT),
                f"{value:g}",
            )
        )
    for i, bucket in enumerate(buckets):
        x = left + i * slot + (slot - bar) / 2
        rects = []
        y = top + plot_h
        for key, _label in series:
            h = plot_h * bucket[key] / top_value
            if h <= 0:
                continue
            y -= h
            rects.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    _n(x),
                    _n(y),
                    _n(bar),
                    _n(h),
                    COLOURS[key],
                )
            )
        # A full-height transparent rect, so the tooltip shows on empty hours too.
        parts.append(
            format_html(
                '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="transparent"/>{}</g>',
                tooltip_of(bucket),
                _n(left + i * slot),
                top,
                _n(slot),
                plot_h,
                mark_safe("".join(rects)),
            )
        )
        label = label_of(bucket, i)
        if label:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" fill="currentColor" fill-opacity=".7" {}>{}</text>',
                    _n(left + i * slot),
                    height - 6,
                    mark_safe(FONT),
                    label,
                )
            )
    if not any(totals):
        parts.append(_empty_note(left + plot_w / 2, top + plot_h / 2, "No jobs finished in this period"))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def ranges(rows, *, fmt, aria_label, width=360):
    """One horizontal bar per row: a pale band from ``low`` to ``high``, a mark in the text colour at ``mid``.

    ``rows``: [(label, low, mid, high)], values in one unit, None when unknown.
    """
    left, right, row_h, top = 64, 10, 30, 6
    height = top + row_h * len(rows) + 18
    plot_w = width - left - right
    top_value = nice_ceiling(max((r[3] or 0 for r in rows), default=0) * 1.05)
    parts = [_svg_open(width, height, aria_label)]
    for i, (label, low, mid, high) in enumerate(rows):
        y = top + i * row_h
        parts.append(
            format_html(
                '<text x="0" y="{}" fill="currentColor" {}>{}</text>'
                '<rect x="{}" y="{}" width="{}" height="12" fill="currentColor" fill-opacity=".06"/>',
                y + 14,
                mark_safe(FONT),
                label,
                left,
                y + 4,
                plot_w,
            )
        )
        if mid is None:
            parts.append(_empty_note(left + plot_w / 2, y + 14, "no data", anchor="middle"))
            continue
        x_low = left + plot_w * (low or 0) / top_value
        x_high = left + plot_w * (high if high is not None else mid) / top_value
        x_mid = left + plot_w * mid / top_value
        parts.append(
            format_html(
                '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="12" fill="{}"/>'
                '<rect x="{}" y="{}" width="3" height="18" fill="currentColor"/></g>',
                f"{label}: median {fmt(mid)}, range shown {fmt(low or 0)} – {fmt(high)}",
                _n(x_low),
                y + 4,
                _n(max(x_high - x_low, 1)),
                COLOURS["range"],
                _n(x_mid - 1.5),
                y + 1,
            )
        )
    axis_y = top + row_h * len(rows) + 12
    parts.append(
        format_html(
            '<text x="{}" y="{}" fill="currentColor" fill-opacity=".7" {}>0</text>'
            '<text x="{}" y="{}" text-anchor="end" fill="currentColor" fill-opacity=".7" {}>{}</text>',
            left,
            axis_y,
            mark_safe(FONT),
            width - right,
            axis_y,
            mark_safe(FONT),
            fmt(top_value),
        )
    )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def shares(parts, *, fmt, aria_label, palette=("#417690", "#79aec8", "#d9a521", "#3a9d5d"), width=360):
    """One horizontal bar split into ``parts`` [(label, value)], with a legend below."""
    height = 24 + 18 * len(parts)
    total = sum(value for _, value in parts)
    out = [_svg_open(width, height, aria_label)]
    out.append(format_html('<rect x="0" y="0" width="{}" height="16" fill="currentColor" fill-opacity=".06"/>', width))
    x = 0.0
    for (label, value), colour in zip(parts, palette, strict=False):
        w = width * value / total if total else 0
        if w > 0:
            out.append(
                format_html(
                    '<g><title>{}: {}</title><rect x="{}" y="0" width="{}" height="16" fill="{}"/></g>',
                    label,
                    fmt(value),
                    _n(x),
                    _n(w),
                    colour,
                )
            )
        x += w
    out.append(
        format_html_join(
            "",
            '<rect x="0" y="{}" width="10" height="10" fill="{}"/>'
            '<text x="16" y="{}" fill="currentColor" ' + FONT + ">{}: {}</text>",
            (
                (26 + 18 * i, colour, 35 + 18 * i, label, fmt(value))
                for i, ((label, value), colour) in enumerate(zip(parts, palette, strict=False))
            ),
        )
    )
    out.append(mark_safe("</svg>"))
    return mark_safe("".join(out))


def progress(percent, *, stale=False, width=160):
    """A progress bar for one running job, its percentage beside it (amber when its worker stopped reporting)."""
    percent = max(0, min(100, int(percent)))
    colour = COLOURS["queued"] if stale else COLOURS["running"]
    return format_html(
        '<svg class="progress" width="{}" height="14" viewBox="0 0 {} 14" role="img" aria-label="{}% done">'
        '<rect width="{}" height="14" rx="3" fill="currentColor" fill-opacity=".1"/>'
        '<rect width="{}" height="14" rx="3" fill="{}"/>'
        '<text x="{}" y="11" fill="currentColor" {}>{}%</text></svg>',
        width + 36,
        width + 36,
        percent,
        width,
        _n(width * percent / 100),
        colour,
        width + 5,
        mark_safe(FONT),
        percent,
    )


def _svg_open(width, height, aria_label):
    return format_html(
        '<svg width="100%" viewBox="0 0 {} {}" style="max-width:{}px" role="img" aria-label="{}">',
        width,
        height,
        width,
        aria_label,
    )


def _empty_note(x, y, text, anchor="middle"):
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" fill="currentColor" fill-opacity=".6" {}>{}</text>',
        _n(x),
        _n(y),
        anchor,
        mark_safe(FONT),
        text,
    )


def _n(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")
