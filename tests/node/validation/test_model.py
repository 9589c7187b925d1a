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


class Circle(FileModel):
    """One member of a union told apart by ``type``."""

    type: Literal["circle"] = "circle"
    radius: float = Field(1.0, gt=0)


class Square(FileModel):
    """The other member."""

    type: Literal["square"] = "square"
    side: float = 1.0


class Drawing(FileModel):
    """Shapes by name, each one of the union's members."""

    shapes: dict[str, Annotated[Circle | Square, Field(discriminator="type")]] = Field(
        default_factory=dict
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"shapes": {"a": {"type": "circle", "radius": 0}}},
            "f.yaml shapes.a.radius: must be > 0; e.g. 1",
        ),
        (
            {"shapes": {"a": {"type": "square", "radius": 1}}},
            "f.yaml shapes.a.radius: unknown key; remove it (allowed: side, type)",
        ),
        (
            {"shapes": {"a": {"type": "hexagon"}}},
            "f.yaml shapes.a.type: 'hexagon' is not a known type; use one of: circle, square",
        ),
        ({"shapes": {"a": {"side": 2}}}, "f.yaml shapes.a.type: is missing; e.g. type: circle"),
    ],
)
def test_a_union_member_is_named_by_its_type_not_by_pydantic_tag(raw: object, message: str) -> None:
    with pytest.raises(SpecError) as info:
        validate(Drawing, raw, source="f.yaml")
    assert str(info.value) == message


def test_locate_gives_the_line_of_the_key_path() -> None:
    # prepare: lines by location, as a reader that keeps them (the policy files') knows them
    lines = {("shapes",): 2, ("shapes", "a"): 3, ("shapes", "a", "radius"): 4}
    asked: list[tuple[str | int, ...]] = []

    def locate(loc: object) -> int | None:
        asked.append(tuple(loc))  # type: ignore[arg-type]  # a sequence of keys
        return lines.get(tuple(loc))  # type: ignore[arg-type]

    # execute
    with pytest.raises(SpecError) as info:
        validate(Drawing, {"shapes": {"a": {"radius": -1}}}, source="f.yaml", locate=locate)
    # assert: the union's tag is not part of the location asked about
    assert asked == [("shapes", "a", "type")]
    assert info.value.line is None and str(info.value).startswith("f.yaml shapes.a.type:")
    with pytest.raises(SpecError) as info:
        validate(
            Drawing,
            {"shapes": {"a": {"type": "circle", "radius": -1}}},
            source="f.yaml",
            locate=locate,
        )
    assert info.value.line == 4 and str(info.value).startswith("f.yaml:4 shapes.a.radius:")
