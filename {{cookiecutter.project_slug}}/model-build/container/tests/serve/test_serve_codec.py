"""Request decoding and response encoding: fast, no server."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model_container.serve import codec
from model_container.serve.codec import RequestError

FEATURES = ("Age", "Shape", "Margin", "Density")


def rejects(status: int, fn, *args) -> str:
    with pytest.raises(RequestError) as info:
        fn(*args)
    assert info.value.status == status
    assert "\n" not in info.value.message
    return info.value.message


# --- CSV ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"45,2,3,1", [[45, 2, 3, 1]]),
        (b"45,2,3,1\n", [[45, 2, 3, 1]]),
        (b"45,2,3,1\r\n50.5,1,1,4\r\n", [[45, 2, 3, 1], [50.5, 1, 1, 4]]),
        (b",2,,1", [[math.nan, 2, math.nan, 1]]),
        (b"45,,,", [[45, math.nan, math.nan, math.nan]]),
        (b",,,", [[math.nan] * 4]),
        (b"1,2,3,4\n\n5,6,7,8\n", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        (b"1e1, 2 ,3,-4", [[10, 2, 3, -4]]),
        (b"nan,2,3,4", [[math.nan, 2, 3, 4]]),
    ],
)
def test_csv_parses_rows_with_missing_fields(body: bytes, expected: list) -> None:
    rows = codec.parse_csv(body, 4)
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(rows, np.array(expected, dtype=np.float32))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"1,2,3", "row 1 has 3 columns; expected 4"),
        (b"1,2,3,4,5", "row 1 has 5 columns; expected 4"),
        (b"1,2,3,4\n1,2,3", "row 2 has 3 columns; expected 4"),
        (b"Age,Shape,Margin,Density\n1,2,3,4", "row 1, column 1: 'Age' is not a number"),
        (b"1,2,x3,4", "row 1, column 3: 'x3' is not a number"),
        (b'"1",2,3,4', "row 1, column 1: '\"1\"' is not a number"),
        (b"1;2;3;4", "row 1 has 1 columns; expected 4"),
        (b"", "body is empty"),
        (b" \n\r\n", "body is empty"),
        (b"\xff\xfe1,2,3,4", "not UTF-8"),
        (b"1,2,3,inf", "row 1, column 4: value is infinite"),
        (b"1,2,3,4\n1,1e39,3,4", "row 2, column 2: value is infinite or too large"),
    ],
)
def test_csv_rejects_bad_bodies_with_a_named_problem(body: bytes, fragment: str) -> None:
    assert fragment in rejects(400, codec.parse_csv, body, 4)


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 30), st.just(4)),
        elements=st.floats(-1e6, 1e6, width=32) | st.just(math.nan),
    )
)
def test_csv_round_trips_any_float32_matrix(rows: np.ndarray) -> None:
    text = "\n".join(",".join("" if math.isnan(v) else repr(float(v)) for v in row) for row in rows)
    np.testing.assert_array_equal(codec.parse_csv(text.encode(), 4), rows)


# --- JSON and JSON lines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        {"instances": [[45, 2, None, 1]]},
        {"instances": [{"features": [45, 2, None, 1]}]},
        {"instances": [{"Age": 45, "Shape": 2, "Density": 1}]},
        {"instances": [{"Density": 1, "Age": 45.0, "Shape": 2, "Margin": None}]},
    ],
)
def test_json_instance_forms_agree(doc: dict) -> None:
    rows = codec.parse_json(orjson.dumps(doc), FEATURES)
    np.testing.assert_array_equal(rows, np.array([[45, 2, math.nan, 1]], dtype=np.float32))


def test_json_many_instances_keep_their_order() -> None:
    body = orjson.dumps({"instances": [[1, 2, 3, 4], {"Age": 5}, [9, 10, 11, 12]]})
    expected = [[1, 2, 3, 4], [5, math.nan, math.nan, math.nan], [9, 10, 11, 12]]
    np.testing.assert_array_equal(codec.parse_json(body, FEATURES), np.array(expected, np.float32))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "body is not valid JSON"),
        (b"[[1,2,3,4]]", 'must be an object {"instances": [...]}; got list'),
        (b'{"rows": [[1,2,3,4]]}', 'must be an object {"instances": [...]}'),
        (b'{"instances": []}', '"instances" must be a non-empty list'),
        (b'{"instances": [[1,2,3]]}', "instance 1 has 3 values; expected 4"),
        (b'{"instances": [[1,2,3,4],[1,2,"3",4]]}', "instance 2, value 3: '3' is not a number"),
        (b'{"instances": [[1,2,true,4]]}', "instance 1, value 3: True is not a number"),
        (b'{"instances": [[1,2,[3],4]]}', "instance 1, value 3: [3] is not a number"),
        (b'{"instances": [{"Age": 1, "BI-RADS": 4}]}', "instance 1: unknown feature 'BI-RADS'"),
        (b'{"instances": [7]}', "instance 1 is int; expected a list of 4 numbers"),
        (b'{"instances": [[1,2,3,1e39]]}', "value is infinite or too large"),
    ],
)
def test_json_rejects_bad_bodies_with_a_named_problem(body: bytes, fragment: str) -> None:
    assert fragment in rejects(400, codec.parse_json, body, FEATURES)


def test_jsonlines_reads_one_instance_per_line() -> None:
    body = b'[1,2,3,4]\n\n{"features": [5,6,7,8]}\n{"Age": 9}\n'
    expected = [[1, 2, 3, 4], [5, 6, 7, 8], [9, math.nan, math.nan, math.nan]]
    np.testing.assert_array_equal(
        codec.parse_jsonlines(body, FEATURES), np.array(expected, np.float32)
    )


def test_jsonlines_names_the_bad_line() -> None:
    assert "line 2 is not valid JSON" in rejects(
        400, codec.parse_jsonlines, b"[1,2,3,4]\n[1,2", FEATURES
    )
    assert "line 2 has 2 values" in rejects(
        400, codec.parse_jsonlines, b"[1,2,3,4]\n[1,2]", FEATURES
    )


def test_unknown_content_type_is_415() -> None:
    message = rejects(415, codec.parse, "application/x-npy", b"1", FEATURES)
    assert "'application/x-npy' is not supported; allowed: text/csv" in message


# --- categorical features -------------------------------------------------------------------------------

SHAPES = ("round", "oval", "lobular", "irregular")
CODES = codec.codes_of({"Shape": SHAPES})


def test_codes_of_numbers_the_categories_in_order() -> None:
    assert CODES == {"Shape": {"round": 0.0, "oval": 1.0, "lobular": 2.0, "irregular": 3.0}}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (codec.CSV, b"45,oval,3,1\n50,,1,\n"),
        (codec.CSV, b'45,"oval",3,1\r\n50,,1,'),
        (codec.JSON, b'{"instances": [[45, "oval", 3, 1], {"Age": 50, "Margin": 1}]}'),
        (codec.JSON, b'{"instances": [{"features": [45, "oval", 3, 1]}, [50, null, 1, null]]}'),
        (codec.JSONLINES, b'[45, "oval", 3, 1]\n{"Age": 50, "Shape": null, "Margin": 1}\n'),
    ],
)
def test_a_categorical_feature_is_read_as_its_code(content_type: str, body: bytes) -> None:
    rows = codec.parse(content_type, body, FEATURES, CODES)
    assert rows.dtype == np.float32
    expected = [[45, 1, 3, 1], [50, math.nan, 1, math.nan]]
    np.testing.assert_array_equal(rows, np.array(expected, dtype=np.float32))


@pytest.mark.parametrize(
    ("content_type", "body", "fragment"),
    [
        (
            codec.CSV,
            b"45,oval,3,1\n45,square,3,1",
            "row 2, column 2 (Shape): 'square' is not a category",
        ),
        (codec.CSV, b"45,1,3,1", "row 1, column 2 (Shape): '1' is not a category"),
        (codec.CSV, b"45,oval,x,1", "row 1, column 3 (Margin): 'x' is not a number"),
        (codec.CSV, b"45,oval,3", "row 1 has 3 columns; expected 4"),
        (
            codec.JSON,
            b'{"instances": [[45, "square", 3, 1]]}',
            "instance 1, value 2 (Shape): 'square' is not a category",
        ),
        (
            codec.JSON,
            b'{"instances": [{"Shape": 2.5}]}',
            "instance 1, value 2 (Shape): 2.5 is not a category; send a string or null",
        ),
        (
            codec.JSONLINES,
            b'{"Shape": "Oval"}',
            "line 1, value 2 (Shape): 'Oval' is not a category",
        ),
    ],
)
def test_an_unknown_category_is_400_naming_value_and_categories(
    content_type: str, body: bytes, fragment: str
) -> None:
    message = rejects(400, codec.parse, content_type, body, FEATURES, CODES)
    assert fragment in message
    if "is not a category;" in message and "send a string" not in message:
        assert "allowed: round, oval, lobular, irregular or empty" in message


def test_without_codes_a_category_is_not_a_number() -> None:
    assert "'oval' is not a number" in rejects(
        400, codec.parse, codec.CSV, b"45,oval,3,1", FEATURES
    )


# --- content negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/csv", "text/csv"),
        ("Text/CSV; charset=utf-8", "text/csv"),
        ("application/x-jsonlines", "application/jsonlines"),
        ("", ""),
        (None, ""),
    ],
)
def test_media_type_normalises(header: str | None, expected: str) -> None:
    assert codec.media_type(header) == expected


@pytest.mark.parametrize(
    ("accept", "content_type", "expected"),
    [
        (None, "text/csv", "text/csv"),
        ("*/*", "application/json", "application/json"),
        ("application/json", "text/csv", "application/json"),
        ("image/png, text/csv;q=0.5", "application/json", "text/csv"),
        ("text/*", "application/json", "text/csv"),
        ("application/*", "text/csv", "application/json"),
        ("application/jsonlines", "text/csv", "application/jsonlines"),
    ],
)
def test_accept_negotiation(accept: str | None, content_type: str, expected: str) -> None:
    assert codec.negotiate_accept(accept, content_type) == expected


def test_unsupported_accept_is_406() -> None:
    assert "Accept 'image/png' is not supported" in rejects(
        406, codec.negotiate_accept, "image/png", "text/csv"
    )


# --- encoding ------------------------------------------------------------------------------------------


SCORES = np.array([0.25, 0.5, 0.7312345, 1e-5, 1.0, 3.4e-8], dtype=np.float32)


def test_csv_response_is_one_exact_score_per_line() -> None:
    text = codec.encode("text/csv", SCORES, 0.5).decode()
    lines = text.splitlines()
    assert len(lines) == len(SCORES) and text.endswith("\n")
    np.testing.assert_array_equal(np.array(lines, dtype=np.float32), SCORES)


def test_json_response_has_scores_and_labels_at_the_threshold() -> None:
    doc = orjson.loads(codec.encode("application/json", SCORES, 0.5))
    assert [p["label"] for p in doc["predictions"]] == [0, 1, 1, 0, 1, 0]
    np.testing.assert_array_equal(
        np.array([p["score"] for p in doc["predictions"]], dtype=np.float32), SCORES
    )
    assert [
        p["label"]
        for p in orjson.loads(codec.encode("application/json", SCORES, 0.6))["predictions"]
    ] == [0, 0, 1, 0, 1, 0]


def test_jsonlines_response_is_one_object_per_line() -> None:
    lines = codec.encode("application/jsonlines", SCORES, 0.5).decode().splitlines()
    assert [orjson.loads(line)["label"] for line in lines] == [0, 1, 1, 0, 1, 0]
    scores = [orjson.loads(line)["score"] for line in lines]
    np.testing.assert_array_equal(np.array(scores, dtype=np.float32), SCORES)


def test_scores_of_any_array_layout_are_encoded() -> None:
    strided = np.repeat(SCORES, 2)[::2]  # not contiguous, as a view of a larger result can be
    assert codec.encode("text/csv", strided, 0.5) == codec.encode("text/csv", SCORES, 0.5)
    doubles = SCORES.astype(np.float64)
    assert codec.encode("text/csv", doubles, 0.5) == codec.encode("text/csv", SCORES, 0.5)


def test_error_body_is_json_naming_the_problem() -> None:
    assert orjson.loads(codec.error_body(413, "too big")) == {"error": "too big", "status": 413}
