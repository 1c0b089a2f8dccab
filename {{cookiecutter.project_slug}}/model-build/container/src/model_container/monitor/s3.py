"""Capture files and batch inputs straight from S3, streamed line by line (no local copy).

A capture URL may name the capture destination (``.../data-capture/prod/``), an endpoint's folder or
a variant's (``.../<endpoint>/AllTraffic/``): the variant folders, those holding ``yyyy/`` folders, are
found by listing folder names at most two levels down. Then only the window's hour folders
``yyyy/mm/dd/hh/`` are listed, so a monitoring run costs the same whatever the bucket holds.
Objects are read in chunks of ``LINE_CHUNK`` bytes: memory does not grow with the file size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from model_container import registry
from model_container.entrypoint import StepError
from model_container.monitor.parallel import S3Object

HOUR = timedelta(hours=1)
LINE_CHUNK = 1 << 20
MAX_DEPTH = 2  # destination/ -> <endpoint>/ -> <variant>/ (-> yyyy/)
_YEAR = re.compile(r"\d{4}/")


def window_hours(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours that meet [start, end): the hour folders a capture window reads."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour < end:
        hours.append(hour)
        hour += HOUR
    return hours


def _folder(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _subfolders(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    return [common["Prefix"] for page in pages for common in page.get("CommonPrefixes", [])]


def capture_roots(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The variant folders at or below ``prefix``: those whose subfolders are years."""
    roots = []
    level = [_folder(prefix)]
    for _ in range(MAX_DEPTH + 1):
        deeper = []
        for folder in level:
            children = _subfolders(s3, bucket, folder)
            if any(_YEAR.fullmatch(child[len(folder) :]) for child in children):
                roots.append(folder)
            else:
                deeper.extend(children)
        level = deeper
    return sorted(roots)


def window_keys(
    s3: Any,
    bucket: str,
    roots: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    sizes: dict[str, int] | None = None,
) -> Iterator[str]:
    """The ``*.jsonl`` keys in the window's hour folders of every root (hidden names skipped);
    ``sizes``, when given, gets each key's size in bytes from the same listing."""
    paginator = s3.get_paginator("list_objects_v2")
    for root in roots:
        for hour in window_hours(start, end):
            pages = paginator.paginate(Bucket=bucket, Prefix=f"{root}{hour:%Y/%m/%d/%H}/")
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].rsplit("/", 1)[-1]
                    if name.endswith(".jsonl") and not name.startswith("."):
                        if sizes is not None:
                            sizes[item["Key"]] = item.get("Size", 0)
                        yield item["Key"]


def keys_with_suffix(
    s3: Any,
    bucket: str,
    prefix: str,
    suffixes: Sequence[str],
    *,
    sizes: dict[str, int] | None = None,
) -> Iterator[str]:
    """Every key below ``prefix`` ending with one of ``suffixes`` (hidden names skipped);
    ``sizes``, when given, gets each key's size in bytes from the same listing."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=_folder(prefix))
    for page in pages:
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            if name.endswith(tuple(suffixes)) and not name.startswith("."):
                if sizes is not None:
                    sizes[item["Key"]] = item.get("Size", 0)
                yield item["Key"]


def object_lines(s3: Any, bucket: str, key: str) -> Iterator[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from body.iter_lines(chunk_size=LINE_CHUNK)
    finally:
        body.close()


def s3_files(s3: Any, bucket: str, keys: Iterable[str]) -> Iterator[tuple[str, Iterable[bytes]]]:
    """(name, lines) of S3 objects, opened one at a time, as the reader takes them."""
    for key in keys:
        yield key.rsplit("/", 1)[-1], object_lines(s3, bucket, key)


def endpoint_of(root: str) -> str | None:
    """``<prefix>/<endpoint>/<variant>/``: the endpoint's name (None for a root without one)."""
    parts = [part for part in root.split("/") if part]
    return parts[-2] if len(parts) >= 2 else None


def capture_objects(
    url: str, region: str | None, start: datetime, end: datetime
) -> tuple[list[S3Object], str]:
    """The window's capture objects under ``url`` (with their sizes, for the readers' tasks) and
    the endpoint they belong to; one-line errors for a missing folder or a denied listing."""
    bucket, prefix = registry.split_s3_url(url, "capture URL")
    client = registry.client("s3", region)
    with registry.aws_errors(f"list the capture folders under {url}"):
        roots = capture_roots(client, bucket, prefix)
    if not roots:
        raise StepError(
            f"no data-capture folders under {url}: expected <endpoint>/<variant>/yyyy/mm/dd/hh/ "
            "at most two levels below it"
        )
    sizes: dict[str, int] = {}
    with registry.aws_errors(f"list the capture files under {url}"):
        keys = list(window_keys(client, bucket, roots, start, end, sizes=sizes))
    objects = [S3Object(bucket, key, sizes.get(key, 0), region) for key in keys]
    return objects, endpoint_of(roots[0]) or bucket
