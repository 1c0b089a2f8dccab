"""The window a monitoring run reads, and the command-line values both monitors share (the drift
monitor's and the model-quality job's: same flags, same one-line errors). Nothing heavy is imported
here: the model-quality job does not load the drift checks (or the model's libraries behind them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from model_container.entrypoint import StepError
from model_container.monitor.reader import parse_time


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def text(self) -> str:
        def point(when: datetime | None) -> str:
            return when.isoformat() if when else "-"

        return f"[{point(self.start)}, {point(self.end)})"


def time_argument(text: str) -> datetime:
    if not text.strip():  # what a pipeline parameter left empty passes: now
        return datetime.now(UTC)
    try:
        return parse_time(text)
    except ValueError:
        raise StepError(f"time {text!r} is not ISO 8601; use e.g. 2026-01-31T13:00:00Z") from None


def hours_argument(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise StepError(f"hours {text!r} must be a positive whole number")
    return int(text)


def status_argument(text: str) -> int:
    if not text.strip().isdigit() or int(text) > 255:
        raise StepError(f"violation status {text!r} must be a whole number from 0 to 255")
    return int(text)
