"""Processing steps Track and LinkRun: publish the execution's MLflow runs (``model_container.tracking``).

``python3 -m model_container.track publish`` reads the step records under ``processing/records/``
(Preprocess's and Evaluate's tracking outputs, and Train's ``output.tar.gz``, which holds its
``tracking/`` folder), logs the execution's run with a child run per step (Train's gets the model
from ``processing/model/model.tar.gz``) and writes ``processing/tracking/tracking.json``
(``{"run_id": ...}``, ``none`` when untracked): the Register step records it in the model package.

``python3 -m model_container.track link --run-id ID --model-package-arn ARN`` tags run ``ID`` with
the package the execution registered.

Neither ever fails the pipeline over tracking: an unreachable server warns once (tracking.py).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence

from model_container import tracking
from model_container.entrypoint import StepArgumentParser, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, processing

RESULT_FILE = "tracking.json"
UNTRACKED = "none"  # a model package's metadata values cannot be empty
# The steps whose records the Track step publishes, in the order their runs are created.
RECORDED_STEPS = ("Preprocess", "Train", "Evaluate")


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="track", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("publish", help="publish the step records")
    link = commands.add_parser("link", help="tag the run with the registered model package")
    link.add_argument("--run-id", required=True)
    link.add_argument("--model-package-arn", required=True)
    return parser


def track(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "link":
        if args.run_id != UNTRACKED and tracking.link_package(args.run_id, args.model_package_arn):
            print(f"MLflow: run {args.run_id} tagged with {args.model_package_arn}")
        return
    records_root = processing("records")
    for archive in sorted(records_root.rglob("*.tar.gz")):  # Train's output.tar.gz
        with tarfile.open(archive) as tar:
            tar.extractall(archive.parent, filter="data")
    folders = sorted({path.parent.parent for path in records_root.rglob(tracking.RECORD)})
    found = tracking.read_records(folders)
    order = {step: at for at, step in enumerate(RECORDED_STEPS)}
    found.sort(key=lambda item: order.get(item[0]["step"], len(order)))
    print(f"step records: {', '.join(record['step'] for record, _ in found) or 'none'}")
    model = processing("model")
    run_id = tracking.publish(found, extra_artifacts={"Train": {"model": model}})
    out = processing("tracking")
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT_FILE).write_text(json.dumps({"run_id": run_id or UNTRACKED}), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(track, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
