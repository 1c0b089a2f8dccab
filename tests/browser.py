"""Opening HTML reports in a real headless Chromium: does each page load cleanly and show its images?

Playwright (pinned in requirements-dev.lock) drives Debian's Chromium package (``/usr/bin/chromium``,
or the binary ``CHROMIUM`` names): Playwright's own browser downloads are never used (``./dev``
installs the package). The browser starts with a fresh profile and everything that would reach
the network at start-up switched off; a page may load only ``file:`` and ``data:`` URLs (a report
is opened from a download, so it must not depend on anything else).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",  # tests run as root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:")
# Per image: whether it loaded and has a size (a broken image has naturalWidth 0).
IMAGES_JS = (
    "Array.from(document.images, i => [i.src.slice(0, 200), i.complete && i.naturalWidth > 0])"
)


def page_problems(pages: Iterable[Path]) -> dict[str, list[str]]:
    """For each page: its console errors, page errors, failed requests and images that do not show
    (an empty list: the page is fine). A page without any image is a problem too: reports plot."""
    if not CHROMIUM.is_file():
        raise FileNotFoundError(
            f"Chromium {CHROMIUM} is missing: install Debian's package (apt-get install chromium; "
            "./dev does it as root) or set CHROMIUM to a Chromium or Chrome binary"
        )
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile (user data dir) of its own.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        context = browser.new_context()
        context.route("**/*", _local_only)
        try:
            for path in pages:
                found = problems[str(path)] = []
                page = context.new_page()
                page.on(
                    "console",
                    lambda m, f=found: (
                        f.append(f"console error: {m.text}") if m.type == "error" else None
                    ),
                )
                page.on("pageerror", lambda e, f=found: f.append(f"page error: {e}"))
                page.on(
                    "requestfailed",
                    lambda r, f=found: f.append(f"request failed: {r.url[:200]} ({r.failure})"),
                )
                page.goto(path.resolve().as_uri(), wait_until="load")
                images = page.evaluate(IMAGES_JS)
                found += [f"image does not show: {src}" for src, shown in images if not shown]
                if not images:
                    found.append("no image")
                page.close()
        finally:
            browser.close()
    return problems


def _local_only(route: Route) -> None:
    if route.request.url.startswith(LOCAL_SCHEMES):
        route.continue_()
    else:
        route.abort("blockedbyclient")
