"""The bias facet's value of each merged row, read from the captured request during the merge.

The bias drift check needs the facet feature of every merged row, in the merge's order. The common
request (one CSV row, the facet field a plain number or a known category) is read here with one
split; anything else (JSON, several rows, quoted or missing fields, a row of another width) goes
through the drift monitor's reader for that one record, so both read a value the same way. A row
the reader drops (another width) gets NaN, which the bias metrics leave out of both groups.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from model_container.monitor.reader import read_capture_lines
from model_container.monitor.rows import ReadSummary
from model_container.serve.codec import Codes


@dataclass(frozen=True)
class FacetField:
    """Where the facet is in a request row: the model's features, its position, category codes."""

    features: tuple[str, ...]
    index: int
    codes: Codes  # {feature: {category: code}}: the categorical features, as the reader takes them

    @functools.cached_property
    def categories(self) -> dict[str, float] | None:
        return self.codes.get(self.features[self.index])

    def one(self, record: dict, line: bytes) -> float:
        """The facet of a record whose answer is one score (its request is one row)."""
        request = record["captureData"].get("endpointInput")
        if type(request) is not dict:  # no request captured: the quality check still counts it
            return math.nan
        data = request.get("data")
        if request.get("encoding") == "CSV" and type(data) is str and "\n" not in data.strip():
            fields = data.split(",")
            if len(fields) == len(self.features):
                text = fields[self.index]
                categories = self.categories
                if categories is not None:
                    code = categories.get(text)
                    if code is not None:
                        return code
                else:
                    try:
                        value = float(text)
                    except ValueError:
                        pass
                    else:
                        return value if math.isfinite(value) else math.nan
        return self.many(line, 1)[0]

    def many(self, line: bytes, rows: int) -> list[float]:
        """The facet of each of a record's ``rows`` rows (all NaN if the reader reads another count)."""
        chunks = read_capture_lines(
            [("merged", [line])], list(self.features), ReadSummary(), codes=self.codes
        )
        values = [float(v) for chunk in chunks for v in chunk.values[:, self.index]]
        return values if len(values) == rows else [math.nan] * rows
