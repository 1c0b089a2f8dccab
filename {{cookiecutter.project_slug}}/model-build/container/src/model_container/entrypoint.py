"""What every step entry point shares: one-line errors, the failure file, exit codes."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from model_container.paths import opt_ml


class StepError(Exception):
    """A problem with the step's input or options, reported as one line without a traceback."""


class StepArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors become StepErrors (so they reach the failure file)."""

    def error(self, message: str) -> NoReturn:
        raise StepError(f"{self.prog}: {message}")


def run_step(
    step: Callable[[Sequence[str] | None], None],
    argv: Sequence[str] | None,
    failure_file: tuple[str, ...],
) -> int:
    """Run ``step(argv)``; on failure write the reason to ``$OPT_ML/<failure_file>`` and return 1.

    SageMaker reports the failure file's text as the job's FailureReason, so the same line the user
    sees on stderr is what the console and the pipeline show.
    """
    try:
        step(argv)
    except StepError as error:
        message = str(error)
    except Exception as error:
        traceback.print_exc()
        message = f"internal error: {type(error).__name__}: {error}"
    else:
        return 0
    print(f"error: {message}", file=sys.stderr)
    _write_failure(failure_file, message)
    return 1


def _write_failure(failure_file: tuple[str, ...], message: str) -> None:
    path = opt_ml(*failure_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError as error:  # the message is on stderr already; do not mask it
        print(f"warning: could not write {path}: {error}", file=sys.stderr)
