"""Stand-in processing container: copies its input and writes a metrics file (or fails on request)."""

import json
import os
import shutil
import sys
from pathlib import Path

opt_ml = Path(os.environ["OPT_ML"])
value = sys.argv[sys.argv.index("--value") + 1]
if value == "fail":
    (opt_ml / "output").mkdir(parents=True, exist_ok=True)
    (opt_ml / "output" / "message").write_text("raw data has 3 columns, expected 6\n")
    print("error: raw data has 3 columns, expected 6", file=sys.stderr)
    sys.exit(1)
out = opt_ml / "processing" / "output" / "out"
shutil.copytree(opt_ml / "processing" / "input" / "raw", out / "copy")
(out / "metrics.json").write_text(json.dumps({"metrics": {"auc": {"value": float(value)}}}))
