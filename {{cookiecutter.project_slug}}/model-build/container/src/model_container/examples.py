"""The example requests of the model folder (``project_model/examples.csv``), checked against a model.

The endpoint suite (model-deploy/tests/endpoint) sends these rows to a deployed endpoint. The
Evaluate step checks them with the model it just scored and writes them beside its report; the
Register step links that copy from the package (CustomerMetadataProperties ``endpoint_examples``), so
a stage's endpoint tests send the examples of the model the stage runs, and a row the model cannot
read stops the pipeline before anything is registered. The copy adds one last column,
``expected_score``: this model's score of each row, which the endpoint suite expects the endpoint to
answer (the deployed endpoint serves exactly the model Evaluate scored).
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from model_container.artifact import Model
from model_container.entrypoint import StepError
from model_container.serve import codec

FILE_NAME = "examples.csv"
WHERE = "model-build/model/src/project_model/examples.csv"
# The checked copy's last column (the endpoint suite reads it by this name, so no feature may have it).
SCORE_COLUMN = "expected_score"


def packaged() -> str:
    """The text of the model package's examples.csv (installed with ``project_model``)."""
    try:
        return resources.files("project_model").joinpath(FILE_NAME).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as error:
        raise StepError(f"{WHERE}: cannot read the example requests ({error})") from None


def check(text: str, model: Model) -> list[float]:
    """Raise StepError unless ``text`` is a header naming the model's features in order, then at
    least one row the model scores; returns the model's score of each row."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise StepError(f"{WHERE} is empty; expected a header naming the features, then rows")
    header = next(csv.reader(io.StringIO(lines[0])))
    if header != model.features:
        raise StepError(
            f"{WHERE}: header {','.join(header)!r} must name the model's features in order: "
            f"{','.join(model.features)!r}"
        )
    if SCORE_COLUMN in model.features:
        raise StepError(
            f"feature {SCORE_COLUMN!r}: the name is reserved for the example requests' expected "
            "scores; rename the feature in your model folder"
        )
    if len(lines) < 2:
        raise StepError(
            f"{WHERE} has a header but no rows; add a few requests as clients send them"
        )
    try:
        rows = codec.parse(
            codec.CSV,
            "\n".join(lines[1:]).encode("utf-8"),
            model.features,
            codec.codes_of(model.spec.categories),
        )
    except codec.RequestError as error:
        raise StepError(f"{WHERE}: {error.message}") from None
    return [float(score) for score in model.predict(rows)]


def with_expected_scores(text: str, model: Model) -> str:
    """``text`` (checked) with the model's score of each row appended as SCORE_COLUMN."""
    scores = check(text, model)
    header, *rows = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    lines = [f"{header},{SCORE_COLUMN}"]
    lines += [f"{row},{score!r}" for row, score in zip(rows, scores, strict=True)]
    return "\n".join(lines) + "\n"


def write_checked(model: Model, folder: Path) -> Path:
    """Check the packaged examples against ``model`` and write them, with their expected scores, to
    ``folder/examples.csv``."""
    text = with_expected_scores(packaged(), model)
    path = folder / FILE_NAME
    path.write_text(text, encoding="utf-8")
    print(f"{len(text.splitlines()) - 1} example requests checked against the model: {path.name}")
    return path
