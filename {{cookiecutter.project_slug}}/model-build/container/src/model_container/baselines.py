"""Processing step: drift baselines and feature attributions of the training data.

``python3 -m model_container.baselines`` reads ``processing/model/model.tar.gz`` and the training
features from ``processing/baseline/`` or ``processing/train/`` (a header CSV of features, or
label-first channel files), and writes ``processing/baselines/{statistics,constraints}.json``
(Model Monitor's shapes) and ``processing/explainability/explainability.json`` (Clarify's shape).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model_container import model_files
from model_container.data import data_files, read_channel, read_with_header
from model_container.data_quality import constraints, statistics
from model_container.explain import global_shap
from model_container.paths import PROCESSING_FAILURE_FILE, processing
from model_container.schema import MISSING_TOKENS
from model_container.steps import StepArgumentParser, StepError, run_step

INPUT_FOLDERS = ("baseline", "train")


def read_features(directory: Path, expected: list[str]) -> np.ndarray:
    """The feature table of ``directory``: header CSVs (checked against ``expected``) or channel files."""
    files = data_files(directory)
    if not files:
        raise StepError(f"no files in {directory}; expected the training features")
    if not _has_header(files[0]):  # label-first channel files
        data = read_channel(directory, name=directory.name)
        if data.feature_names != expected:
            raise StepError(
                f"{directory} has features {data.feature_names}; the model expects {expected}"
            )
        return data.features
    tables = []
    for path in files:
        names, table = read_with_header(path)
        if names != expected:
            raise StepError(f"{path} has columns {names}; the model expects {expected}")
        tables.append(table)
    return np.vstack(tables)


def _has_header(path: Path) -> bool:
    """True when the first non-blank row holds a field that is neither a number nor missing."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for fields in csv.reader(handle):
            if any(field.strip() for field in fields):
                return any(not _is_value(field) for field in fields)
    return False


def _is_value(field: str) -> bool:
    text = field.strip()
    if text in MISSING_TOKENS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def baselines(argv: Sequence[str] | None = None) -> None:
    StepArgumentParser(prog="baselines", description=__doc__.splitlines()[0]).parse_args(argv)
    model = model_files.load_archive(processing("model", "model.tar.gz"))
    folder = next((processing(name) for name in INPUT_FOLDERS if processing(name).is_dir()), None)
    if folder is None:
        raise StepError(
            f"no training features: none of {', '.join(str(processing(n)) for n in INPUT_FOLDERS)} exists"
        )
    table = read_features(folder, model.features)

    write_json(processing("baselines", "statistics.json"), statistics(model.features, table))
    write_json(processing("baselines", "constraints.json"), constraints(model.features, table))
    shap = global_shap(model.booster, model.features, table)
    write_json(processing("explainability", "explainability.json"), shap)
    ranked = sorted(
        shap["explanations"]["kernel_shap"]["label0"]["global_shap_values"].items(),
        key=lambda kv: -kv[1],
    )
    print(
        f"baselines of {len(table)} rows; mean |SHAP| (log-odds): "
        + ", ".join(f"{n} {v:.3f}" for n, v in ranked)
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(baselines, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
