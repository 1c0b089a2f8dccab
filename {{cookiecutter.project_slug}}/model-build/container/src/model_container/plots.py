"""Small helpers the HTML reports share: matplotlib figures without a display, embedded as PNG.

Reports embed their images as ``data:`` URIs, so one ``report.html`` is the whole report: a user who
downloads only that file from S3 (or opens it from the console's link) still sees every plot, which
a page referring to PNG files beside it would not show.

matplotlib is imported when the first figure is made (about 0.3 s), not with this module. ``figure``
lays its axes out with matplotlib's constrained layout; ``fixed_figure`` places them by margins the
caller sizes from its text (``text_inches``): no layout engine, whose extra pass (the layout, then a
draw to measure, then the draw) makes a small plot cost up to twice as much. The drift monitor, which
runs on a schedule and draws a plot per feature, uses the latter.
"""

from __future__ import annotations

import base64
import functools
import io
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
TICK_SPACE = 0.1  # inches between an axis and its tick labels (tick length and pad: 3.5 + 3.5 pt)


def figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with a constrained layout (labels never clipped)."""
    from matplotlib.figure import Figure  # noqa: PLC0415  (the object API: no pyplot, no display)

    return Figure(figsize=(width, height), layout="constrained")


def fixed_figure(
    width: float, height: float, *, left: float, bottom: float, right: float, top: float
) -> Figure:
    """A figure of ``width`` x ``height`` inches whose subplots fill it but for these margins
    (inches), with no layout engine: the caller leaves room for the labels (``text_inches``)."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )
    return fig


@functools.cache
def _renderer() -> Any:
    from matplotlib.backends.backend_agg import RendererAgg  # noqa: PLC0415

    return RendererAgg(1, 1, 72)  # 72 dpi: sizes in points


@functools.cache
def text_inches(text: str, size: str | float = "medium") -> tuple[float, float]:
    """(width, height) in inches of ``text`` as one line (plain: no math) in the default font; the
    height is the line's (1.2 times the font size), whatever letters it holds."""
    from matplotlib.font_manager import FontProperties  # noqa: PLC0415

    font = FontProperties(size=size)
    width, _, _ = _renderer().get_text_width_height_descent(text, font, ismath=False)
    return width / 72, 1.2 * font.get_size_in_points() / 72


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` showing ``png`` from a ``data:`` URI; ``alt`` is escaped (it may name features)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
