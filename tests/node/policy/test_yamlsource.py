"""Tests of node.policy.yamlsource: lines are kept, duplicates and aliases refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.policy.exceptions import PolicyFileError
from node.policy.yamlsource import LList, LMap, read_located


def test_lines_of_keys_and_items_are_kept() -> None:
    # prepare
    text = "a: 1\nb:\n  - x\n  - y\nc:\n  d: true\n"
    # execute
    root = read_located(Path("p.yaml"), text)
    # assert
    assert isinstance(root, LMap) and root.lines == {"a": 1, "b": 2, "c": 5}
    assert isinstance(root["b"], LList) and root["b"].lines == [3, 4]
    assert root["c"]["d"] is True and root["c"].lines["d"] == 6


def test_duplicate_key_is_refused_with_both_lines() -> None:
    with pytest.raises(PolicyFileError) as info:
        read_located(Path("p.yaml"), "a: 1\nb: 2\na: 3\n")
    assert info.value.line == 3 and info.value.key == "a"
    assert "first at line 1" in str(info.value)


def test_alias_is_refused() -> None:
    with pytest.raises(PolicyFileError) as info:
        read_located(Path("p.yaml"), "a: &x [1, 2]\nb: *x\n")
    assert info.value.line == 2
    assert "aliases" in info.value.problem


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(PolicyFileError) as info:
        read_located(Path("p.yaml"), "a: 1\nb: [1, 2\nc: 3\n")
    assert info.value.line is not None and info.value.line >= 2
    assert "not valid YAML" in info.value.problem


def test_empty_document_is_refused() -> None:
    with pytest.raises(PolicyFileError, match="empty"):
        read_located(Path("p.yaml"), "# only a comment\n")


def test_python_tags_are_not_constructed() -> None:
    with pytest.raises(PolicyFileError):
        read_located(Path("p.yaml"), "a: !!python/object/apply:os.system ['true']\n")
