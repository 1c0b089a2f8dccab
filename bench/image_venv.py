"""The image's Python packages, outside the image: a virtualenv of the container's requirements.

The monitoring jobs run in the project's image, whose packages are `model-build/container/
requirements.txt` (no pandas, no scikit-learn). The template's development venv has more, and a
package that is merely installed can still be imported (xgboost imports scikit-learn when it finds
it: 1.3 s and about 130 MB). So the benchmarks run a job with this venv's interpreter and the
source folders on PYTHONPATH, which is what the image holds. Built once per requirements file and
Python, from the wheel cache that `./dev test` fills (pip's index off: offline, pins exact).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "{{cookiecutter.project_slug}}" / "model-build"
REQUIREMENTS = BUILD / "container" / "requirements.txt"
CACHE = Path.home() / ".cache" / "mlops-template"
WHEELS = CACHE / "wheels"


def image_python() -> Path:
    """The venv's interpreter, built on first use."""
    if not (WHEELS / ".complete").is_file():
        sys.exit(f"no wheel cache at {WHEELS}: run ./dev test first")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    venv = CACHE / f"image-venv-{digest}"
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    partial = venv.with_name(venv.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(partial)], check=True)
    subprocess.run(
        [str(partial / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
         "--find-links", str(WHEELS), "--only-binary=:all:", "--requirement", str(REQUIREMENTS)],
        check=True,
    )  # fmt: skip
    partial.rename(venv)  # a venv's scripts name its path: only the interpreter is used here
    return python


def image_path() -> str:
    """PYTHONPATH of the image's own code: the container package and the model folder."""
    return f"{BUILD / 'container' / 'src'}:{BUILD / 'model' / 'src'}"
