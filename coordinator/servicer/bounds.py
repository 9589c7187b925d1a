"""Size, count and nesting bounds on what callers send the coordinator, checked before parsing.

Parsers recurse (``json``) or slow down quadratically (PyYAML on deep flow collections), so an
unbounded document is a way to crash a call or burn the coordinator's CPU. Each check here is
linear in the input and runs before the real parser sees it.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import yaml

from coordinator.servicer.limits import Limits
from node.state import InvalidIdentifier, check_identifier
from protos.fedcredit.v1 import common_pb2


class OutOfBounds(Exception):
    """A request exceeds a documented limit; ``code`` is the status to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _too_big(what: str, size: int, limit: int, setting: str) -> OutOfBounds:
    return OutOfBounds(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"{what} is {size} bytes; the limit is {limit} ({setting})",
    )


def _too_deep(what: str, limit: int) -> OutOfBounds:
    return OutOfBounds(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{what} nests deeper than {limit} levels (limits.max_nesting); flatten it",
    )


def _bracket_depth(text: str, limit: int) -> bool:
    """Whether ``[``/``{`` nest beyond ``limit`` outside quoted strings (linear, conservative).

    Brackets inside YAML plain scalars are counted too, so the estimate can only be too high:
    a document it passes is within the limit.
    """
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth = max(0, depth - 1)
    return False


def check_json(what: str, text: str, max_bytes: int, setting: str, limits: Limits) -> None:
    """Refuse a JSON document over ``max_bytes`` or nested deeper than the limit."""
    size = len(text.encode())
    if size > max_bytes:
        raise _too_big(what, size, max_bytes, setting)
    if _bracket_depth(text, limits.max_nesting):
        raise _too_deep(what, limits.max_nesting)


def check_job_file(spec_yaml: bytes, limits: Limits) -> None:
    """Refuse a job file that is too big, too deep, or uses YAML aliases.

    Aliases are refused because a job file has no use for them and they let a small document
    expand into a huge one once converted.
    """
    if len(spec_yaml) > limits.max_job_file_bytes:
        raise _too_big(
            "the job file", len(spec_yaml), limits.max_job_file_bytes, "limits.max_job_file_bytes"
        )
    try:
        text = spec_yaml.decode()
    except UnicodeDecodeError:
        raise OutOfBounds(grpc.StatusCode.INVALID_ARGUMENT, "the job file is not UTF-8") from None
    if _bracket_depth(text, limits.max_nesting):
        raise _too_deep("the job file", limits.max_nesting)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise OutOfBounds(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "the job file uses a YAML alias (*name); write the value out instead",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.max_nesting:
                    raise _too_deep("the job file", limits.max_nesting)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # not YAML at all: the job-file parser says so with its own message


MAX_LABEL_CHARS = 128


def _check_label(kind: str, value: str) -> None:
    """A name that never becomes a path (a field name): bounded, printable, one line."""
    if not 0 < len(value) <= MAX_LABEL_CHARS or not value.isprintable():
        raise OutOfBounds(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"a {kind} must be 1-{MAX_LABEL_CHARS} printable characters",
        )


def check_registration(datasets: Sequence[common_pb2.DatasetInfo], limits: Limits) -> None:
    """Refuse dataset metadata beyond the registration limits (it goes to every ListNodes)."""
    if len(datasets) > limits.max_datasets:
        raise OutOfBounds(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{len(datasets)} datasets registered; the limit is {limits.max_datasets} "
            "(limits.max_datasets)",
        )
    size = sum(d.ByteSize() for d in datasets)
    if size > limits.max_registration_bytes:
        # INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: registering again will not fit it in.
        raise OutOfBounds(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the dataset metadata is {size} bytes; the limit is "
            f"{limits.max_registration_bytes} (limits.max_registration_bytes)",
        )
    try:
        for d in datasets:
            check_identifier("dataset name", d.name)
            if len(d.fields) > limits.max_fields_per_dataset:
                raise OutOfBounds(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"dataset {d.name} has {len(d.fields)} fields; the limit is "
                    f"{limits.max_fields_per_dataset} (limits.max_fields_per_dataset)",
                )
            for f in d.fields:
                _check_label("field name", f.name)
                if len(f.purposes) > limits.max_purposes_per_field:
                    raise OutOfBounds(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"field {d.name}.{f.name} lists {len(f.purposes)} purposes; the limit "
                        f"is {limits.max_purposes_per_field} (limits.max_purposes_per_field)",
                    )
    except InvalidIdentifier as exc:
        raise OutOfBounds(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
