"""``docker`` in a twin build: login, build, push and pull emulated against the AWS emulator's ECR.

No image is built (unless TWIN_PODMAN=1 and podman is installed: then ``podman build`` runs for
real as well). ``build`` records the image under a digest computed from the build context's files and
the labels, ``push`` registers it in ECR with ``PutImage`` (a Docker v2 schema 2 manifest), ``pull``
succeeds if ECR has the tag. The images and logins live in a JSON store at ``$TWIN_DOCKER_STORE``
(default ``$HOME/.docker/twin-store.json``): one per build, as each CodeBuild build has its own daemon.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project_infra.twin.shimlog import record

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
BUILD_VALUED = {
    "--cache-from", "--build-arg", "--label", "-t", "--tag", "-f", "--file", "--platform",
    "--target", "--progress", "--network", "--secret", "--ssh", "--cache-to", "--iidfile",
    "--output", "-o", "--add-host", "--shm-size", "--ulimit", "--build-context",
}  # fmt: skip


class DockerError(Exception):
    """One line for the build log, as docker would print it."""


@dataclass(frozen=True)
class Ref:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]``."""

    registry: str
    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}" if self.digest else f"{self.name}:{self.tag}"


def parse_ref(text: str) -> Ref:
    registry, _, rest = text.partition("/")
    match = ECR_HOST.match(registry)
    if not match or not rest:
        raise DockerError(
            f"twin: docker: '{text}' is not an ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)"
        )
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        tag = None
    else:
        name, sep, tag_part = rest.rpartition(":")
        rest, tag = (name, tag_part) if sep and "/" not in tag_part else (rest, "latest")
    return Ref(registry, match.group(1), match.group(2), rest, tag, digest)


def local_name(text: str) -> str:
    """A tag as the local image store keys it: ``:latest`` added when the reference has no tag."""
    last = text.rsplit("/", 1)[-1]
    return text if "@" in last or ":" in last else f"{text}:latest"


class Store:
    """Local images (``name:tag`` -> record) and registries logged in to, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"images": {}, "logins": []}
        if path.is_file():
            self.data = json.loads(path.read_text(encoding="utf-8"))

    @classmethod
    def default(cls) -> Store:
        configured = os.environ.get("TWIN_DOCKER_STORE")
        return cls(Path(configured) if configured else Path.home() / ".docker" / "twin-store.json")

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")

    @property
    def images(self) -> dict[str, dict[str, Any]]:
        return self.data["images"]

    def require_login(self, ref: Ref) -> None:
        if ref.registry not in self.data["logins"]:
            raise DockerError(
                f"no basic auth credentials for {ref.registry} (run docker login first)"
            )


def context_digest(
    context: Path, dockerfile: Path, labels: dict[str, str], target: str | None
) -> str:
    """sha256 over the sorted relative paths and bytes of the context, the Dockerfile and the labels."""
    digest = hashlib.sha256()
    for file in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(file.relative_to(context).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    digest.update(b"dockerfile\0" + dockerfile.read_bytes() + b"\0")
    digest.update(json.dumps({"labels": labels, "target": target}, sort_keys=True).encode())
    return digest.hexdigest()


def image_blobs(content: str, labels: dict[str, str], size: int) -> tuple[str, str]:
    """(config digest, manifest JSON) of a one-layer image whose layer digest is the content digest."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{content}"]},
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": LAYER_TYPE, "size": size, "digest": f"sha256:{content}"}],
    }
    return config_digest, json.dumps(manifest, indent=3)


