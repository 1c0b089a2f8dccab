"""Small helpers the HTML reports share: matplotlib figures without a display, embedded as PNG.

Reports embed their images as ``data:`` URIs, so one ``report.html`` is the whole report: a user who
downloads only that file from S3 (or opens it from the console's link) still sees every plot, which
a page referring to PNG files beside it would not show.
"""

from __future__ import annotations

import base64
import io
from html import escape

from matplotlib.figure import Figure  # the object API needs no pyplot and no display backend

DPI = 100


def figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with a constrained layout (labels never clipped)."""
    return Figure(figsize=(width, height), layout="constrained")


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` showing ``png`` from a ``data:`` URI; ``alt`` is escaped (it may name features)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
