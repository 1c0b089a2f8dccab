"""`make local-monitor` (``monitor-local``): the approved record's baselines, explainability and model
reach the image's monitor, which checks feature attribution drift too when the package has them."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

import project_model
from model_build.local import registry
from model_build.local.monitoring import monitor_main
from model_container import artifact, extension_constraints
from model_container.data import read_raw
from model_container.data_quality import constraints, statistics
from model_container.explain import global_shap
from project_model import SCHEMA

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURE = DATA / "outliers" / "capture"  # the shipped shifted batch (make_outliers.py)
BUCKET = "local-bucket"


def _put(work: Path, key: str, body: bytes) -> dict[str, str]:
    path = work / "s3" / BUCKET / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}


def approved_work(tmp_path: Path, *, explainability: bool, ranges: bool = True) -> Path:
    """A local work folder whose registry holds one Approved package as the pipeline registers it:
    the model folder's model trained on the project's data, its baselines and explainability."""
    work = tmp_path / "work"
    data = read_raw(DATA / "raw", SCHEMA).data
    features = list(data.feature_names)
    fitted = project_model.fit(data, data, project_model.Hyperparameters(), None)
    categories = SCHEMA.categories()
    categories = {name: categories[name] for name in features if name in categories}
    folder = tmp_path / "model"
    artifact.save(
        folder,
        fitted.estimator,
        features=features,
        categories=categories,
        label=SCHEMA.label,
        threshold=0.5,
        info=fitted.info,
    )
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    rows = data.features
    baselines: dict[str, dict[str, dict[str, str]]] = {
        "ModelDataQuality": {
            "Statistics": _put(
                work,
                "baselines/statistics.json",
                json.dumps(statistics(features, rows, categories)).encode(),
            ),
            "Constraints": _put(
                work,
                "baselines/constraints.json",
                json.dumps(constraints(features, rows, categories)).encode(),
            ),
        }
    }
    if ranges:  # beside constraints.json, as the Baselines step writes it
        document = extension_constraints.document(features, SCHEMA.columns)
        _put(work, f"baselines/{extension_constraints.FILE_NAME}", json.dumps(document).encode())
    if explainability:
        model = artifact.load_archive(archive)
        shap = global_shap(
            features, np.asarray(project_model.explain(model.estimator, rows, features))
        )
        baselines["Explainability"] = {
            "Constraints": _put(
                work, "explainability/explainability.json", json.dumps(shap).encode()
            )
        }
    model_data = _put(work, "model/model.tar.gz", archive.read_bytes())["S3Uri"]
    request = {
        "ModelPackageGroupName": "demo-p-abc123",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": "image:1", "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "DriftCheckBaselines": baselines,
    }
    registry.register(work, request, region="eu-west-1", account="111122223333")
    return work


def _capture_present() -> None:
    if not CAPTURE.is_dir():  # a swapped-in model's data makes it with make_outliers.py capture
        pytest.fail(
            f"no capture at {CAPTURE}: run model-build/data/outliers/make_outliers.py capture"
        )


def test_local_monitor_checks_feature_attribution_with_the_approved_model(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _capture_present()
    work = approved_work(tmp_path, explainability=True)
    status = monitor_main(["--work-dir", str(work), "--capture-dir", str(CAPTURE)])
    assert status == 2  # the shipped batch drifts
    run = work / "monitoring" / "outliers-capture"
    assert (run / "baselines" / "explainability.json").is_file()
    assert (run / "baselines" / "model.tar.gz").is_file()
    summary = json.loads((run / "report" / "summary.json").read_text())
    assert 0.0 < summary["feature_attribution"]["ndcg"]["label0"] <= 1.0
    document = json.loads((run / "report" / "attribution_violations.json").read_text())
    assert len(document["violations"]) == summary["attribution_violations"]
    analysis = json.loads((run / "report" / "attribution_analysis.json").read_text())
    assert set(analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == set(
        SCHEMA.feature_names
    )
    assert "feature attribution: nDCG label0" in capfd.readouterr().out


def test_a_package_without_explainability_gets_the_data_quality_check_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _capture_present()
    work = approved_work(tmp_path, explainability=False)
    status = monitor_main(["--work-dir", str(work), "--capture-dir", str(CAPTURE)])
    assert status == 2
    report = work / "monitoring" / "outliers-capture" / "report"
    assert (report / "constraint_violations.json").is_file()
    assert not (report / "attribution_violations.json").exists()
    assert "feature_attribution" not in json.loads((report / "summary.json").read_text())
    out = capfd.readouterr().out
    assert "has no explainability baseline: no attribution check" in out
    # The valid ranges travel with the baselines: the monitor needs no model folder for them.
    assert (
        work / "monitoring" / "outliers-capture" / "baselines" / "extension_constraints.json"
    ).is_file()
    assert "the range check reads the valid ranges from the model folder's schema" not in out


def test_baselines_without_valid_ranges_fall_back_to_the_schema(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _capture_present()
    work = approved_work(tmp_path, explainability=False, ranges=False)
    assert monitor_main(["--work-dir", str(work), "--capture-dir", str(CAPTURE)]) == 2
    assert "the range check reads the valid ranges from the model folder's schema" in (
        capfd.readouterr().out
    )
