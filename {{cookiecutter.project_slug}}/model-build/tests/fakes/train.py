"""Stand-in `train`: records what SageMaker's layout gave it into model/."""

import json
import os
from pathlib import Path

opt_ml = Path(os.environ["OPT_ML"])
config = opt_ml / "input" / "config"
record = {
    "hyperparameters": json.loads((config / "hyperparameters.json").read_text()),
    "resourceconfig": json.loads((config / "resourceconfig.json").read_text()),
    "channels": sorted(p.name for p in (opt_ml / "input" / "data").iterdir()),
    "addresses": os.environ.get("TRAIN_HOST_ADDRESSES"),
}
(opt_ml / "model" / "record.json").write_text(json.dumps(record))
