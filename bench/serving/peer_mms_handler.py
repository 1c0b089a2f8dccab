"""Handler for the MMS peer: the model server of SageMaker's inference toolkit (sagemaker-inference:
Java frontend, Python backend workers). It scores CSV the way SageMaker's XGBoost container does (a
DMatrix per request and `Booster.predict`). Written for this benchmark; run.py archives and starts it."""

from __future__ import annotations

import os

import numpy as np
import xgboost as xgb

_booster: xgb.Booster | None = None


def _rows(body: bytes | str) -> np.ndarray:
    text = body.decode() if isinstance(body, bytes | bytearray) else body
    rows = [["nan" if c == "" else c for c in line.split(",")] for line in text.split("\n") if line]
    return np.array(rows).astype(np.float32)


def handle(data: list[dict] | None, context: object) -> list[str] | None:
    global _booster  # noqa: PLW0603 - MMS calls a module-level function; the model lives per worker
    if _booster is None:
        model_dir = context.system_properties["model_dir"]  # type: ignore[attr-defined]
        _booster = xgb.Booster(model_file=os.path.join(model_dir, "xgboost-model.json"))  # noqa: PTH118
        _booster.set_param({"nthread": 1})
    if data is None:
        return None
    out = []
    for item in data:
        scores = _booster.predict(
            xgb.DMatrix(_rows(item.get("body") or item.get("data"))), validate_features=False
        )
        out.append(",".join(str(s) for s in scores.tolist()))
    return out
