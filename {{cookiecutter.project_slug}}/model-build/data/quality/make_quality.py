"""Make the shipped labelled samples for the model-quality job (``make local-monitor-quality``).

    python3 make_quality.py .   # rewrites ./capture and ./ground-truth (the shipped files)

One capture, 300 requests of the bundled rows answered by a stand-in model
(``model_container.monitor_quality.samples``), and two sets of labels for it: ``ground-truth/normal``
(the true ones) and ``ground-truth/drop`` (a third turned). Output is deterministic: a test checks
that the shipped files are exactly what this script makes. The script reads only the model folder's
schema and ``../raw``: it is the same for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model_container.data import read_raw
from model_container.monitor_quality.samples import sample_command
from project_model import SCHEMA

DATA = Path(__file__).resolve().parents[1]


def bundled() -> tuple[np.ndarray, np.ndarray]:
    """The bundled rows' model features (categories as codes, NaN = missing) and labels."""
    data = read_raw(DATA / "raw", SCHEMA).data
    return data.features, data.labels


def main(argv: Sequence[str] | None = None) -> None:
    sample_command(
        argv, __doc__.splitlines()[0], bundled, SCHEMA.feature_names, SCHEMA.categories()
    )


if __name__ == "__main__":
    main()
