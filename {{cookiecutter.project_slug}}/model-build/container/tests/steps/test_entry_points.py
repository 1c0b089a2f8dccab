"""The five steps run as SageMaker runs them (subprocesses, fixed folders under OPT_ML), chained."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from project_model import SCHEMA

PYTHON = sys.executable
TRAIN = str(Path(sys.executable).with_name("train"))


def run(command: list[str], opt_ml: Path) -> subprocess.CompletedProcess[str]:
    # As in the image, where scikit-learn is absent: proves the steps never need it.
    env = {**os.environ, "OPT_ML": str(opt_ml), "MODEL_CONTAINER_NO_SKLEARN": "1"}
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)


@pytest.mark.timeout(240)
def test_pipeline_chain_on_the_raw_data(tmp_path: Path, raw_data: Path) -> None:
    jobs = {
        name: tmp_path / name for name in ("preprocess", "train", "evaluate", "baselines", "bias")
    }
    shutil.copytree(raw_data, jobs["preprocess"] / "processing" / "input" / "raw")
    done = run([PYTHON, "-m", "model_container.preprocess", "--seed", "42"], jobs["preprocess"])
    assert done.returncode == 0, done.stderr
    out = jobs["preprocess"] / "processing" / "output"

    for channel in ("train", "validation"):
        copy_tree(out / channel, jobs["train"] / "input" / "data" / channel)
    config = jobs["train"] / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({}))  # the model's defaults
    done = run([TRAIN], jobs["train"])
    assert done.returncode == 0, done.stderr
    assert "validation-auc: " in done.stdout.splitlines()[-1]
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # what SageMaker does with /opt/ml/model
        tar.add(jobs["train"] / "model", arcname=".")

    for step, data in (("evaluate", ("test", "test")), ("baselines", ("baseline", "train"))):
        (jobs[step] / "processing" / "model").mkdir(parents=True)
        shutil.copy(archive, jobs[step] / "processing" / "model" / "model.tar.gz")
        copy_tree(out / data[0], jobs[step] / "processing" / data[1])
        if step == "evaluate":  # the Bias step reads the train and test splits
            shutil.copytree(jobs[step] / "processing", jobs["bias"] / "processing")
            copy_tree(out / "train", jobs["bias"] / "processing" / "train")
        done = run([PYTHON, "-m", f"model_container.{step}"], jobs[step])
        assert done.returncode == 0, done.stderr

    report = json.loads(
        (jobs["evaluate"] / "processing" / "evaluation" / "evaluation.json").read_text()
    )
    assert 0.5 < report["binary_classification_metrics"]["auc"]["value"] <= 1.0  # it learned
    assert (jobs["evaluate"] / "processing" / "evaluation" / "report.html").is_file()
    for path in (
        "baselines/statistics.json",
        "baselines/constraints.json",
        "explainability/explainability.json",
    ):
        assert json.loads((jobs["baselines"] / "processing" / path).read_text())
    done = run([PYTHON, "-m", "model_container.bias"], jobs["bias"])
    assert done.returncode == 0, done.stderr
    for name in ("pre_training_bias.json", "post_training_bias.json", "report.html"):
        assert (jobs["bias"] / "processing" / "bias" / name).is_file()


def test_garbled_input_exits_1_without_traceback(tmp_path: Path) -> None:
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "upload.csv").write_text("<html>AccessDenied</html>\n")
    done = run([PYTHON, "-m", "model_container.preprocess"], tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: " + (tmp_path / "output" / "message").read_text().strip()
    assert f"upload.csv:1: 1 fields, expected {len(SCHEMA.names)}" in done.stderr


def test_no_sklearn_switch_keeps_xgboost_from_importing_it(tmp_path: Path) -> None:
    probe = (
        "import sys, model_container, xgboost; sys.exit(0 if sys.modules['sklearn'] is None else 3)"
    )
    assert run([PYTHON, "-c", probe], tmp_path).returncode == 0
