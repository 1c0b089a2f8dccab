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


def render(data: dict[str, list[str]]) -> str:
    blocks = []
    for name, values in data.items():
        body = textwrap.fill(
            " ".join(f'"{v}",' for v in values),
            width=100,
            initial_indent="    ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        blocks.append(f"{name}: frozenset[str] = frozenset({{\n{body}\n}})\n")
    return "".join(blocks)


def main() -> None:
    text = HOOK.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: m.group(1) + render(aws_data()) + m.group(3), text, count=1)
    HOOK.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
