"""Make the shipped outliers batch (capture format) from the bundled data; also the normal batch.

    python3 make_outliers.py capture            # rewrites ./capture (the shipped files)
    python3 make_outliers.py --normal <folder>  # the same requests without the shift

The shift (see README.md): LoyalCH mirrored, every purchase in store 7. Output is deterministic, so
a test checks that the shipped files are exactly what this script makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model_container.data import read_raw
from model_container.monitor.requests import batch_command, values, write_capture
from project_model import SCHEMA

DATA = Path(__file__).resolve().parents[1]
FEATURES = SCHEMA.feature_names
SHIFTED = ("LoyalCH", "StoreID", "Store7")


def bundled_features(data: Path = DATA) -> np.ndarray:
    """The bundled rows' model features (categories as codes, NaN = missing or invalid)."""
    return read_raw(data / "raw", SCHEMA).data.features


def shift(features: np.ndarray) -> np.ndarray:
    shifted = features.copy()
    loyal = FEATURES.index("LoyalCH")
    shifted[:, loyal] = 1.0 - shifted[:, loyal]
    categories = SCHEMA.categories()
    shifted[:, FEATURES.index("StoreID")] = categories["StoreID"].index("7")
    shifted[:, FEATURES.index("Store7")] = categories["Store7"].index("Yes")
    return shifted


def write_batch(features: np.ndarray, root: Path, name: str) -> list[Path]:
    return write_capture(values(features, FEATURES, SCHEMA.categories()), FEATURES, root, name)


def main(argv: Sequence[str] | None = None) -> None:
    batch_command(argv, __doc__.splitlines()[0], bundled_features, shift, write_batch)


if __name__ == "__main__":
    main()
