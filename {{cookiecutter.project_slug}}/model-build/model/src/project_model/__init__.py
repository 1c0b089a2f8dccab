"""Your model: the one package of the project that you are expected to replace.

The machinery (the pipeline's steps, the model server, the drift monitor, the local runner, the cloud
twin) calls exactly these names and nothing else of this package:

- ``SCHEMA``: the raw data's columns (numeric or categorical), the label and its two values;
- ``BIAS``: the facet (sensitive group) the Bias step measures, or None;
- ``Hyperparameters``: a frozen dataclass with a ``threshold`` field; SageMaker's hyperparameters
  (all strings) become one through ``Hyperparameters.from_mapping``;
- ``fit(train, validation, hyperparameters, log)`` -> ``Fitted``: trains on the train channel, may
  stop early on the validation one;
- ``save(estimator, folder)`` -> file name, and ``load(path, threads)`` -> estimator;
- ``predict(estimator, rows)`` -> the probability of the positive class per row;
- ``explain(estimator, rows, names)`` -> per-row feature attributions, the bias term last;
- ``small_batch(estimator)`` -> a faster scorer for requests of a few rows, or None;
- ``distributed(cluster)`` -> a context manager in which every host of a multi-host training job
  runs ``fit`` on its shard and ends with the same model, or None to train on one host only.

Rows are float arrays: numbers as they are, a category as its position in the schema's list, NaN for
a missing value. See README.md in this folder for how to bring your own data and model.
"""

from project_model.distributed import distributed
from project_model.estimator import Fitted, explain, fit, load, predict, save, small_batch
from project_model.hyperparameters import Hyperparameters
from project_model.schema import BIAS, SCHEMA

__all__ = [
    "BIAS",
    "SCHEMA",
    "Fitted",
    "Hyperparameters",
    "distributed",
    "explain",
    "fit",
    "load",
    "predict",
    "save",
    "small_batch",
]
