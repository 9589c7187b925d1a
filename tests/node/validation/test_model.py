"""Reading a mapping into a file-format model: every refusal names the key and the fix."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field, model_validator

from node.validation import FileModel, Invalid, OneOf, SpecError, validate


class Inner(FileModel):
    """A nested section."""

    rate: float = Field(0.5, gt=0, le=1)
    mode: Annotated[str, OneOf(("fast", "slow"))] = "fast"


class Outer(FileModel):
    """A root section."""

    name: str = Field(description="A name.", examples=["bank"])
    count: int = 3
    enabled: bool = False
    size: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    inner: Inner = Inner()
    items: list[Inner] = Field(default_factory=list)

    @model_validator(mode="after")
    def _count_fits(self) -> Outer:
        if self.count > 10:
            raise Invalid("is too large", "e.g. 3", key="count")
        return self


def _refusal(raw: object) -> SpecError:
    with pytest.raises(SpecError) as info:
        validate(Outer, raw, source="f.yaml", key="top")
    return info.value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "f.yaml top.name: is missing; e.g. bank"),
        ({"name": "a", "count": True}, "f.yaml top.count: must be an integer; e.g. 3"),
        ({"name": "a", "count": "3"}, "f.yaml top.count: must be an integer; e.g. 3"),
        (
            {"name": "a", "enabled": 1},
            "f.yaml top.enabled: must be true or false; write true or false (unquoted)",
        ),
        ({"name": "a", "size": 0}, "f.yaml top.size: must be >= 1; e.g. auto"),
        ({"name": "a", "inner": {"rate": float("nan")}}, "f.yaml top.inner.rate: must be a finite"),
        ({"name": "a", "inner": {"rate": 2}}, "f.yaml top.inner.rate: must be <= 1; e.g. 0.5"),
        (
            {"name": "a", "inner": {"mode": "warp"}},
            "f.yaml top.inner.mode: must be one of fast, slow; e.g. fast",
        ),
        ({"name": "a", "items": [{}, {"rate": 0}]}, "f.yaml top.items[1].rate: must be > 0"),
        ({"name": "a", "count": 11}, "f.yaml top.count: is too large; e.g. 3"),
        (
            {"name": "a", "inner": {"rat": 1}},
            "f.yaml top.inner.rat: unknown key; did you mean 'rate'? (allowed: mode, rate)",
        ),
        ([1], "f.yaml top: must be a mapping; write key: value pairs under it"),
    ],
)
def test_each_refusal_names_the_key_the_problem_and_the_fix(raw: object, message: str) -> None:
    assert str(_refusal(raw)).startswith(message)


def test_an_integer_is_a_number_and_an_absent_section_its_defaults() -> None:
    # execute
    parsed = validate(Outer, {"name": "a", "inner": {"rate": 1}}, source="f.yaml")
    # assert
    assert parsed.inner.rate == 1.0 and isinstance(parsed.inner.rate, float)
    assert validate(Inner, None, source="f.yaml") == Inner()


def test_the_formats_own_error_class_is_raised() -> None:
    class OwnError(SpecError):
        pass

    with pytest.raises(OwnError) as info:
        validate(Outer, {}, source="f.yaml", error=OwnError)
    assert (info.value.source, info.value.key, info.value.problem) == (
        "f.yaml",
        "name",
        "is missing",
    )
