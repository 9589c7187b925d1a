"""The base of every file-format model, and the reading of a mapping into one.

A format is a tree of ``FileModel`` classes. Each field says its type, default, constraints
(``Field(ge=..., le=...)``, ``OneOf(...)``) and, in ``description``, what it is for; the
reference docs are generated from exactly that. Rules that span fields live in validators
that raise ``Invalid(problem, fix)``. ``validate`` turns pydantic's refusal into ``SpecError``
with the dotted path of the offending key and a fix, so a user reads one line like
``job file vertical.model.epochs: must be >= 1; e.g. 50``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import annotated_types
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, core_schema

from node.validation.errors import SpecError

M = TypeVar("M", bound="FileModel")


class FileModel(BaseModel):
    """A section of a file: unknown keys, loose types and NaN are refused.

    ``strict``: ``true`` is not 1, ``"3"`` is not 3, ``1`` is not ``true`` — a file means
    what it says (an integer is still accepted where a number is asked for). Lists are read
    as lists; a model converts them to tuples where it builds the domain object.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,
    )


class Invalid(ValueError):
    """Raised by a validator: what is wrong and how to fix it, optionally under a sub-key.

    ``key`` is appended to the location of the validator (a model validator of
    ``vertical.model`` raising ``Invalid(..., key="batch_size")`` names
    ``vertical.model.batch_size``); dots in it separate further levels.
    """

    def __init__(self, problem: str, fix: str = "", *, key: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.key = key


@dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(CHOICES)]``: the value must be one of ``choices``.

    The choices live in the code that gives them meaning (``OPTIMIZERS``, ``MODES``), so a new
    one needs no change here; the reference docs list them.
    """

    choices: tuple[str, ...]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, value: str) -> str:
        if value not in self.choices:
            raise Invalid(f"must be one of {', '.join(self.choices)}", f"e.g. {self.choices[0]}")
        return value


def validate(
    model: type[M],
    raw: object,
    *,
    source: str,
    key: str = "",
    context: Mapping[str, Any] | None = None,
    error: type[SpecError] = SpecError,
) -> M:
    """Read ``raw`` (a YAML mapping, ``None`` for an absent section) into ``model``.

    Parameters
    ----------
    source:
        The file, for the message (``"job file"``, the config's path).
    key:
        Where ``raw`` sits in the file (``"vertical"``); prefixed to every error's key.
    context:
        Passed to the model's validators (e.g. the job's parties).
    error:
        The format's own subclass of ``SpecError`` to raise (``JobSpecError``, whose
        coordinator answer is catalogued).

    Raises
    ------
    SpecError
        The first thing wrong, with its key's dotted path and a fix (as ``error``).
    """
    try:
        return model.model_validate({} if raw is None else raw, context=dict(context or {}))
    except ValidationError as exc:
        where, problem, fix = _explain(model, exc, key)
        raise error(source, problem, key=where, fix=fix) from None


def _explain(model: type[FileModel], exc: ValidationError, root: str) -> tuple[str, str, str]:
    """The first error as (key, problem, fix)."""
    error = exc.errors(include_url=False, include_input=False)[0]
    loc = _without_union_tags(model, list(error["loc"]))
    kind = error["type"]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        return _join(root, loc, cause.key), cause.problem, cause.fix
    field = _field_at(model, loc)
    example = _example(field)
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = sorted(_keys(owner)) if owner is not None else []
        typo = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        fix = f"did you mean {typo[0]!r}?" if typo else "remove it"
        return _join(root, loc), "unknown key", f"{fix} (allowed: {', '.join(allowed)})"
    known = _PROBLEMS.get(kind)
    problem = (known[0] if known else _constraint_problem(kind, error.get("ctx") or {})) or error[
        "msg"
    ].lower()
    fix = known[1] if known and known[1] else ""
    if not fix:
        fix = f"e.g. {example}" if example else "see the format's page in docs/reference"
    return _join(root, loc), problem, fix


_PROBLEMS: dict[str, tuple[str, str | None]] = {
    "missing": ("is missing", None),
    "int_type": ("must be an integer", None),
    "int_from_float": ("must be an integer", None),
    "float_type": ("must be a number", None),
    "finite_number": ("must be a finite number", None),
    "bool_type": ("must be true or false", "write true or false (unquoted)"),
    "string_type": ("must be text", None),
    "list_type": ("must be a list", None),
    "tuple_type": ("must be a list", None),
    "dict_type": ("must be a mapping", "write key: value pairs under it"),
    "model_type": ("must be a mapping", "write key: value pairs under it"),
    "model_attributes_type": ("must be a mapping", "write key: value pairs under it"),
    "dataclass_type": ("must be a mapping", "write key: value pairs under it"),
    "too_short": ("must not be empty", "add one"),
}


def _constraint_problem(kind: str, ctx: Mapping[str, Any]) -> str | None:
    words = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
        "too_long": "must have at most {max_length} entries",
    }
    template = words.get(kind)
    return template.format(**{k: yaml_text(v) for k, v in ctx.items()}) if template else None


def _without_union_tags(model: type[FileModel], loc: list[Any]) -> list[Any]:
    """``loc`` without the member names pydantic inserts after a union field.

    ``batch_size: int | Literal["auto"]`` refused reports ``('batch_size', 'constrained-int')``;
    the user wrote ``batch_size``.
    """
    out: list[Any] = []
    current: type[FileModel] | None = model
    parts = iter(loc)
    for part in parts:
        out.append(part)
        fields = _by_key(current) if current is not None else {}
        if isinstance(part, str) and part in fields:
            annotation = fields[part].annotation
            if _is_union(annotation):
                next(parts, None)
            current = model_of(annotation)
    return out


def _is_union(annotation: Any) -> bool:
    """A union of two or more types besides ``None`` (``X | None`` is not tagged)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    return len([a for a in typing.get_args(annotation) if a is not type(None)]) > 1


