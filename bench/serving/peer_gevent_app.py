"""The peer: a Flask app under gunicorn with gevent workers, serving the same model the way
SageMaker's first-party XGBoost container does (CSV split into a numpy array, a DMatrix per request,
`Booster.predict`, comma-joined scores). Written for this benchmark; only the stack is theirs.

Run: MODEL_DIR=<folder> gunicorn -k gevent -w <cpus> -b 127.0.0.1:<port> peer_gevent_app:app
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xgboost as xgb
from flask import Flask, Response, request

MODEL_DIR = Path(os.environ["MODEL_DIR"])
_meta = json.loads((MODEL_DIR / "model-metadata.json").read_text())
booster = xgb.Booster(model_file=str(MODEL_DIR / _meta["model_file"]))
booster.set_param({"nthread": 1})

app = Flask(__name__)


def csv_to_dmatrix(text: str) -> xgb.DMatrix:
    rows = [
        ["nan" if cell == "" else cell for cell in line.split(",")]
        for line in text.split("\n")
        if line
    ]
    return xgb.DMatrix(np.array(rows).astype(np.float32))


@app.route("/ping", methods=["GET"])
def ping() -> Response:
    return Response(status=200)


@app.route("/invocations", methods=["POST"])
def invocations() -> Response:
    if request.content_type != "text/csv":
        return Response("unsupported content type", status=415)
    try:
        dmatrix = csv_to_dmatrix(request.get_data(as_text=True))
    except ValueError as exc:
        return Response(str(exc), status=400)
    scores = booster.predict(dmatrix, validate_features=False)
    return Response(",".join(str(s) for s in scores.tolist()), mimetype="text/csv")
