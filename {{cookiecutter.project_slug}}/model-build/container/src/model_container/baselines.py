"""Processing step: drift baselines and feature attributions of the training data.

``python3 -m model_container.baselines`` reads ``processing/model/model.tar.gz`` and the training
features from ``processing/baseline/`` or ``processing/train/`` (a header CSV of features, or
label-first channel files), and writes ``processing/baselines/{statistics,constraints}.json``
(Model Monitor's shapes), ``processing/baselines/extension_constraints.json`` (our checks' limits:
the schema's valid ranges, ``model_container.extension_constraints``) and
``processing/explainability/explainability.json`` (Clarify's shape, from the model folder's
``explain``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import project_model
from model_container import artifact, extension_constraints
from model_container.data import data_files, read_channel, read_with_header
from model_container.data_quality import constraints, statistics
from model_container.entrypoint import StepArgumentParser, StepError, run_step
from model_container.explain import global_shap, sample
from model_container.paths import PROCESSING_FAILURE_FILE, processing

INPUT_FOLDERS = ("baseline", "train")


def read_features(directory: Path, expected: list[str]) -> np.ndarray:
    """The feature table of ``directory``: the baseline's feature tables or label-first channel files
    (both have a header, checked against ``expected``)."""
    files = data_files(directory)
    if not files:
        raise StepError(f"no files in {directory}; expected the training features")
    names, _ = read_with_header(files[0])
    if names[1:] == expected:  # label-first channel files
        return read_channel(directory, name=directory.name).features
    tables = []
    for path in files:
        names, table = read_with_header(path)
        if names != expected:
            raise StepError(f"{path} has columns {names}; the model expects {expected}")
        tables.append(table)
    return np.vstack(tables)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def baselines(argv: Sequence[str] | None = None) -> None:
    StepArgumentParser(prog="baselines", description=__doc__.splitlines()[0]).parse_args(argv)
    model = artifact.load_archive(processing("model", "model.tar.gz"))
    folder = next((processing(name) for name in INPUT_FOLDERS if processing(name).is_dir()), None)
    if folder is None:
        raise StepError(
            f"no training features: none of {', '.join(str(processing(n)) for n in INPUT_FOLDERS)} exists"
        )
    table = read_features(folder, model.features)

    categories = model.spec.categories
    write_json(
        processing("baselines", "statistics.json"), statistics(model.features, table, categories)
    )
    write_json(
        processing("baselines", "constraints.json"), constraints(model.features, table, categories)
    )
    write_json(
        processing("baselines", extension_constraints.FILE_NAME),
        extension_constraints.document(model.features, project_model.SCHEMA.columns),
    )
    rows = sample(table)
    contributions = np.asarray(project_model.explain(model.estimator, rows, model.features))
    try:
        shap = global_shap(model.features, contributions)
    except ValueError as error:
        raise StepError(f"project_model.explain: {error}") from None
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
