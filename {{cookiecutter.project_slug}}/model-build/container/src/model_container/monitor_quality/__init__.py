"""Model-quality monitor of our own (SageMaker Model Monitor is closed to new customers).

``python3 -m model_container.monitor_quality`` merges a window's captured predictions with the
ground-truth labels uploaded for them (Model Monitor's record format and join), computes the
binary-classification metrics the Evaluate step reports, checks them against the model-quality
constraints registered with the model and writes Model Monitor's ``statistics.json`` and
``constraint_violations.json``, plus ``metrics.json``, ``summary.json`` and
``merged/part-NNNNN.jsonl`` (the merged records, one file per task of the merge). Exit status: 0 no
violations, ``--violation-status`` (default 2) violations, 1 error.
"""
