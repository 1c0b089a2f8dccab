"""Training entry point: ``<image> train`` as SageMaker starts it.

Reads ``input/config/hyperparameters.json`` (every value a string), ``resourceconfig.json`` (hosts)
and ``inputdataconfig.json`` (how channels were distributed), the ``train`` and ``validation``
channels, trains with ``project_model.fit`` and writes the model artifact (model_container.artifact)
into ``model/`` and its MLflow record into ``output/data/tracking/`` (first host;
model_container.tracking). With more than one host, every host trains on its shard inside the model's
``distributed(cluster)`` (the sample: xgboost's collective) and writes the same model.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import project_model
from model_container import artifact, tracking
from model_container.cluster import Cluster, read_cluster
from model_container.data import Dataset, read_channel
from model_container.entrypoint import StepError, run_step
from model_container.paths import (
    TRAINING_FAILURE_FILE,
    model_dir,
    opt_ml,
    training_channel,
    training_config,
)


def read_json(path: Path, *, default: dict[str, Any]) -> dict[str, Any]:
    if not path.exists():
        return default
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise StepError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise StepError(f"{path} must hold a JSON object, not {type(value).__name__}")
    return value


def shard(data: Dataset, cluster: Cluster, distribution: str, channel: str) -> Dataset:
    """This host's rows: every n-th row when SageMaker gave each host all the data."""
    if cluster.size == 1 or distribution == "ShardedByS3Key":  # S3 already split the files by host
        return data
    rows = np.arange(cluster.index, len(data), cluster.size)
    if len(rows) == 0:
        raise StepError(
            f"the {channel} channel has {len(data)} rows, fewer than the {cluster.size} training hosts"
        )
    return Dataset(data.features[rows], data.labels[rows], data.feature_names)


def train(argv: Sequence[str] | None = None) -> None:
    if argv:
        raise StepError(
            f"train takes no arguments (got {' '.join(argv)}); settings come from hyperparameters.json"
        )
    hyperparameters = project_model.Hyperparameters.from_mapping(
        read_json(training_config("hyperparameters.json"), default={})
    )
    cluster = read_cluster(training_config("resourceconfig.json"))
    if cluster.size > 1 and project_model.distributed is None:
        raise StepError(
            f"{cluster.size} training hosts, but the model trains on one host only "
            "(project_model.distributed is None): set the training InstanceCount to 1"
        )
    channels = read_json(training_config("inputdataconfig.json"), default={})

    def channel(name: str) -> Dataset:
        distribution = str(channels.get(name, {}).get("S3DistributionType", "FullyReplicated"))
        return shard(read_channel(training_channel(name), name=name), cluster, distribution, name)

    train_data = channel("train")
    validation = channel("validation") if training_channel("validation").exists() else None
    if validation is not None and validation.feature_names != train_data.feature_names:
        raise StepError(
            f"validation has features {validation.feature_names}, train has {train_data.feature_names}"
        )
    if validation is None:
        print("no validation channel: training all rounds without early stopping")
    print(
        f"host {cluster.current_host} ({cluster.index + 1}/{cluster.size}): {len(train_data)} training rows"
    )

    if cluster.size == 1:
        fitted = project_model.fit(train_data, validation, hyperparameters, print)
    else:
        with project_model.distributed(cluster):
            fitted = project_model.fit(train_data, validation, hyperparameters, print)

    # Every host writes the same model, so whichever host's model/ SageMaker keeps is right.
    categories = project_model.SCHEMA.categories()
    artifact.save(
        model_dir(),
        fitted.estimator,
        features=train_data.feature_names,
        categories={
            name: categories[name] for name in train_data.feature_names if name in categories
        },
        label=project_model.SCHEMA.label,
        threshold=hyperparameters.threshold,
        info=fitted.info,
    )
    for name, value in fitted.info.items():
        print(f"{name.replace('_', ' ')}: {value}")
    # The last value of each metric is what SageMaker records as the job's final metric.
    for name, value in fitted.metrics.items():
        print(f"{name}: {value:.5f}")
    if cluster.index == 0:  # one child run per step, from its first host
        # Into output.tar.gz (SageMaker uploads /opt/ml/output/data beside model.tar.gz); the Track
        # step logs the model itself, from model.tar.gz.
        with tracking.step_run("Train", opt_ml("output", "data", "tracking")) as run:
            run.log(
                params={**_fields(hyperparameters), "instances": cluster.size},
                metrics=fitted.metrics,
            )


def _fields(hyperparameters: Any) -> dict[str, Any]:
    """The model folder's hyperparameters as name -> value (a dataclass's fields, else its vars)."""
    if dataclasses.is_dataclass(hyperparameters) and not isinstance(hyperparameters, type):
        return dataclasses.asdict(hyperparameters)
    return dict(vars(hyperparameters))


def main(argv: Sequence[str] | None = None) -> int:
    # SageMaker starts `<image> train` with no further arguments; anything else is a mistake.
    return run_step(train, sys.argv[1:] if argv is None else argv, TRAINING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
