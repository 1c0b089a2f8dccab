"""Code of the project image: pipeline steps and the model server."""

import os
import sys

# xgboost imports scikit-learn eagerly when it is installed (1-3 s per process). The image has no
# scikit-learn and the steps never use it; local runs set MODEL_CONTAINER_NO_SKLEARN=1 to start as
# fast as the image does and to fail, like the image would, if step code ever needed it.
if os.environ.get("MODEL_CONTAINER_NO_SKLEARN") == "1" and "sklearn" not in sys.modules:
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` now raises ImportError
