"""The champion comparison of the quality gate: is the candidate worse than the approved model?

Both are scored on the same test rows (a paired comparison). The candidate fails when its AUC is
below the champion's by more than either tolerance: ``absolute`` (AUC points) or ``relative`` (a
fraction of the champion's AUC); each bound must hold, as with MLflow's MetricThreshold
(min_absolute_change, min_relative_change) that databricks/mlops-stacks validates with.
Modes: ``off`` (not compared), ``report`` (compared, never blocks), ``enforce`` (blocks).
"""

from __future__ import annotations

from typing import Any

from model_container.entrypoint import StepError

MODES = ("off", "report", "enforce")


def mode(text: str) -> str:
    """An argparse type: one of MODES, else a one-line error naming the value."""
    if text not in MODES:
        raise StepError(f"champion comparison {text!r} is not allowed; allowed: {', '.join(MODES)}")
    return text


def tolerance(text: str) -> float:
    """An argparse type: a number from 0 up, else a one-line error naming the value."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise StepError(f"tolerance {text!r} is not allowed; allowed: a number from 0 up")
    return value


def compare(
    candidate_auc: float,
    champion: dict[str, Any] | None,
    *,
    mode: str,
    absolute: float,
    relative: float,
) -> dict[str, Any]:
    """The ``champion`` section of evaluation.json; ``gate`` is "pass" or "fail" (what the pipeline's
    ChampionGate reads); ``message`` is one line with both scores; ``reason`` (when compared) says by
    how much, for the WorseThanChampion step's message. Scores are kept to 6 decimals.

    ``champion``: ``{"model_package_arn", "model_package_version", "auc"}`` (``auc`` None when it
    cannot score these rows: other features), or None (no approved model).
    """
    section: dict[str, Any] = {
        "mode": mode,
        "absolute_tolerance": absolute,
        "relative_tolerance": relative,
        "candidate_auc": round(candidate_auc, 6),
        "model_package_arn": None,
        "model_package_version": None,
        "auc": None,
        "minimum_auc": None,
        "within_tolerance": None,
        "reason": None,
    }
    if mode == "off":
        return {**section, "gate": "pass", "message": "not compared (ChampionComparison=off)"}
    if champion is None:
        message = "no approved model to compare with: the AUC threshold alone decides"
        return {**section, "gate": "pass", "message": message}
    if champion["auc"] is None:
        section.update(model_package_arn=champion["model_package_arn"])
        message = (
            f"the champion {champion['model_package_arn']} expects other features "
            f"({', '.join(champion.get('features', []))}): not compared, the AUC threshold alone decides"
        )
        return {**section, "gate": "pass", "message": message}
    champion_auc = float(champion["auc"])
    allowed = min(absolute, relative * champion_auc)
    minimum = champion_auc - allowed
    within = candidate_auc >= minimum
    section.update(
        model_package_arn=champion["model_package_arn"],
        model_package_version=champion.get("model_package_version"),
        auc=round(champion_auc, 6),
        minimum_auc=round(minimum, 6),
        within_tolerance=within,
        reason=(
            f"{champion_auc - candidate_auc:.4f} below it, at most {allowed:.4f} allowed "
            f"(absolute {absolute:g}, relative {relative:g}); champion {champion['model_package_arn']}"
        ),
    )
    scores = (
        f"candidate AUC {candidate_auc:.4f}, champion AUC {champion_auc:.4f} "
        f"({champion['model_package_arn']})"
    )
    if within:
        verdict = "within tolerance"
    else:
        verdict = (
            f"worse than the champion by {champion_auc - candidate_auc:.4f}, more than allowed "
            f"(absolute {absolute:g}, relative {relative:g}: at least {minimum:.4f})"
        )
        if mode == "report":
            verdict += "; registered anyway (ChampionComparison=report)"
    gate = "fail" if mode == "enforce" and not within else "pass"
    return {**section, "gate": gate, "message": f"{scores}: {verdict}"}
