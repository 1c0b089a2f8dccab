"""Bias metrics (Clarify's definitions) against hand counts, the Bias step's files, bias drift."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from step_helpers import assert_one_line_error, place

import project_model
from model_container import bias
from model_container.bias_metrics import (
    POST_TRAINING,
    PRE_TRAINING,
    BiasConfig,
    Facet,
    compute,
    drift_violations,
    favourable_class,
    groups,
    in_facet,
    outcomes,
    section,
)
from model_container.columns import Numeric
from model_container.data import Dataset, write_channel
from project_model import SCHEMA

# A hand-made table: facet a has 6 rows, facet d 4 (1 = in facet d).
#            facet a             facet d
FACET = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
LABELS = [1, 1, 1, 0, 0, 0, 1, 0, 0, 0]
PREDICTED = [1, 1, 0, 1, 0, 0, 1, 1, 1, 0]
# Facet a: n 6, labels 1: 3, predicted 1: 3, TP 2, FN 1, FP 1, TN 2.
# Facet d: n 4, labels 1: 1, predicted 1: 3, TP 1, FN 0, FP 2, TN 1.


def table() -> dict[str, float]:
    g = groups(np.array(FACET, float), np.array(LABELS, bool), np.array(PREDICTED, bool))
    return compute({**PRE_TRAINING, **POST_TRAINING}, g)


def test_pre_training_metrics_against_the_textbook_formulas() -> None:
    values = table()
    p_a, p_d = (3 / 6, 3 / 6), (3 / 4, 1 / 4)  # (P(label 0), P(label 1)) of each facet
    mean = (0.625, 0.375)
    kl_a_mean = 0.5 * math.log(0.5 / 0.625) + 0.5 * math.log(0.5 / 0.375)
    kl_d_mean = 0.75 * math.log(0.75 / 0.625) + 0.25 * math.log(0.25 / 0.375)
    assert mean == ((p_a[0] + p_d[0]) / 2, (p_a[1] + p_d[1]) / 2)
    assert values["CI"] == pytest.approx((6 - 4) / (6 + 4))
    assert values["DPL"] == pytest.approx(3 / 6 - 1 / 4)
    assert values["KL"] == pytest.approx(0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))
    assert values["JS"] == pytest.approx((kl_a_mean + kl_d_mean) / 2)
    assert values["LP"] == pytest.approx(math.sqrt(0.25**2 + 0.25**2))
    assert values["TVD"] == pytest.approx((0.25 + 0.25) / 2)
    assert values["KS"] == pytest.approx(0.25)


def test_post_training_metrics_against_the_textbook_formulas() -> None:
    values = table()
    assert values["DPPL"] == pytest.approx(3 / 6 - 3 / 4)
    assert values["DI"] == pytest.approx((3 / 4) / (3 / 6))
    assert values["DCA"] == pytest.approx(3 / 3 - 1 / 3)  # observed / predicted positives
    assert values["DCR"] == pytest.approx(3 / 1 - 3 / 3)  # observed / predicted negatives, d - a
    assert values["RD"] == pytest.approx(2 / 3 - 1 / 1)  # recall a - recall d
    assert values["DAR"] == pytest.approx(2 / 3 - 1 / 3)  # precision a - precision d
    assert values["DRR"] == pytest.approx(1 / 1 - 2 / 3)  # TN_d/n'_d(0) - TN_a/n'_a(0)
    assert values["AD"] == pytest.approx(4 / 6 - 2 / 4)
    assert values["TE"] == pytest.approx(0 / 2 - 1 / 1)  # FN/FP of d - of a


def test_binary_label_distances_agree_with_the_proportion_difference() -> None:
    # With two label values, KS = TVD = |DPL| and LP = sqrt(2) |DPL| (Clarify's reports show the same).
    rng = np.random.default_rng(3)
    values = compute(
        PRE_TRAINING, groups(rng.integers(0, 2, 500).astype(float), rng.random(500) < 0.3)
    )
    assert values["KS"] == pytest.approx(abs(values["DPL"]))
    assert values["TVD"] == pytest.approx(abs(values["DPL"]))
    assert values["LP"] == pytest.approx(math.sqrt(2) * abs(values["DPL"]))
    assert values["KL"] > 0 and 0 < values["JS"] < math.log(2)


def test_no_rows_or_no_positives_in_a_facet_give_nan_and_null() -> None:
    # No facet d rows: CI is 1 (all rows in facet a); every comparison is undefined (NaN).
    empty = compute(
        {**PRE_TRAINING, **POST_TRAINING},
        groups(np.zeros(4), np.array([1, 0, 1, 0], bool), np.array([1, 1, 0, 0], bool)),
    )
    assert empty["CI"] == 1.0
    assert all(math.isnan(value) for name, value in empty.items() if name != "CI")
    # Facet d without a positive label: KL is infinite (P_d(1) = 0 < P_a(1)), JS finite; d has no
    # predicted positive, so DI is 0 and DCA undefined; no false positive anywhere: TE undefined.
    g = groups(
        np.array([0, 0, 1, 1], float), np.array([1, 0, 0, 0], bool), np.array([1, 0, 0, 0], bool)
    )
    values = compute({**PRE_TRAINING, **POST_TRAINING}, g)
    assert values["KL"] == math.inf and math.isfinite(values["JS"])
    assert values["DI"] == 0.0 and math.isnan(values["DCA"]) and math.isnan(values["TE"])
    facet = Facet("x", threshold=1)
    document = section(PRE_TRAINING, values, label="y", positive_label="1", facet=facet)
    metrics = {m["name"]: m["value"] for m in document["facets"]["x"][0]["metrics"]}
    assert metrics["KL"] is None and metrics["CI"] == 0.0
    json.dumps(document, allow_nan=False)  # strict JSON: no NaN or Infinity tokens


def test_facet_membership_missing_values_and_categories() -> None:
    column = np.array([59.0, 60.0, 61.5, np.nan, 18.0])
    member = in_facet(Facet("Age", threshold=59), column, None)  # Clarify's: above the threshold
    assert member[:3].tolist() == [0.0, 1.0, 1.0] and math.isnan(member[3]) and member[4] == 0.0
    assert in_facet(Facet("Age", threshold=60), column, None)[:3].tolist() == [0.0, 0.0, 1.0]
    g = groups(member, np.ones(5, bool))
    assert (g.count(False), g.count(True)) == (2, 2)  # the missing value is in neither facet
    codes = np.array([0.0, 1.0, 2.0, 1.0])
    stores = in_facet(Facet("Store", categories=("b", "c")), codes, ["a", "b", "c"])
    assert stores.tolist() == [0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"\['z'\] not among its categories"):
        in_facet(Facet("Store", categories=("z",)), codes, ["a", "b", "c"])
    with pytest.raises(ValueError, match="is categorical: give categories"):
        in_facet(Facet("Store", threshold=1), codes, ["a", "b", "c"])
    with pytest.raises(ValueError, match="is numeric: give a threshold"):
        in_facet(Facet("Age", categories=("60",)), column, None)
    with pytest.raises(ValueError, match="either a threshold"):
        Facet("Age")
    with pytest.raises(ValueError, match=r"probability_threshold 1.5 must be in \(0, 1\)"):
        BiasConfig(Facet("Age", threshold=59), positive_label="1", probability_threshold=1.5)


def test_the_favourable_outcome_may_be_the_negative_class() -> None:
    labels, scores = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.2, 0.4, 0.6])
    assert favourable_class("1", "1", "0") == 1.0 and favourable_class("0", "1", "0") == 0.0
    with pytest.raises(ValueError, match="positive_label 'yes' is not a label value"):
        favourable_class("yes", "1", "0")
    observed, predicted = outcomes(labels, scores, 0.0, 0.5)
    assert observed.tolist() == [False, True, False, True]
    assert predicted.tolist() == [False, True, True, False]  # predicted class 0: score below 0.5
    facet = np.array([0.0, 0.0, 1.0, 1.0])
    dppl = [
        compute(POST_TRAINING, groups(facet, *outcomes(labels, scores, f, 0.5)))["DPPL"]
        for f in (1.0, 0.0)
    ]
    assert dppl[0] == pytest.approx(-dppl[1])


def baseline(dppl: float, di: float) -> dict:
    values = dict.fromkeys((m.name for m in POST_TRAINING), 0.0) | {"DPPL": dppl, "DI": di}
    facet = Facet("Age", threshold=59)
    ages = np.array([35.0, np.nan, 86.0])  # the baseline's test split: its oldest is 86
    return {
        "version": "1.0",
        "post_training_bias_metrics": section(
            POST_TRAINING,
            values,
            label="Severity",
            positive_label="1",
            facet=facet,
            facet_column=ages,
        ),
    }


def test_bias_drift_violations_follow_clarify_s_shape() -> None:
    # The window of the hand table: DPPL -0.25 (0 is no bias), DI 1.5 (1 is no bias).
    ages = np.where(np.array(FACET) == 1, 70.0, 40.0)
    scores = np.where(np.array(PREDICTED) == 1, 0.8, 0.2)
    kwargs = {"facet": Facet("Age", threshold=59), "favourable": 1.0, "threshold": 0.5}
    found = drift_violations(
        ages, np.array(LABELS, float), scores, baseline(0.1, 0.9), 0.1, **kwargs
    )
    assert found["version"] == "1.0"
    assert [v["metric_name"] for v in found["violations"]] == ["DPPL", "DI"]
    first = found["violations"][0]
    assert set(first) == {
        "facet",
        "facet_value",
        "metric_name",
        "constraint_check_type",
        "description",
    }
    # The group as the baseline names it (Clarify's interval, ending at the baseline's max).
    assert (first["facet"], first["facet_value"], first["constraint_check_type"]) == (
        "Age",
        "(59.0, 86.0]",
        "bias_drift_check",
    )
    # A baseline without the group's text: the window's own interval.
    unnamed = baseline(0.1, 0.9)
    unnamed["post_training_bias_metrics"]["facets"]["Age"][0].pop("value_or_threshold")
    found = drift_violations(ages, np.array(LABELS, float), scores, unnamed, 0.1, **kwargs)
    assert found["violations"][0]["facet_value"] == "(59.0, 70.0]"
    assert first["description"].startswith("Value -0.25 does not meet the constraint requirement")
    # Within the tolerance (|-0.25| <= 0.1 + 0.2, |0.5| <= 0.1 + 0.4): nothing.
    calm = drift_violations(
        ages, np.array(LABELS, float), scores, baseline(0.1, 0.9), 0.4, **kwargs
    )
    assert calm["violations"] == []
    # A window without rows of facet d says nothing about bias: no violation.
    young = np.full(10, 30.0)
    none = drift_violations(
        young, np.array(LABELS, float), scores, baseline(0.0, 1.0), 0.0, **kwargs
    )
    assert none["violations"] == []


# -- The step -------------------------------------------------------------------------------------------


def _facet_config() -> tuple[BiasConfig, int]:
    """A facet on the schema's first numeric feature (the tests hold for any model folder)."""
    column = next(c for c in SCHEMA.features if isinstance(c, Numeric))
    return BiasConfig(
        Facet(column.name, threshold=0.0), SCHEMA.positive
    ), SCHEMA.feature_names.index(column.name)


