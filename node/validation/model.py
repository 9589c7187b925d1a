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
import enum
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
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


@dataclass(frozen=True)
class FormatVersion:
    """``Annotated[int, FormatVersion(marker, version)]``: the key that marks a file's format.

    Every versioned file starts with its marker (``fedcredit_policy: 1``); one check, so a
    file of an unknown version reads the same way whichever format it is.
    """

    marker: str
    version: int
    what: str = "the format marker"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, value: int) -> int:
        if value != self.version:
            raise Invalid(
                f"must be {self.version} ({self.what})",
                f"start the file with {self.marker}: {self.version}",
            )
        return value


def as_tuple(value: object) -> object:
    """``BeforeValidator`` of a tuple field: a YAML list read as a tuple (immutable, hashable).

    Anything else is left for the tuple check to refuse (``must be a list``).
    """
    return tuple(value) if isinstance(value, list) else value


def validate(
    model: type[M],
    raw: object,
    *,
    source: str,
    key: str = "",
    context: Mapping[str, Any] | None = None,
    error: type[SpecError] = SpecError,
    locate: Callable[[Sequence[str | int]], int | None] | None = None,
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
    locate:
        The 1-based line of a location inside ``raw`` (keys and list indexes), where the
        reader kept lines (policy files); the error names it.

    Raises
    ------
    SpecError
        The first thing wrong, with its key's dotted path and a fix (as ``error``).
    """
    try:
        return model.model_validate({} if raw is None else raw, context=dict(context or {}))
    except ValidationError as exc:
        parts, problem, fix = _explain(model, exc)
        line = locate(parts) if locate is not None else None
        raise error(source, problem, key=_join(key, parts), fix=fix, line=line) from None


def _explain(model: type[FileModel], exc: ValidationError) -> tuple[list[str | int], str, str]:
    """The first error as (location in the file, problem, fix)."""
    error = exc.errors(include_url=False, include_input=False)[0]
    loc, owner, union = _walk(model, list(error["loc"]))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, Invalid):
        return loc + key_parts(cause.key), cause.problem, cause.fix
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "type")).strip("'")
        tags = str(ctx.get("expected_tags", "")).replace("'", "") or ", ".join(_tags(union, tag))
        first = tags.split(", ")[0]
        if kind == "union_tag_not_found":
            return [*loc, tag], "is missing", f"e.g. {tag}: {first}"
        return [*loc, tag], f"{ctx.get('tag')!r} is not a known {tag}", f"use one of: {tags}"
    field = _by_key(owner).get(str(loc[-1])) if owner is not None and loc else None
    if kind == "extra_forbidden":
        allowed = sorted(_keys(owner)) if owner is not None else []
        typo = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        fix = f"did you mean {typo[0]!r}?" if typo else "remove it"
        return loc, "unknown key", f"{fix} (allowed: {', '.join(allowed)})"
    known = _PROBLEMS.get(kind)
    problem = (known[0] if known else _constraint_problem(kind, ctx)) or error["msg"].lower()
    fix = known[1] if known and known[1] else ""
    if not fix:
        example = _example(field)
        fix = f"e.g. {example}" if example else "see the format's page in docs/reference"
    return loc, problem, fix


def key_parts(key: str) -> list[str | int]:
    """``"rules[2].transform"`` as ``["rules", 2, "transform"]``."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key):
        parts.append(int(index) if index else name)
    return parts


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
        "string_too_short": "must have at least {min_length} characters",
        "string_too_long": "must have at most {max_length} characters",
    }
    template = words.get(kind)
    return template.format(**{k: yaml_text(v) for k, v in ctx.items()}) if template else None


def _walk(
    model: type[FileModel], loc: list[Any]
) -> tuple[list[str | int], type[FileModel] | None, Any]:
    """``loc`` as the user wrote it, the model that owns its last key, and the union it ends
    at (when pydantic could not tell which member was meant).

    pydantic inserts the member's name after a union (``('batch_size', 'constrained-int')``,
    or the tag of a discriminated union: ``('transform', 'mask', 'char')``); the user wrote
    ``batch_size``, ``transform.char``. List indexes and mapping keys stay, and the walk
    follows the item's model past them.
    """
    out: list[str | int] = []
    current: type[FileModel] | None = model
    owner: type[FileModel] | None = model
    parts = iter(loc)
    for part in parts:
        out.append(part)
        owner = current
        fields = _by_key(current) if current is not None else {}
        if not (isinstance(part, str) and part in fields):
            continue
        annotation = fields[part].annotation
        for _ in range(_containers(annotation)):  # list indexes, mapping keys
            key = next(parts, None)
            if key is None:
                break
            out.append(key)
        item = _item(annotation)
        if not _is_union(item):
            current = model_of(item)
            continue
        tag = next(parts, None)
        if tag is None:
            return out, owner, item
        current = _member(item, tag)
    return out, owner, None


def _item(annotation: Any) -> Any:
    """The annotation without ``Annotated``, ``| None`` and list or mapping levels."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _item(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _item(members[0]) if len(members) == 1 else annotation
    if origin in (list, dict) or (origin is tuple and args[-1:] == (Ellipsis,)):
        return _item(args[-1])
    return annotation


def _tags(union: Any, discriminator: str) -> list[str]:
    """The values of the discriminator of a union's members, in the order declared."""
    fields = [m.model_fields.get(discriminator) for m in models_of(union)]
    return [str(f.default) for f in fields if f is not None]


def _member(annotation: Any, tag: object) -> type[FileModel] | None:
    """The model of a union's member named by pydantic's ``tag`` (its ``type`` or its name)."""
    members = models_of(annotation)
    for m in members:
        declared = m.model_fields.get("type")
        if tag in (m.__name__, declared.default if declared is not None else None):
            return m
    return members[0] if members else None


def _containers(annotation: Any) -> int:
    """How many list or mapping levels wrap the annotation's items (``dict[str, X]``: 1)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _containers(args[0])
    if origin in (typing.Union, types.UnionType):
        return max((_containers(a) for a in args), default=0)
    if origin in (list, dict) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return 1 + _containers(args[-1])
    return 0


def _is_union(annotation: Any) -> bool:
    """A union of two or more types besides ``None`` (``X | None`` is not tagged)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    return len([a for a in typing.get_args(annotation) if a is not type(None)]) > 1


def _join(root: str, loc: Sequence[str | int]) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _keys(model: type[FileModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def model_of(annotation: Any) -> type[FileModel] | None:
    """The ``FileModel`` in an annotation: ``X``, ``X | None``, ``list[X]``, ``dict[str, X]``."""
    found = models_of(annotation)
    return found[0] if found else None


def models_of(annotation: Any) -> list[type[FileModel]]:
    """Every ``FileModel`` in an annotation (each member of a union of sections)."""
    if isinstance(annotation, type) and issubclass(annotation, FileModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return models_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        return [m for arg in typing.get_args(annotation) for m in models_of(arg)]
    return []


def _by_key(model: type[FileModel]) -> dict[str, FieldInfo]:
    return {f.alias or name: f for name, f in model.model_fields.items()}


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
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name.lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    return str(value)


def constraints(field: FieldInfo) -> list[str]:
    """The field's constraints in words, for the reference docs."""
    return constraints_of(field.metadata)


def constraints_of(metadata: Iterable[object]) -> list[str]:
    """Constraints (``OneOf``, ``Field(ge=...)``'s bounds) in words, for the reference docs."""
    out: list[str] = []
    for meta in metadata:
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
            out.append(f"length <= {meta.max_length}")
    return out
