"""The browser check of the reports (tests/browser.py) finds what it is there to find: a clean page
with an embedded image passes; a broken image, a script error, a console error and a request that
would leave the machine are each reported, and so is a page without any image."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.browser import page_problems

# A 1x1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2a0a4f50000000049454e44ae426082"
    )
).decode()


def test_clean_page_passes_and_each_fault_is_found(tmp_path: Path) -> None:
    image = f'<img src="data:image/png;base64,{PIXEL}" alt="dot">'
    pages = {
        "clean": image,
        "faulty": image
        + '<img src="missing.png" alt="gone">'
        + "<script>console.error('logged')</script><script>undefinedName()</script>"
        + '<link rel=stylesheet href="https://example.com/a.css">',
        "no_image": "<p>text only</p>",
    }
    for name, body in pages.items():
        (tmp_path / f"{name}.html").write_text(
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{name}</title></head>"
            f"<body>{body}</body></html>",
            encoding="utf-8",
        )
    found = page_problems(sorted(tmp_path.glob("*.html")))
    by_name = {Path(path).stem: problems for path, problems in found.items()}
    assert by_name["clean"] == []
    faulty = "\n".join(by_name["faulty"])
    assert "image does not show: file://" in faulty and "missing.png" in faulty
    assert "console error: logged" in faulty
    assert "page error:" in faulty and "undefinedName" in faulty
    assert "request failed: https://example.com/a.css" in faulty
    assert by_name["no_image"] == ["no image"]
