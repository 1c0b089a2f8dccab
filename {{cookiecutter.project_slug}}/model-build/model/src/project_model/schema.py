"""The raw data's columns: the UCI Mammographic Mass data set (see model-build/data/README.md).

REPLACE: declare your data's columns here, in file order. A value outside a column's valid values
becomes missing; a label other than ``positive`` or ``negative`` stops the pipeline with the line that
holds it.
"""

from model_container.bias_metrics import BiasConfig, Facet
from model_container.columns import Numeric, Schema

SCHEMA = Schema(
    columns=(
        # BI-RADS is 1-5; the file also holds 0, 6 and one 55 (typing errors), which become missing.
        Numeric("BI-RADS", 1, 5, whole=True),
        # The file holds ages 18-96; accept any plausible human age so new data is not silently blanked.
        Numeric("Age", 1, 120),
        Numeric("Shape", 1, 4, whole=True),  # round, oval, lobular, irregular
        Numeric("Margin", 1, 5, whole=True),  # circumscribed ... spiculated
        Numeric("Density", 1, 4, whole=True),  # high, iso, low, fat-containing
        Numeric("Severity", 0, 1, whole=True),
    ),
    label="Severity",
    positive="1",  # malignant
    negative="0",  # benign
    # The data set's documentation marks the BI-RADS assessment non-predictive: read, not a feature.
    unused=frozenset({"BI-RADS"}),
)

# REPLACE: what you know of your features' direction. With the `monotone` hyperparameter on, the score
# may only rise (1) or only fall (-1) as these grow. Here: codes ordered by suspicion of malignancy,
# and age, a known risk factor. On 961 rows this regularises the trees and lifts the held-out AUC.
MONOTONE = {"Age": 1, "Shape": 1, "Margin": 1}

# REPLACE: the facet the Bias step measures (SageMaker Clarify's bias metrics; None: no facet, and the
# step reports that). Here: patients aged 60 and over (the sensitive group: Age > 59, a model feature;
# a threshold facet is the values above it, as in Clarify)
# against younger ones; the outcome counted is the malignant label "1" (one of SCHEMA's two values),
# predicted when the score is at or above the model's decision threshold (probability_threshold None),
# and the bias drift check flags DPPL or DI more than 0.1 farther from no bias than at training.
BIAS = BiasConfig(
    facet=Facet("Age", threshold=59),
    positive_label="1",
    probability_threshold=None,
    drift_tolerance=0.1,
)
