"""Regenerate the AWS data block in hooks/pre_gen_project.py from the pinned botocore.

The hook cannot import botocore (it runs in whatever Python runs cookiecutter), so it carries a copy;
``tests/test_aws_data.py`` fails when the copy and botocore disagree. Run after bumping botocore:

    .venv/bin/python scripts/sync_aws_enums.py
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import boto3
import botocore.session

HOOK = Path(__file__).resolve().parents[1] / "hooks" / "pre_gen_project.py"
BLOCK = re.compile(r"(# BEGIN GENERATED AWS DATA[^\n]*\n)(.*?)(# END GENERATED AWS DATA)", re.S)
PARTITION = "aws"  # The commercial partition; see docs/options.md for why others are not offered.


def aws_data() -> dict[str, list[str]]:
    """The values the hook accepts, straight from botocore's models."""
    model = botocore.session.get_session().get_service_model("sagemaker")

    def enum(shape: str) -> list[str]:
        return sorted(model.shape_for(shape).enum)

    return {
        "AWS_REGIONS": sorted(
            boto3.session.Session().get_available_regions("sagemaker", PARTITION)
        ),
        "PROCESSING_INSTANCE_TYPES": enum("ProcessingInstanceType"),
        "TRAINING_INSTANCE_TYPES": enum("TrainingInstanceType"),
        "ENDPOINT_INSTANCE_TYPES": enum("ProductionVariantInstanceType"),
    }


def families(types: list[str]) -> dict[str, list[str]]:
    """``ml.<family>.<size>`` grouped as family -> sizes (what the hook's ``_instance_types`` expands)."""
    grouped: dict[str, list[str]] = {}
    for name in types:
        family, _, size = name.rpartition(".")
        grouped.setdefault(family, []).append(size)
    return grouped


def render(data: dict[str, list[str]]) -> str:
    """Regions as one wrapped string; instance types one family a line: small enough to read."""
    blocks = []
    for name, values in data.items():
        if name == "AWS_REGIONS":
            words = textwrap.fill(" ".join(values), width=94, break_on_hyphens=False)
            body = "\n".join(f'    "{line} "' for line in words.splitlines())
            blocks.append(f"{name} = _words(\n{body}\n)\n")
            continue
        rows = "".join(
            f'        "{family}": "{" ".join(sizes)}",\n'
            for family, sizes in families(values).items()
        )
        blocks.append(f"{name} = _instance_types(\n    {{\n{rows}    }}\n)\n")
    return "".join(blocks)


def main() -> None:
    text = HOOK.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: m.group(1) + render(aws_data()) + m.group(3), text, count=1)
    HOOK.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
