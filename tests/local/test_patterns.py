"""EventBridge pattern matching."""

from __future__ import annotations

import pytest

from localdev.patterns import matches

EVENT = {
    "version": "0",
    "id": "1",
    "source": "collections.images",
    "detail-type": "ImageUploaded",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::bucket/a", "arn:aws:s3:::bucket/b"],
    "detail": {
        "image": {"key": "u1/photo.JPG", "size": 2048, "tags": ["cat", "dog"]},
        "state": "uploaded",
        "count": 3,
        "flag": True,
        "nothing": None,
        "ip": "10.0.1.7",
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({}, True),
        ({"source": ["collections.images"]}, True),
        ({"source": ["other", "collections.images"]}, True),
        ({"source": ["other"]}, False),
        ({"source": ["collections.images"], "detail-type": ["ImageUploaded"]}, True),
        ({"source": ["collections.images"], "detail-type": ["ImageAnalyzed"]}, False),
        ({"account": ["123456789012"], "region": ["us-east-1"]}, True),
        ({"region": ["eu-west-1"]}, False),
        ({"detail": {"state": ["uploaded"]}}, True),
        ({"detail": {"image": {"key": [{"prefix": "u1/"}]}}}, True),
        ({"detail": {"image": {"key": [{"prefix": "u2/"}]}}}, False),
        ({"detail": {"image": {"key": [{"suffix": ".JPG"}]}}}, True),
        ({"detail": {"image": {"key": [{"suffix": ".jpg"}]}}}, False),
        ({"detail": {"image": {"key": [{"suffix": {"equals-ignore-case": ".jpg"}}]}}}, True),
        ({"detail": {"image": {"key": [{"prefix": {"equals-ignore-case": "U1/"}}]}}}, True),
        ({"detail": {"state": [{"equals-ignore-case": "UPLOADED"}]}}, True),
        ({"detail": {"state": [{"equals-ignore-case": "done"}]}}, False),
        ({"detail": {"state": [{"anything-but": "done"}]}}, True),
        ({"detail": {"state": [{"anything-but": "uploaded"}]}}, False),
        ({"detail": {"state": [{"anything-but": ["done", "uploaded"]}]}}, False),
        ({"detail": {"state": [{"anything-but": {"prefix": "up"}}]}}, False),
        ({"detail": {"state": [{"anything-but": {"prefix": "do"}}]}}, True),
        ({"detail": {"state": [{"anything-but": {"suffix": "ed"}}]}}, False),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),
        ({"detail": {"count": [{"anything-but": [1, 2]}]}}, True),
        ({"detail": {"count": [{"anything-but": 3}]}}, False),
        ({"detail": {"state": [{"exists": True}]}}, True),
        ({"detail": {"state": [{"exists": False}]}}, False),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"missing": [{"exists": True}]}}, False),
        ({"detail": {"count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
        ({"detail": {"count": [{"numeric": [">", 3]}]}}, False),
        ({"detail": {"count": [{"numeric": ["=", 3]}]}}, True),
        ({"detail": {"count": [{"numeric": [">=", 3, "<", 3.5]}]}}, True),
        ({"detail": {"state": [{"numeric": [">", 0]}]}}, False),
        ({"detail": {"flag": [{"numeric": [">", 0]}]}}, False),
        ({"detail": {"count": [3]}}, True),
        ({"detail": {"count": ["3"]}}, False),
        ({"detail": {"flag": [True]}}, True),
        ({"detail": {"flag": [1]}}, False),
        ({"detail": {"nothing": [None]}}, True),
        ({"detail": {"image": {"tags": ["dog"]}}}, True),
        ({"detail": {"image": {"tags": ["bird"]}}}, False),
        ({"detail": {"image": {"tags": [{"prefix": "ca"}]}}}, True),
        ({"resources": [{"suffix": "/b"}]}, True),
        ({"detail": {"image": {"size": [{"numeric": [">", 1000]}], "key": [{"prefix": "u1/"}]}}}, True),
        ({"detail": {"image": {"size": [{"numeric": [">", 1000]}], "key": [{"prefix": "u9/"}]}}}, False),
        ({"detail": {"state": ["uploaded"], "missing": ["x"]}}, False),
        ({"detail": {"state": {"nested": ["x"]}}}, False),
        ({"detail": {"image": {"key": [{"wildcard": "u1/*.JPG"}]}}}, True),
        ({"detail": {"image": {"key": [{"wildcard": "u2/*"}]}}}, False),
        ({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}}, True),
        ({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}}, False),
        ({"$or": [{"source": ["x"]}, {"detail": {"count": [3]}}]}, True),
        ({"$or": [{"source": ["x"]}, {"detail": {"count": [4]}}]}, False),
        ({"detail": {"state": ["done", {"prefix": "up"}]}}, True),
    ],
)
def test_matches(pattern: dict, expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_array_of_objects_in_event() -> None:
    event = {"detail": {"items": [{"kind": "a"}, {"kind": "b"}]}}
    assert matches({"detail": {"items": {"kind": ["b"]}}}, event)
    assert not matches({"detail": {"items": {"kind": ["c"]}}}, event)


def test_unknown_operator_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        matches({"source": [{"regex": "x"}]}, EVENT)
    with pytest.raises(ValueError, match="numeric"):
        matches({"detail": {"count": [{"numeric": [">"]}]}}, EVENT)
