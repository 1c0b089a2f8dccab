"""The local loop's lock of the SageMaker SDK (`requirements-sdk.lock` at the project root).

`make local` and the other local targets install model-build's dependencies from this lock with
`--no-deps`, because pip cannot otherwise leave out a package that another one declares: the SDK
declares MLflow (with SQLAlchemy, Flask, the Databricks SDK, ...) and pyarrow, about 0.4 GB that
building and running a pipeline definition never imports. `make venv` installs everything, so the
tests, the CDK app and the twin see the SDK as published.

`make sdk-lock` rewrites the lock from the full .venv after constraints.txt changes; the tests fail
while it is stale, and one of them builds the definitions with the left-out packages unimportable.
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "model-build"

# Declared by the SDK, never imported by a definition build or a local run (the tests check it).
LEFT_OUT = {
    "mlflow": "sagemaker-train's MLflow tracking and metric plots (SQLAlchemy, Flask, Databricks SDK)",
    "sagemaker-mlflow": "sagemaker-train's plugin for SageMaker MLflow tracking servers",
    "pyarrow": "declared by sagemaker-mlops, imported by none of its pipeline modules",
}

# Imported by the SDK at import time but declared only by a left-out package: kept, with what they need.
UNDECLARED = {
    "docker": "imported by sagemaker-serve's local container mode; declared only by mlflow",
}

HEADER = """\
# The SageMaker SDK and the rest of model-build's dependencies, as the local targets install them
# (--no-deps), without {left_out}: see model-build/src/model_build/sdk_lock.py.
# Regenerate with `make sdk-lock` after changing constraints.txt.
"""


def closure(root: str = ROOT, left_out: set[str] | None = None) -> dict[str, str]:
    """Installed distributions `root` needs (name -> version), with UNDECLARED, without `left_out`
    and what only they need; `root` itself is not included."""
    skip = {canonicalize_name(name) for name in (LEFT_OUT if left_out is None else left_out)}
    installed: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():  # the first on sys.path wins, as for imports
        installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    found: dict[str, str] = {}
    pending = [canonicalize_name(root), *(canonicalize_name(name) for name in UNDECLARED)]
    while pending:
        name = pending.pop()
        if name in found or name in skip:
            continue
        dist = installed.get(name)
        if dist is None:
            raise SystemExit(
                f"error: {name} is not installed in {sys.prefix}; run `make venv` first"
            )
        if name != canonicalize_name(root) and _from_a_folder(dist):
            continue  # one of the project's own packages: the Makefile installs it from its folder
        found[name] = f"{dist.metadata['Name']}=={dist.version}"
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    found.pop(canonicalize_name(root))
    return found


def _from_a_folder(dist: metadata.Distribution) -> bool:
    """Installed from a local folder (``pip install -e DIR``; PEP 610's direct_url.json)."""
    return '"dir_info"' in (dist.read_text("direct_url.json") or "")


def render() -> str:
    pins = sorted(closure().values(), key=str.lower)
    return HEADER.format(left_out=", ".join(sorted(LEFT_OUT))) + "".join(f"{pin}\n" for pin in pins)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
