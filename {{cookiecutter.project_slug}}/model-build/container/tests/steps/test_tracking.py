"""model_container.tracking never fails a step: off without a URI, one warning on a broken store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model_container import tracking


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_failed", False)


def test_without_a_uri_nothing_is_imported_or_logged() -> None:
    # In a fresh interpreter: this one may have imported mlflow already.
    code = (
        "import os, sys; os.environ.pop('MLFLOW_TRACKING_URI', None)\n"
        "from model_container import tracking\n"
        "with tracking.step_run('Train') as run:\n"
        "    run.log(params={'a': 1}, metrics={'m': 1.0})\n"
        "assert run.run_id is None and tracking.finish_execution('arn', True) is None\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_broken_store_warns_once_and_the_step_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "mlruns"
    store.write_text("not a folder")  # the store's path taken by a file
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    monkeypatch.setenv(
        "PIPELINE_EXECUTION_ARN", "arn:aws:sagemaker:eu-west-1:0:pipeline/p/execution/x"
    )
    ran = False
    with tracking.step_run("Evaluate") as run:
        run.log(params={"a": 1}, metrics={"test_auc": 0.9}, artifacts={"e": tmp_path})
        ran = True
    assert ran and run.run_id is None
    assert (
        tracking.finish_execution("arn:aws:sagemaker:eu-west-1:0:pipeline/p/execution/x", True)
        is None
    )
    assert capsys.readouterr().err.count("WARNING: MLflow tracking off") == 1
