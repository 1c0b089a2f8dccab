"""Per-feature drift metrics as CloudWatch ``MetricData`` items: always written, published on request.

``FeatureBaselineDrift`` (KS distance; L-infinity of the category shares for a categorical feature)
and ``FeatureCompleteness`` per endpoint and feature, ``ConstraintViolations`` per endpoint (the
violations of every file: documented checks, our extension, feature attribution drift; the alarm that
triggers retraining watches it) and, when the attribution check ran, ``FeatureAttributionNDCG`` per
endpoint (the lowest nDCG of the run's labels; for dashboards, no alarm of its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from model_container.monitor.checks import FeatureResult

PUT_METRIC_DATA_LIMIT = 1000  # items per PutMetricData call


def metric_data(
    endpoint: str,
    results: Sequence[FeatureResult],
    violations: int,
    timestamp: datetime,
    attribution_ndcg: float | None = None,
) -> list[dict[str, Any]]:
    """The ``MetricData`` list of PutMetricData for one monitoring run."""
    endpoint_dimension = {"Name": "Endpoint", "Value": endpoint}
    items: list[dict[str, Any]] = [
        {
            "MetricName": "ConstraintViolations",
            "Dimensions": [endpoint_dimension],
            "Timestamp": timestamp,
            "Value": float(violations),
            "Unit": "Count",
        }
    ]
    if attribution_ndcg is not None:
        items.append(
            {
                "MetricName": "FeatureAttributionNDCG",
                "Dimensions": [endpoint_dimension],
                "Timestamp": timestamp,
                "Value": attribution_ndcg,
                "Unit": "None",
            }
        )
    for result in results:
        dimensions = [endpoint_dimension, {"Name": "Feature", "Value": result.name}]
        items.append(
            {
                "MetricName": "FeatureCompleteness",
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Value": result.completeness,
                "Unit": "None",
            }
        )
        if result.drift is not None:
            items.append(
                {
                    "MetricName": "FeatureBaselineDrift",
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Value": result.drift,
                    "Unit": "None",
                }
            )
    return items


def as_json(namespace: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The metrics file: the PutMetricData request with ISO timestamps."""
    return {
        "Namespace": namespace,
        "MetricData": [{**item, "Timestamp": item["Timestamp"].isoformat()} for item in items],
    }


def publish(namespace: str, items: Sequence[dict[str, Any]], region: str | None = None) -> None:
    """PutMetricData in batches (boto3 is imported only here: the image needs it only to publish)."""
    import boto3  # noqa: PLC0415

    client = boto3.client("cloudwatch", region_name=region)
    for start in range(0, len(items), PUT_METRIC_DATA_LIMIT):
        client.put_metric_data(
            Namespace=namespace, MetricData=list(items[start : start + PUT_METRIC_DATA_LIMIT])
        )
