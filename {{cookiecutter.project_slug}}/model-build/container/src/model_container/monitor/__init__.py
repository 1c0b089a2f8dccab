"""Data-drift monitor of our own (SageMaker Model Monitor is closed to new customers).

``python3 -m model_container.monitor`` reads SageMaker data-capture files for a time window (from a
folder or straight from S3) or a batch transform's CSV input, computes Model-Monitor-compatible
statistics in bounded memory, checks them against the baseline the ``baselines`` step wrote (from a
folder or the newest Approved model package), and writes ``statistics.json``,
``constraint_violations.json`` (Model Monitor's documented files), ``extension_violations.json``
(our own checks), ``metrics.json``, ``summary.json`` and ``report.html``; with
``--feature-attribution`` also Clarify's feature attribution drift check (``attribution.py``). Exit
status: 0 no violations, ``--violation-status`` (default 2) violations, 1 error.
"""