def _join(root: str, loc: list[Any], extra: str = "") -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if extra:
        out += f".{extra}" if out else extra
    return out


def _keys(model: type[FileModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def model_of(annotation: Any) -> type[FileModel] | None:
    """The ``FileModel`` in an annotation: ``X``, ``X | None``, ``list[X]``, ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, FileModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        for arg in typing.get_args(annotation):
            found = model_of(arg)
            if found is not None:
                return found
    return None


def _model_at(model: type[FileModel], loc: list[Any]) -> type[FileModel] | None:
    current: type[FileModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int) or part not in _by_key(current):
            continue  # a list index or a mapping key: the same model further down
        current = model_of(_by_key(current)[part].annotation)
    return current


def _by_key(model: type[FileModel]) -> dict[str, FieldInfo]:
    return {f.alias or name: f for name, f in model.model_fields.items()}


def _field_at(model: type[FileModel], loc: list[Any]) -> FieldInfo | None:
    if not loc:
        return None
    owner = _model_at(model, loc[:-1])
    return _by_key(owner).get(str(loc[-1])) if owner is not None else None


def _example(field: FieldInfo | None) -> str:
    """``e.g.`` text for a field: its first example, else its default."""
    if field is None:
        return ""
    if field.examples:
        return yaml_text(field.examples[0])
    if field.default is not PydanticUndefined and field.default is not None:
        return yaml_text(field.default)
    return ""


def yaml_text(value: object) -> str:
    """``value`` as it is written in YAML (``true``, ``0.5``, ``[a, b]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    return str(value)


def constraints(field: FieldInfo) -> list[str]:
    """The field's constraints in words, for the reference docs."""
    out: list[str] = []
    for meta in field.metadata:
        if isinstance(meta, OneOf):
            out.append("one of " + ", ".join(meta.choices))
        elif isinstance(meta, annotated_types.Ge):
            out.append(f">= {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            out.append(f"> {meta.gt}")
        elif isinstance(meta, annotated_types.Le):
            out.append(f"<= {meta.le}")
        elif isinstance(meta, annotated_types.Lt):
            out.append(f"< {meta.lt}")
        elif isinstance(meta, annotated_types.MinLen) and meta.min_length:
            out.append("non-empty" if meta.min_length == 1 else f"at least {meta.min_length}")
        elif isinstance(meta, annotated_types.MaxLen):
            out.append(f"at most {meta.max_length} entries")
    return out
