"""The local stand-ins for S3 and /opt/ml refuse paths that would escape their folders."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from model_build.errors import UsageError
from model_build.local.storage import container_path, download, s3_path, upload


def test_s3_uris_map_under_the_work_folder(tmp_path: Path) -> None:
    assert s3_path(tmp_path, "s3://bucket/a/b/") == tmp_path / "s3" / "bucket" / "a" / "b"
    for bad in ("bucket/key", "s3://", "s3://b/../../etc", 42):
        with pytest.raises(UsageError):
            s3_path(tmp_path, bad)  # type: ignore[arg-type]


def test_container_paths_must_stay_under_opt_ml(tmp_path: Path) -> None:
    assert (
        container_path(tmp_path, "/opt/ml/processing/input/raw")
        == tmp_path / "processing" / "input" / "raw"
    )
    for bad in ("/etc/passwd", "/opt/ml/../x", "relative/path"):
        with pytest.raises(UsageError, match="must lie under /opt/ml"):
            container_path(tmp_path, bad)


def test_prefix_download_and_upload_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "out"
    (source / "nested").mkdir(parents=True)
    (source / "nested" / "a.csv").write_text("1\n")
    upload(tmp_path, source, "s3://b/run/out")
    upload(tmp_path, source, "s3://b/run/out")  # replacing is fine
    download(tmp_path, "s3://b/run/out", tmp_path / "in")
    assert (tmp_path / "in" / "nested" / "a.csv").read_text() == "1\n"
    download(
        tmp_path, "s3://b/run/out/nested/a.csv", tmp_path / "single"
    )  # one object keeps its name
    assert (tmp_path / "single" / "a.csv").is_file()


def test_two_steps_writing_one_prefix_at_once_both_succeed(tmp_path: Path) -> None:
    # Parallel steps may share an output prefix; S3 takes both writes, and so must the stand-in.
    source = tmp_path / "out"
    (source / "copy").mkdir(parents=True)
    for index in range(20):
        (source / "copy" / f"part-{index}.csv").write_text("1,2,3\n" * 100)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(30):
                upload(tmp_path, source, "s3://bkt/runs/1/make")
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    assert len(list(s3_path(tmp_path, "s3://bkt/runs/1/make/copy").iterdir())) == 20
