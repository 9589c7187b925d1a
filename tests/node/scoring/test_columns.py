"""The column container and holder answers: round trips, and every malformed form refused."""

from __future__ import annotations

import numpy as np
import pytest

from node.scoring import columns
from node.scoring.answers import Answer, MalformedAnswer


def _answer(n: int = 3) -> Answer:
    header = {
        "id": "q1",
        "error": "",
        "version": "m@2",
        "kind": "logistic",
        "details": ["daily cap"],
        "flag_codes": ["GOV-X"],
        "categories": ["GOV-TAX"],
    }
    arrays = {"status": np.array([0, 3, 1][:n], np.uint8),
              "detail": np.array([-1, 0, -1][:n], np.int16),
              "flags": np.array([[True], [False], [False]][:n]),
              "score": np.array([0.5, 0.0, 0.0][:n]),
              "reason_codes": np.array([[0], [-1], [-1]][:n], np.int16),
              "reason_values": np.array([[0.4], [0.0], [0.0]][:n])}  # fmt: skip
    return Answer(header, arrays)


def test_columns_round_trip_with_their_dtypes_and_shapes() -> None:
    # prepare
    arrays = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": np.array([1.5, -2.0]),
              "c": np.array(["x", "yz"]), "d": np.zeros((0, 4), np.bool_)}  # fmt: skip
    # execute
    header, back = columns.unpack(columns.pack({"k": [1, "two"]}, arrays))
    # assert
    assert header == {"k": [1, "two"]}
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and (back[name] == array).all()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],  # truncated
        lambda b: b + b"\x00",  # bytes left over
        lambda b: b"J" + b[1:],  # another format
        lambda b: b[:1] + b"\x09" + b[2:],  # another version
        lambda b: b[:2] + (10**6).to_bytes(4, "little") + b[6:],  # header length too long
        lambda b: b[:6] + b"x" + b[7:],  # header not JSON
    ],
)
def test_malformed_containers_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    data = columns.pack({"k": 1}, {"a": np.arange(4)})
    with pytest.raises(columns.MalformedColumns):
        columns.unpack(mutate(data))


def test_objects_neither_pack_nor_unpack() -> None:
    with pytest.raises(TypeError):
        columns.pack({}, {"a": np.array([object()])})
    forged = columns.pack({}, {"a": np.arange(2)}).replace(b"<i8", b"|O8")
    with pytest.raises(columns.MalformedColumns):
        columns.unpack(forged)


def test_an_answer_round_trips_slices_and_becomes_replies() -> None:
    answer = Answer.from_bytes(_answer().to_bytes())
    part = answer.rows(1, 3)
    replies = answer.replies("government")
    assert len(part) == 2 and part.arrays["status"].tolist() == [3, 1]
    assert replies.row(0).reasons == (("GOV-TAX", 0.4),) and replies.row(0).flags == ("GOV-X",)
    assert replies.row(1).status == "refused" and replies.row(1).detail == "daily cap"


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("status", np.array([0, 9, 1], np.uint8), "status codes"),
        ("detail", np.array([-1, 5, -1], np.int16), "detail codes"),
        ("score", np.array([np.nan, 0.0, 0.0]), "not finite"),
        ("reason_codes", np.array([[3], [-1], [-1]], np.int16), "reason codes"),
        ("flags", np.zeros((3, 2), np.bool_), "flags"),
        ("score", np.zeros(2), "different lengths"),
    ],
)
def test_answers_that_do_not_fit_are_refused(column: str, value: np.ndarray, problem: str) -> None:
    good = _answer()
    bad = Answer(good.header, {**good.arrays, column: value})
    with pytest.raises(MalformedAnswer, match=problem):
        Answer.from_bytes(bad.to_bytes())
    with pytest.raises(MalformedAnswer, match="answers for"):
        good.check(4)
