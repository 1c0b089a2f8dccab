"""The SageMaker container directory layout, rooted at ``OPT_ML`` so local runs can relocate it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def opt_ml(*parts: str) -> Path:
    """Return ``$OPT_ML/<parts>`` (``/opt/ml`` inside SageMaker)."""
    return Path(os.environ.get("OPT_ML", "/opt/ml")).joinpath(*parts)


def relocated(path: Path) -> Path:
    """A ``/opt/ml/...`` path given as an argument (pipeline definitions name container paths)
    under ``$OPT_ML``; any other path as it is."""
    pure = PurePosixPath(path.as_posix())
    if pure.is_relative_to("/opt/ml"):
        return opt_ml(*pure.relative_to("/opt/ml").parts)
    return path


def processing(*parts: str) -> Path:
    """Return ``$OPT_ML/processing/<parts>``: where processing jobs mount inputs and outputs."""
    return opt_ml("processing", *parts)


def training_config(name: str) -> Path:
    """Return ``$OPT_ML/input/config/<name>`` (hyperparameters.json, resourceconfig.json, ...)."""
    return opt_ml("input", "config", name)


def training_channel(channel: str) -> Path:
    """Return ``$OPT_ML/input/data/<channel>``: the files of one training channel."""
    return opt_ml("input", "data", channel)


def model_dir() -> Path:
    """Return ``$OPT_ML/model``: what training writes and SageMaker tars into model.tar.gz."""
    return opt_ml("model")


# SageMaker shows the first 1 KiB of these files as the job's FailureReason.
PROCESSING_FAILURE_FILE = ("output", "message")
TRAINING_FAILURE_FILE = ("output", "failure")
