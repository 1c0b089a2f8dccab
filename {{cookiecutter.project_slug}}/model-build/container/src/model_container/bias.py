"""Processing step: bias of the training labels and of the model's test predictions (Clarify's metrics).

``python3 -m model_container.bias`` reads ``processing/model/model.tar.gz`` and the channel files of
``processing/train/`` and ``processing/test/``, and writes into ``processing/bias/``:
``pre_training_bias.json`` and ``post_training_bias.json`` (SageMaker Clarify's analysis.json shape,
one section each, as the registry's PreTrainingReport and PostTrainingReport), ``report.html`` and
its two bar plots. The facet is the model folder's ``BIAS`` (``model_container.bias_metrics``); when
it is None the documents hold no facet and the report says none is configured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import project_model
from model_container import artifact
from model_container.bias_metrics import (
    POST_TRAINING,
    PRE_TRAINING,
    BiasConfig,
    Groups,
    compute,
    favourable_class,
    groups,
    in_facet,
    outcomes,
    section,
)
from model_container.bias_report import write_html, write_plots
from model_container.data import Dataset, read_channel
from model_container.entrypoint import StepArgumentParser, StepError, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, processing

PRE_FILE = "pre_training_bias.json"
POST_FILE = "post_training_bias.json"


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _read(folder: str, features: list[str]) -> Dataset:
    data = read_channel(processing(folder), name=folder)
    if data.feature_names != features:
        raise StepError(
            f"{folder} data has features {data.feature_names}; the model expects {features}"
        )
    return data


def _config() -> BiasConfig | None:
    config = getattr(project_model, "BIAS", None)
    if config is not None and not isinstance(config, BiasConfig):
        raise StepError(f"project_model.BIAS must be a BiasConfig or None, got {config!r}")
    return config


def bias(argv: Sequence[str] | None = None) -> None:
    StepArgumentParser(prog="bias", description=__doc__.splitlines()[0]).parse_args(argv)
    config = _config()
    model = artifact.load_archive(processing("model", "model.tar.gz"))
    schema = project_model.SCHEMA
    out = processing("bias")
    if config is None:
        for name, key, metrics in (
            (PRE_FILE, "pre_training_bias_metrics", PRE_TRAINING),
            (POST_FILE, "post_training_bias_metrics", POST_TRAINING),
        ):
            empty = section(
                metrics, None, label=schema.label, positive_label=schema.positive, facet=None
            )
            _write(out / name, {"version": "1.0", key: empty})
        write_html(out / "report.html", facet=None, outcome="")
        print("bias: no facet configured (project_model.BIAS is None); no metrics computed")
        return

    facet = config.facet
    if facet.feature not in model.features:
        raise StepError(
            f"project_model.BIAS: facet {facet.feature!r} is not a model feature; allowed: "
            f"{', '.join(model.features)}"
        )
    try:
        favourable = favourable_class(config.positive_label, schema.positive, schema.negative)
    except ValueError as error:
        raise StepError(f"project_model.BIAS: {error}") from None
    column = model.features.index(facet.feature)
    categories = model.spec.categories.get(facet.feature)
    train, test = _read("train", model.features), _read("test", model.features)
    try:
        train_facet = in_facet(facet, train.features[:, column], categories)
        test_facet = in_facet(facet, test.features[:, column], categories)
    except ValueError as error:
        raise StepError(f"project_model.BIAS: {error}") from None

    threshold = (
        model.spec.threshold
        if config.probability_threshold is None
        else config.probability_threshold
    )
    pre_groups: Groups = groups(train_facet, train.labels == favourable)
    observed, predicted = outcomes(test.labels, model.predict(test.features), favourable, threshold)
    post_groups = groups(test_facet, observed, predicted)
    pre, post = compute(PRE_TRAINING, pre_groups), compute(POST_TRAINING, post_groups)

    common = {"label": schema.label, "positive_label": config.positive_label, "facet": facet}
    _write(
        out / PRE_FILE,
        {
            "version": "1.0",
            "pre_training_bias_metrics": section(
                PRE_TRAINING, pre, **common, facet_column=train.features[:, column]
            ),
        },
    )
    _write(
        out / POST_FILE,
        {
            "version": "1.0",
            "post_training_bias_metrics": section(
                POST_TRAINING, post, **common, facet_column=test.features[:, column]
            ),
            # Not in Clarify's file: the score a prediction needs to be of class 1.
            "probability_threshold": threshold,
        },
    )
    group = (
        f"{facet.feature} > {facet.threshold:g}"  # Clarify's threshold facet: the values above it
        if facet.threshold is not None
        else f"{facet.feature} in {', '.join(facet.categories)}"
    )
    counts = {
        "train": (pre_groups.count(False), pre_groups.count(True)),
        "test": (post_groups.count(False), post_groups.count(True)),
    }
    write_plots(out, pre, post)
    write_html(
        out / "report.html",
        facet=group,
        outcome=f"{schema.label} = {config.positive_label} (predicted: score "
        f"{'>=' if favourable == 1.0 else '<'} {threshold:g})",
        counts=counts,
        pre=pre,
        post=post,
    )
    print(
        f"bias of {group} (train {counts['train'][1]} of {sum(counts['train'])} rows, test "
        f"{counts['test'][1]} of {sum(counts['test'])}): "
        + ", ".join(
            f"{n} {v:.3f}" for n, v in {**pre, **post}.items() if n in ("CI", "DPL", "DPPL", "DI")
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(bias, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
