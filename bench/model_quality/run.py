"""Model quality of the default model: 5-fold stratified CV x 5 seeds on the bundled data, no BI-RADS.

Trains with ``project_model.fit``, the function the ``train`` entry point calls, and puts
logistic regression (scikit-learn) beside it on the same folds as the simple baseline. Prints a
markdown table. Run from the repository root with the dev virtualenv:

    .venv/bin/python bench/model_quality/run.py [--seeds 5] [--folds 5]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn
import xgboost as xgb
from model_container.data import Dataset, read_raw
from project_model import SCHEMA, Hyperparameters, fit, predict
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DATA = (
    Path(__file__).resolve().parents[2]
    / "{{cookiecutter.project_slug}}"
    / "model-build"
    / "data"
    / "raw"
)
REFERENCE = {"xgboost-fixed": "0.857 ± 0.022", "logistic": "0.865 ± 0.021"}

Model = Callable[[Dataset, Dataset, int], np.ndarray]  # (train, test, seed) -> test scores


def load() -> Dataset:
    """The bundled file, cleaned exactly as the preprocess step cleans it."""
    return read_raw(DATA, SCHEMA).data


def xgboost_as_pipeline(train: Dataset, test: Dataset, seed: int) -> np.ndarray:
    """The pipeline's recipe: hold out 15/85 of the training rows for early stopping on AUC."""
    inner_train, validation = train_test_split(
        np.arange(len(train)), test_size=0.20 / 0.80, stratify=train.labels, random_state=seed
    )
    subset = lambda rows: Dataset(train.features[rows], train.labels[rows], train.feature_names)  # noqa: E731
    result = fit(subset(inner_train), subset(validation), Hyperparameters(seed=seed))
    return predict(result.estimator, test.features)


def xgboost_fixed(train: Dataset, test: Dataset, seed: int) -> np.ndarray:
    """The same hyperparameters, all 100 rounds on all training rows (the README's reference setup)."""
    result = fit(train, None, Hyperparameters(seed=seed))
    return predict(result.estimator, test.features)


def logistic(train: Dataset, test: Dataset, seed: int) -> np.ndarray:
    """Median imputation, standardisation, logistic regression: the simple baseline."""
    model = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000)
    )
    model.fit(train.features, train.labels)
    return model.predict_proba(test.features)[:, 1]


MODELS: dict[str, tuple[str, Model]] = {
    "xgboost-pipeline": (
        "XGBoost, default model as trained by the pipeline (early stopping)",
        xgboost_as_pipeline,
    ),
    "xgboost-fixed": ("XGBoost depth 3 / eta 0.1 / 100 rounds, no early stopping", xgboost_fixed),
    "logistic": ("logistic regression (median impute + scale)", logistic),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    data = load()
    aucs: dict[str, list[float]] = {key: [] for key in MODELS}
    accuracies: dict[str, list[float]] = {key: [] for key in MODELS}
    seconds: dict[str, float] = dict.fromkeys(MODELS, 0.0)
    for seed in range(args.seeds):
        folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=seed)
        for train_rows, test_rows in folds.split(data.features, data.labels):
            train = Dataset(data.features[train_rows], data.labels[train_rows], data.feature_names)
            test = Dataset(data.features[test_rows], data.labels[test_rows], data.feature_names)
            for key, (_, model) in MODELS.items():
                start = time.perf_counter()
                scores = model(train, test, seed)
                seconds[key] += time.perf_counter() - start
                aucs[key].append(roc_auc_score(test.labels, scores))
                accuracies[key].append(accuracy_score(test.labels, scores >= 0.5))

    runs = args.seeds * args.folds
    print(
        f"Model quality, {args.folds}-fold stratified CV x {args.seeds} seeds ({runs} fits per model), "
        f"{len(data)} rows, features {', '.join(data.feature_names)} (BI-RADS dropped)\n"
    )
    print("| model | AUC mean ± sd | AUC min-max | accuracy | reference AUC | s per fit |")
    print("|---|---|---|---|---|---|")
    for key, (label, _) in MODELS.items():
        a = np.array(aucs[key])
        print(
            f"| {label} | {a.mean():.4f} ± {a.std(ddof=1):.4f} | {a.min():.3f}-{a.max():.3f} | "
            f"{np.mean(accuracies[key]):.3f} | {REFERENCE.get(key, '-')} | {seconds[key] / runs:.3f} |"
        )
    print(
        f"\n{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}, xgboost {xgb.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    )
    pipeline_mean = float(np.mean(aucs["xgboost-pipeline"]))
    if pipeline_mean < 0.857:
        print(
            f"\nFAIL: default model AUC {pipeline_mean:.3f} is below the 0.857 goal",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
