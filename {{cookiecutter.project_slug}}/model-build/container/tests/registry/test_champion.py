"""``python3 -m model_container.champion``: the newest Approved package's model, from moto and from
`make local`'s folders (``LOCAL_AWS_ROOT``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_fixtures import BUCKET, GROUP, Registry, feature_table

from model_container.champion import main


def run(output: Path) -> int:
    return main(["--model-package-group", GROUP, "--output-dir", str(output)])


def test_no_approved_package_means_no_champion(registry: Registry, tmp_path: Path) -> None:
    registry.register("PendingManualApproval", feature_table(1))
    assert run(tmp_path) == 0
    assert json.loads((tmp_path / "champion.json").read_text()) == {
        "model_package_arn": None,
        "model_package_version": None,
        "model_data_url": None,
    }
    assert not (tmp_path / "model.tar.gz").exists()


def test_the_newest_approved_package_and_its_model(registry: Registry, tmp_path: Path) -> None:
    registry.s3.put_object(Bucket=BUCKET, Key="model.tar.gz", Body=b"the champion's archive")
    registry.register("Approved", feature_table(1))
    newest = registry.register("Approved", feature_table(2))
    registry.register("PendingManualApproval", feature_table(3))
    assert run(tmp_path) == 0
    document = json.loads((tmp_path / "champion.json").read_text())
    assert document["model_package_arn"] == newest
    assert document["model_data_url"] == f"s3://{BUCKET}/model.tar.gz"
    assert (tmp_path / "model.tar.gz").read_bytes() == b"the champion's archive"


def test_a_missing_model_archive_is_one_line(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register("Approved", feature_table(1))
    assert run(tmp_path) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: could not download s3://{BUCKET}/model.tar.gz: NoSuchKey")
    assert len(err.splitlines()) == 1


def local_record(version: int, status: str, created: str) -> dict[str, object]:
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:model-package/{GROUP}/{version}"
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "CreationTime": created,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"Image": "i", "ModelDataUrl": f"s3://bucket/run{version}/model.tar.gz"}]
        },
    }


def test_make_local_folders_stand_in_for_aws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    folder = work / "registry" / GROUP
    folder.mkdir(parents=True)
    for version, status in ((1, "Approved"), (2, "Approved"), (3, "PendingManualApproval")):
        record = local_record(version, status, f"2026-01-0{version}T00:00:00+00:00")
        (folder / f"{version}.json").write_text(json.dumps(record))
        archive = work / "s3" / "bucket" / f"run{version}" / "model.tar.gz"
        archive.parent.mkdir(parents=True)
        archive.write_bytes(f"model {version}".encode())
    monkeypatch.setenv("LOCAL_AWS_ROOT", str(work))
    assert run(tmp_path / "out") == 0
    document = json.loads((tmp_path / "out" / "champion.json").read_text())
    assert document["model_package_arn"].endswith(f"/{GROUP}/2")
    assert (tmp_path / "out" / "model.tar.gz").read_bytes() == b"model 2"
    # No group folder yet (nothing registered): no champion.
    monkeypatch.setenv("LOCAL_AWS_ROOT", str(tmp_path / "empty"))
    assert run(tmp_path / "none") == 0
    assert (
        json.loads((tmp_path / "none" / "champion.json").read_text())["model_package_arn"] is None
    )
