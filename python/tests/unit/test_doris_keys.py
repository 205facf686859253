from datetime import timedelta

import pytest

from tests.unit.conftest import T0
from trainplat.doris import validate_feature_key
from trainplat.doris.query import WindowQuery

BAD_KEYS = [
    ("", "empty"),
    ("a" * 65, "longer than 64"),
    ("x'y", "single quote"),
    ("x') OR 1=1 --", "comment starter '--'"),
    ('x"y', "double quote"),
    ("x`y", "backtick"),
    ("`; DROP TABLE feature_snapshots; `", "a backtick"),
    ("a.b", "dot"),
    ("$.a", "dot"),
    ("$a", "'\\$'"),
    ("a$", "'\\$'"),
    ("a b", "whitespace"),
    ("a\tb", "whitespace"),
    ("a\nb", "whitespace"),
    ("a--b", "'--'"),
    ("a/*b", "'/\\*'"),
    ("a*/b", "'\\*/'"),
    ("a#b", "'#'"),
    ("a;b", "semicolon"),
    ("a\\b", "backslash"),
    ("a\x00b", "NUL"),
    ("1abc", "starts with a digit"),
    ("n\u0430me", "non-ASCII character U\\+0430"),  # Cyrillic a
    ("\uff58", "non-ASCII character U\\+FF58"),  # fullwidth x
    ("é", "non-ASCII"),
    ("a-b", "outside \\[A-Za-z0-9_\\]"),
    ("a(b)", "outside"),
    ("a,b", "outside"),
    ("a\u200bb", "non-ASCII character U\\+200B"),  # zero-width space
]


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS)
def test_validate_feature_key_rejects_naming_the_problem(key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_feature_key(key)


@pytest.mark.parametrize("key", ["x", "num_00", "_private", "CamelCase", "a" * 64, "label"])
def test_validate_feature_key_accepts_allowed_keys(key: str) -> None:
    assert validate_feature_key(key) == key


def test_window_query_validates_keys_and_normalises() -> None:
    with pytest.raises(ValueError, match="dot"):
        WindowQuery.build(T0, T0 + timedelta(days=1), feature_keys=["ok", "a.b"])

    query = WindowQuery.build(
        T0, T0 + timedelta(days=1), uuids=["b", "a", "b"], feature_keys=["y", "x"]
    )

    assert query.uuids == ("a", "b")
    assert query.feature_keys == ("x", "y")


def test_window_query_rejects_empty_filter_and_naive_times() -> None:
    with pytest.raises(ValueError, match="empty list"):
        WindowQuery.build(T0, T0 + timedelta(days=1), node_ids=[])
    with pytest.raises(ValueError, match="no timezone"):
        WindowQuery.build(T0.replace(tzinfo=None), T0 + timedelta(days=1))
