"""One error type for bad input, and the wrapper that turns it into a one-line message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn


class UsageError(Exception):
    """Input the user can fix: printed as one line, exit code 2, never a traceback."""


class StepFailedError(Exception):
    """A pipeline step failed or the quality gate stopped the run: one line, exit code 1."""


class UsageParser(argparse.ArgumentParser):
    """Usage errors become UsageError: one line, exit 2, same as every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main`` and map the errors users can act on to a single line on stderr."""
    try:
        return main(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StepFailedError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # AWS said no (credentials, permissions, throttling, network): the message is the useful part.
        if type(exc).__module__.startswith(("botocore.", "boto3.")):
            print(f"error: AWS: {exc}", file=sys.stderr)
            return 1
        raise
