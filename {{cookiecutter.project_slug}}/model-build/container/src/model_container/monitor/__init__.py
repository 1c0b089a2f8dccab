"""Data-drift monitor of our own (SageMaker Model Monitor is closed to new customers).

``python3 -m model_container.monitor`` reads SageMaker data-capture files for a time window, computes
Model-Monitor-compatible statistics in bounded memory, checks them against the baseline the
``baselines`` step wrote, and writes ``statistics.json``, ``constraint_violations.json``,
``metrics.json`` and ``report.html``. Exit status: 0 no violations, 2 violations, 1 error.
"""