def _options(args: list[str], valued: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(option -> values, positional arguments); ``--opt=value`` and ``--opt value`` both work."""
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            opt, eq, value = arg.partition("=")
            if opt in valued and not eq:
                if i + 1 >= len(args):
                    raise DockerError(f"twin: docker: flag needs an argument: {opt}")
                value, i = args[i + 1], i + 1
            options.setdefault(opt, []).append(value)
        else:
            positional.append(arg)
        i += 1
    return options, positional


def _pairs(values: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) if "=" in v else (v, "") for v in values)


def login(args: list[str]) -> str:
    options, positional = _options(args, {"-u", "--username", "-p", "--password"})
    if len(positional) != 1:
        raise DockerError(
            "twin: docker login: expected one registry, e.g. <account>.dkr.ecr.<region>.amazonaws.com"
        )
    password = (
        sys.stdin.read().strip()
        if "--password-stdin" in options
        else "".join(options.get("-p", options.get("--password", [])))
    )
    if not password:
        raise DockerError("Error: Cannot perform an interactive login from a non TTY device")
    store = Store.default()
    registry = positional[0].removeprefix("https://").rstrip("/")
    if registry not in store.data["logins"]:
        store.data["logins"].append(registry)
    store.save()
    return "Login Succeeded"


def _podman_build(args: list[str]) -> None:
    """The optional real build: TWIN_PODMAN=1 and podman on PATH."""
    podman = shutil.which("podman")
    if os.environ.get("TWIN_PODMAN") != "1" or podman is None:
        return
    done = subprocess.run([podman, "build", "--runtime", "runc", *args], check=False)
    if done.returncode != 0:
        raise DockerError(f"twin: podman build exited with status {done.returncode}")


def build(args: list[str]) -> str:
    options, positional = _options(args, BUILD_VALUED)
    if len(positional) != 1:
        raise DockerError(
            f"twin: docker build: expected one context folder, got {positional or 'none'}"
        )
    context = Path(positional[0])
    dockerfile = Path(
        options["-f"][-1]
        if "-f" in options
        else options.get("--file", [str(context / "Dockerfile")])[-1]
    )
    if not context.is_dir():
        raise DockerError(f"twin: docker build: context '{context}' is not a folder")
    if not dockerfile.is_file():
        raise DockerError(
            f"twin: docker build: no Dockerfile at '{dockerfile}' (context '{context}')"
        )
    tags = [local_name(t) for t in options.get("-t", []) + options.get("--tag", [])]
    _podman_build(args)
    labels = _pairs(options.get("--label", []))
    target = (options.get("--target") or [None])[-1]
    content = context_digest(context, dockerfile, labels, target)
    size = sum(p.stat().st_size for p in context.rglob("*") if p.is_file())
    config_digest, manifest = image_blobs(content, labels, size)
    store = Store.default()
    for tag in tags:
        store.images[tag] = {
            "id": config_digest,
            "labels": labels,
            "manifest": manifest,
            "context": str(context.resolve()),
        }
    store.save()
    lines = [f"Successfully built {config_digest.removeprefix('sha256:')[:12]}"]
    lines += [f"Successfully tagged {tag}" for tag in tags]
    return "\n".join(lines)


def _ecr(ref: Ref) -> Any:
    import boto3  # noqa: PLC0415 - only push and pull talk to ECR

    return boto3.client("ecr", region_name=ref.region)


def _ecr_error(verb: str, ref: Ref, exc: Exception) -> DockerError:
    response = getattr(exc, "response", None)
    if response:
        error = response.get("Error", {})
        return DockerError(
            f"twin: docker {verb} {ref}: ECR {error.get('Code')}: {error.get('Message', '')}".strip()
        )
    return DockerError(f"twin: docker {verb} {ref}: {type(exc).__name__}: {exc}".replace("\n", " "))


def push(args: list[str]) -> str:
    _, positional = _options(args, {"--platform"})
    if len(positional) != 1:
        raise DockerError(
            "twin: docker push: expected one image, e.g. <registry>/<repository>:<tag>"
        )
    ref = parse_ref(positional[0])
    if ref.digest:
        raise DockerError(f"twin: docker push: push a tag, not a digest ('{ref}')")
    store = Store.default()
    image = store.images.get(f"{ref.name}:{ref.tag}")
    if image is None:
        raise DockerError(f"An image does not exist locally with the tag: {ref.name}")
    store.require_login(ref)
    manifest = image["manifest"]
    digest = f"sha256:{hashlib.sha256(manifest.encode()).hexdigest()}"
    try:
        _ecr(ref).put_image(
            registryId=ref.account,
            repositoryName=ref.repository,
            imageTag=ref.tag,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_TYPE,
            imageDigest=digest,
        )
    except Exception as exc:  # botocore's ClientError and connection errors alike: one line
        raise _ecr_error("push", ref, exc) from None
    return f"{ref.tag}: digest: {digest} size: {len(manifest)}"


def pull(args: list[str]) -> str:
    options, positional = _options(args, {"--platform"})
    if len(positional) != 1:
        raise DockerError(
            "twin: docker pull: expected one image, e.g. <registry>/<repository>:<tag>"
        )
    ref = parse_ref(positional[0])
    store = Store.default()
    store.require_login(ref)
    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag}
    try:
        details = _ecr(ref).describe_images(
            registryId=ref.account, repositoryName=ref.repository, imageIds=[image_id]
        )
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ImageNotFoundException":
            raise DockerError(
                f"Error response from daemon: manifest for {ref} not found: manifest unknown"
            ) from None
        raise _ecr_error("pull", ref, exc) from None
    digest = details["imageDetails"][0]["imageDigest"]
    key = f"{ref.name}@{digest}" if ref.digest else f"{ref.name}:{ref.tag}"
    store.images[key] = {"id": digest, "labels": {}, "manifest": None, "pulled": True}
    store.save()
    quiet = "-q" in options or "--quiet" in options
    return (
        str(ref) if quiet else f"Digest: {digest}\nStatus: Downloaded newer image for {ref}\n{ref}"
    )


COMMANDS = {"login": login, "build": build, "push": push, "pull": pull}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    record("docker", ["docker", *argv])
    command = argv[0] if argv else ""
    handler = COMMANDS.get(command)
    if handler is None:
        print(
            f"twin: docker {command or '(no subcommand)'} is not emulated (only {', '.join(COMMANDS)} are)"
        )
        return 2
    try:
        print(handler(argv[1:]))
    except DockerError as exc:
        print(exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
