"""Processing step: score the held-out test split and write the model-quality report.

``python3 -m model_container.evaluate [--champion-comparison MODE --absolute-tolerance A
--relative-tolerance R]`` reads ``processing/model/model.tar.gz`` and ``processing/test/`` and writes
``processing/evaluation/evaluation.json`` (the ``binary_classification_metrics`` shape SageMaker Model
Monitor and the model registry use), ``constraints.json`` (Model Monitor's model-quality constraints
for the model-quality monitor: ``model_container.quality_constraints``), ``report.html`` and its PNG
plots, and ``examples.csv`` (the model folder's example requests, checked with this model:
``model_container.examples``). When ``processing/champion/`` holds the approved model (the Champion
step's output), it is scored on the same test rows and the comparison (``model_container.comparison``)
is the report's ``champion`` section, which the pipeline's ChampionGate reads. Its MLflow record (with the
evaluation folder) goes to ``processing/tracking/`` (model_container.tracking).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from model_container import artifact, comparison, examples, quality_constraints, tracking
from model_container.champion import CHAMPION_FILE, MODEL_FILE
from model_container.data import read_channel
from model_container.entrypoint import StepArgumentParser, StepError, run_step

# metric_report lives with the metrics: the model-quality job imports it without the model's stack.
from model_container.metrics import (  # noqa: F401 (MAX_CURVE_POINTS: part of this module's API)
    MAX_CURVE_POINTS,
    Curves,
    confusion,
    curves,
    metric_report,
    roc_auc,
)
from model_container.paths import PROCESSING_FAILURE_FILE, processing
from model_container.report import write_html, write_plots


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--champion-comparison",
        type=comparison.mode,
        default="off",
        help=f"{' | '.join(comparison.MODES)} (default: off)",
    )
    parser.add_argument("--absolute-tolerance", type=comparison.tolerance, default=0.0)
    parser.add_argument("--relative-tolerance", type=comparison.tolerance, default=0.0)
    return parser


def _champion(test: Any, candidate_features: list[str]) -> dict[str, Any] | None:
    """The champion's identity and AUC on ``test``; None when the Champion step found none."""
    folder = processing("champion")
    if not (folder / CHAMPION_FILE).is_file():
        return None
    found = json.loads((folder / CHAMPION_FILE).read_text(encoding="utf-8"))
    if not found.get("model_package_arn"):
        return None
    model = artifact.load_archive(folder / MODEL_FILE)
    if model.features != candidate_features:
        # The model folder changed its features: the champion cannot score these rows. Like the
        # first model, the new feature set's first candidate is judged by the threshold alone.
        return {**found, "auc": None, "features": model.features}
    return {**found, "auc": roc_auc(test.labels, model.predict(test.features))}


def evaluate(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    model = artifact.load_archive(processing("model", "model.tar.gz"))
    test = read_channel(processing("test"), name="test")
    if test.feature_names != model.features:
        raise StepError(
            f"test data has features {test.feature_names}; the model expects {model.features}"
        )
    if test.labels.min() == test.labels.max():
        raise StepError(f"the test split has only label {test.labels[0]:g}; AUC needs both 0 and 1")
    scores = model.predict(test.features)
    report = metric_report(test.labels, scores, model.spec.threshold)
    candidate_auc = report["binary_classification_metrics"]["auc"]["value"]
    champion = None if args.champion_comparison == "off" else _champion(test, model.features)
    report["champion"] = comparison.compare(
        candidate_auc,
        champion,
        mode=args.champion_comparison,
        absolute=args.absolute_tolerance,
        relative=args.relative_tolerance,
    )

    out = processing("evaluation")
    out.mkdir(parents=True, exist_ok=True)
    examples.write_checked(model, out)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    # The model-quality monitor's baseline: these metrics less a slack (quality_constraints.SLACK).
    limits = quality_constraints.suggest(
        report["binary_classification_metrics"], model.spec.threshold
    )
    (out / "constraints.json").write_text(json.dumps(limits, indent=2) + "\n", encoding="utf-8")
    binary = report["binary_classification_metrics"]
    headline = {
        name: binary[name]["value"] for name in ("auc", "accuracy", "precision", "recall", "f1")
    }
    roc: Curves = curves(test.labels, scores)
    write_plots(
        out,
        roc,
        headline["auc"],
        confusion(test.labels, scores >= model.spec.threshold),
        model.spec.threshold,
    )
    write_html(
        out / "report.html",
        headline,
        rows=len(test),
        threshold=model.spec.threshold,
        model=model.spec.metadata,
        champion=f"{report['champion']['mode']}, gate {report['champion']['gate']}: "
        f"{report['champion']['message']}",
    )
    print(
        " ".join(f"{name}: {value:.4f}" for name, value in headline.items())
        + f" ({len(test)} test rows)"
    )
    champion_section = report["champion"]
    print(
        f"champion ({champion_section['mode']}, gate {champion_section['gate']}): "
        f"{champion_section['message']}"
    )
    champion_auc = champion_section.get("auc")
    with tracking.step_run("Evaluate", processing("tracking")) as run:
        run.log(
            params={
                "champion_comparison": args.champion_comparison,
                "champion_absolute_tolerance": args.absolute_tolerance,
                "champion_relative_tolerance": args.relative_tolerance,
                "test_rows": len(test),
                "threshold": model.spec.threshold,
            },
            metrics={
                **{f"test_{name}": value for name, value in headline.items()},
                **({"champion_auc": champion_auc} if isinstance(champion_auc, float) else {}),
            },
            artifacts={"evaluation": out},
        )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(evaluate, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
