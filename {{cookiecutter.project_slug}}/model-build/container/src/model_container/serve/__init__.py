"""The model server of the project image (`serve`): SageMaker's hosting and batch transform contract."""

from __future__ import annotations

import os


def main() -> int:
    """Entry point of the `serve` console script (imports the HTTP server only when serving)."""
    # One OpenMP thread per worker (workers already use every CPU). Set before xgboost is imported:
    # the OpenMP runtime reads it once, when it loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Imported here, after the variable is set: server imports xgboost.
    from model_container.serve.server import main as run  # noqa: PLC0415

    return run()


__all__ = ["main"]