def _inputs(opt_ml: Path, model_archive: Path, splits: dict[str, Dataset]) -> None:
    place(model_archive, opt_ml)
    for name in ("train", "test"):
        write_channel(opt_ml / "processing" / name / f"{name}.csv", splits[name])


def test_step_writes_clarify_documents_and_report(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, index = _facet_config()
    threshold = float(np.nanmedian(splits["train"].features[:, index]))
    config = BiasConfig(Facet(config.facet.feature, threshold=threshold), SCHEMA.positive)
    monkeypatch.setattr(project_model, "BIAS", config)
    _inputs(opt_ml, model_archive, splits)
    assert bias.main([]) == 0
    out = opt_ml / "processing" / "bias"
    pre = json.loads((out / "pre_training_bias.json").read_text())
    post = json.loads((out / "post_training_bias.json").read_text())
    section_ = pre["pre_training_bias_metrics"]
    assert (section_["label"], section_["label_value_or_threshold"]) == (
        SCHEMA.label,
        SCHEMA.positive,
    )
    (entry,) = section_["facets"][config.facet.feature]
    column = splits["train"].features[:, index]
    assert entry["value_or_threshold"] == f"({threshold}, {float(np.nanmax(column))}]"
    assert [m["name"] for m in entry["metrics"]] == ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"]
    n_d, n_a = np.sum(column > threshold), np.sum(column <= threshold)  # NaN is in neither
    assert entry["metrics"][0]["value"] == pytest.approx((n_a - n_d) / (n_a + n_d))
    (post_entry,) = post["post_training_bias_metrics"]["facets"][config.facet.feature]
    names = [m["name"] for m in post_entry["metrics"]]
    assert names == ["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE"]
    assert 0.0 < post["probability_threshold"] < 1.0
    page = (out / "report.html").read_text()
    for image in ("pre_training_bias.png", "post_training_bias.png"):
        png = (out / image).read_bytes()
        assert png.startswith(b"\x89PNG")
        # Embedded: the page alone (downloaded from S3) shows its plots.
        assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page
    assert "Disparate Impact (DI)" in page


def test_step_without_a_facet_writes_empty_documents(
    opt_ml: Path, model_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_model, "BIAS", None)
    place(model_archive, opt_ml)  # no data needed: nothing is measured
    assert bias.main([]) == 0
    out = opt_ml / "processing" / "bias"
    pre = json.loads((out / "pre_training_bias.json").read_text())
    post = json.loads((out / "post_training_bias.json").read_text())
    assert pre["pre_training_bias_metrics"]["facets"] == {}
    assert post["post_training_bias_metrics"]["facets"] == {}
    assert "No facet configured" in (out / "report.html").read_text()


def test_step_errors_are_one_line(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _inputs(opt_ml, model_archive, splits)
    monkeypatch.setattr(project_model, "BIAS", BiasConfig(Facet("Nope", threshold=1), "1"))
    assert bias.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "facet 'Nope' is not a model feature; allowed:")
    config, _ = _facet_config()
    wrong = BiasConfig(config.facet, positive_label="maybe")
    monkeypatch.setattr(project_model, "BIAS", wrong)
    assert bias.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "positive_label 'maybe' is not a label value")


@pytest.mark.parametrize(
    ("facet", "column", "written"),
    [
        (Facet("Age", threshold=59), [35.0, np.nan, 96.0], "(59.0, 96.0]"),
        (Facet("Age", threshold=59.5), [60, 61], "(59.5, 61.0]"),
        (Facet("Age", threshold=59), [], "(59.0, 59.0]"),  # no rows: the threshold alone
        (Facet("Shape", categories=("oval", "round")), None, "oval,round"),
    ],
)
def test_facet_group_is_written_as_clarify_writes_it(
    facet: Facet, column: list[float] | None, written: str
) -> None:
    values = None if column is None else np.array(column, dtype=float)
    assert facet.value_or_threshold(values) == written
    if facet.threshold is not None and column:
        # smclarify's notation: pandas' intervals from the breaks [threshold, max of the column].
        pandas = pytest.importorskip("pandas")  # a dependency of the SDK: in every project venv
        breaks = sorted([facet.threshold, float(np.nanmax(values))])
        assert written == ",".join(map(str, pandas.IntervalIndex.from_breaks(breaks)))
