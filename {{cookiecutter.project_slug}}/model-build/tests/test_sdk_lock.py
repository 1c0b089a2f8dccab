"""requirements-sdk.lock is current, and what it leaves out is never imported by the local loop."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from model_build import pipeline_kinds, sdk_lock

from .conftest import CONFIG

LOCK = Path(__file__).resolve().parents[2] / "requirements-sdk.lock"

# A child interpreter where the given top-level modules cannot be imported.
BLOCKED_RUN = """
import importlib.abc, json, sys
blocked = set(json.loads(sys.argv[1]))
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in blocked:
            raise ImportError(f"{name} is not installed by the local targets")
sys.meta_path.insert(0, Blocked())
exec(sys.argv[2])
"""


def test_lock_is_current() -> None:
    assert LOCK.read_text(encoding="utf-8") == sdk_lock.render(), "stale: run `make sdk-lock`"


def test_lock_leaves_out_only_what_it_names() -> None:
    full = sdk_lock.closure(left_out=set())
    kept = sdk_lock.closure()
    assert set(sdk_lock.LEFT_OUT) <= set(full), "a left-out package is no longer a dependency"
    assert set(kept) < set(full)
    assert "sagemaker-mlops" in kept and "boto3" in kept


LOCAL_PACKAGES = ("model-build", "model-container", "project-model", "project-names")


def _outside_the_local_venv() -> set[str]:
    """Top-level modules of every installed distribution the local targets would not install."""
    local = set(sdk_lock.closure())
    for package in LOCAL_PACKAGES[1:]:
        local |= set(sdk_lock.closure(package, left_out=set()))
    local |= {*LOCAL_PACKAGES, "pip", "setuptools"}
    return {
        module
        for module, owners in metadata.packages_distributions().items()
        if not {canonicalize_name(owner) for owner in owners} & local
    }


def test_the_local_loop_imports_nothing_outside_its_venv(tmp_path: Path) -> None:
    """Every pipeline definition builds, and every module of the local loop imports, with only what
    the local targets install importable (as after a first `make local`)."""
    blocked = _outside_the_local_venv()
    # the SDK's full MLflow (its server's SQLAlchemy; the steps' client is mlflow-skinny), pyarrow,
    # the infra's CDK and the twin's moto stay out
    assert {"sqlalchemy", "pyarrow", "aws_cdk", "moto"} <= blocked
    code = f"""
import dataclasses, json, pathlib
from model_build import pipeline_kinds, offline
from model_build.config import PipelineConfig
import model_build.cli, model_build.local.serving, model_build.local.monitoring
import model_container.preprocess, model_container.train, model_container.evaluate
import model_container.serve, model_container.monitor, model_container.baselines
import model_container.explain, model_container.report, project_model
config = PipelineConfig(**json.loads({json.dumps(dataclasses.asdict(CONFIG))!r}))
offline.import_sdk(config.region, quiet=True)
for kind in pipeline_kinds.available(config):
    pathlib.Path({str(tmp_path)!r}, kind + ".json").write_text(pipeline_kinds.definition(kind, config))
"""
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, json.dumps(sorted(blocked)), code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    built = {path.stem for path in tmp_path.glob("*.json")}
    assert built == set(pipeline_kinds.available(CONFIG)) and pipeline_kinds.MODEL_BUILD in built
    for path in tmp_path.glob("*.json"):
        assert json.loads(path.read_text())["Steps"]
