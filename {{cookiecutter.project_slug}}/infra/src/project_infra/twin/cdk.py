"""``python -m project_infra.twin.cdk deploy --app cdk.out [--parameters K=V ...]``: what the CDK
CLI's deploy does, against the emulator. The twin passes it to make as ``CDK=...`` so the README's
own ``make deploy-infra`` line runs unchanged; the provisioned stack is saved for the twin."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.interpreters import INTERPRETERS, NOT_EMULATED
from project_infra.twin.provision import ProvisionError, deploy

BOOTSTRAP_VERSION = "/cdk-bootstrap/hnb659fds/version"  # what `cdk bootstrap` writes (version 6+)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin cdk")
    parser.add_argument("command", choices=["deploy"])
    parser.add_argument("--app", required=True, type=Path)
    parser.add_argument("--parameters", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--require-approval", default="never")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"twin cdk: option {unknown[0]!r} is not emulated", file=sys.stderr)
        return 2
    state = Path(os.environ["TWIN_STATE"])
    manifest = json.loads((args.app / "manifest.json").read_text(encoding="utf-8"))
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    emulator = Emulator(os.environ["AWS_REGION"], url=os.environ["AWS_ENDPOINT_URL"])
    ssm = emulator.client("ssm")
    ssm.put_parameter(Name=BOOTSTRAP_VERSION, Value="21", Type="String", Overwrite=True)
    parameters = {}
    for item in args.parameters:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"twin cdk: --parameters {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        parameters[key.split(":")[-1]] = value
    for artifact in stacks:
        props = artifact["properties"]
        template = json.loads((args.app / props["templateFile"]).read_text(encoding="utf-8"))
        name = props.get("stackName", "")
        try:
            stack = deploy(
                template,
                stack_name=name,
                parameters=parameters,
                clients=emulator.client,
                account=TOOLING_ACCOUNT,
                region=emulator.region,
                interpreters=INTERPRETERS,
                not_emulated=NOT_EMULATED,
            )
        except ProvisionError as error:
            print(f"twin cdk: {error}", file=sys.stderr)
            return 1
        (state / "stacks").mkdir(parents=True, exist_ok=True)
        (state / "stacks" / f"{name}.json").write_text(
            json.dumps(dataclasses.asdict(stack), indent=1), encoding="utf-8"
        )
        print(f" ✅  {name} (twin: {len(stack.resources)} resources)")
        for key, value in stack.outputs.items():
            print(f"{name}.{key} = {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
