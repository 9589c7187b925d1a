"""Property-based fuzzing of every parser of untrusted input and every RPC of both services.

A *target* is a hypothesis strategy of inputs and a check that runs the real code on one input
and raises ``Crash`` when it misbehaves: a parser raising anything but its documented error,
or an RPC answering ``INTERNAL`` (the error catalog's "unexpected exception"), ``UNKNOWN``,
timing out, or dropping the connection. The RPC targets call a real coordinator and a real
node started in this process on loopback mutual TLS (``InProcessFederation``).

``tests/fuzz/test_fuzz.py`` runs every target briefly with a fixed seed; ``scripts/fuzz.py``
runs one target for a time budget with fresh seeds and prints cases and crashes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

SHORT_TEXT = 40


class Crash(AssertionError):
    """The code under test misbehaved on this input."""


@dataclass
class Stats:
    """What one run of a target did: inputs tried and distinct crashes found."""

    target: str
    cases: int = 0
    crashes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Target:
    """One fuzz target: what to generate and how to check one input."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


def run(
    target: Target, examples: int, seed: int | None = None, until: float | None = None
) -> Stats:
    """Run ``target`` on up to ``examples`` inputs, derandomized unless ``seed`` is given.

    ``until`` (a ``time.monotonic()`` value) skips the remaining inputs once passed.
    """
    stats = Stats(target.name)
    started = time.monotonic()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(target.strategy)
    def prop(value: Any) -> None:
        if until is not None and time.monotonic() > until:
            return
        stats.cases += 1
        target.check(value)

    test = prop if seed is None else hypothesis_seed(seed)(prop)
    try:
        test()
    except Crash as crash:
        stats.crashes.append(str(crash))
    stats.seconds = time.monotonic() - started
    return stats


def run_for(target: Target, seconds: float, batch: int = 200) -> Stats:
    """Run ``target`` with fresh random seeds until ``seconds`` have passed."""
    total = Stats(target.name)
    deadline = time.monotonic() + seconds
    rng = int.from_bytes(os.urandom(4), "big")
    while time.monotonic() < deadline:
        rng += 1
        part = run(target, batch, seed=rng, until=deadline)
        total.cases += part.cases
        total.seconds += part.seconds
        total.crashes += [c for c in part.crashes if c not in total.crashes]
    return total


def expect(exc_types: tuple[type[BaseException], ...], call: Callable[[], Any]) -> None:
    """Run ``call``; only success or one of ``exc_types`` is correct behaviour."""
    try:
        call()
    except exc_types:
        return
    except Exception as exc:  # anything else is the finding
        raise Crash(f"{type(exc).__name__} at {_origin(exc)}") from exc


def _origin(exc: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 3)[-1]}:{frames[-1].lineno}" if frames else "?"


# -- strategies ------------------------------------------------------------------------------

_INTS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
}


def _scalar(fd: FieldDescriptor, names: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    if fd.type == FieldDescriptor.TYPE_STRING:
        return st.one_of(names, st.text(max_size=SHORT_TEXT), st.text(max_size=2000))
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=4096)
    if fd.type in _INTS:
        lo, hi = _INTS[fd.type]
        return st.one_of(st.integers(max(lo, -3), 300), st.integers(lo, hi))
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return st.integers(-1, len(fd.enum_type.values) + 1)
    raise TypeError(f"no strategy for field {fd.full_name}")


def message_strategy(
    cls: type[Message],
    names: st.SearchStrategy[str],
    overrides: dict[str, st.SearchStrategy[Any]] | None = None,
    depth: int = 2,
) -> st.SearchStrategy[Message]:
    """Protobuf messages of ``cls`` with every field drawn, nested up to ``depth``."""
    overrides = overrides or {}
    descriptor: Descriptor = cls.DESCRIPTOR

    def one(fd: FieldDescriptor) -> st.SearchStrategy[Any]:
        if fd.name in overrides:
            return overrides[fd.name]
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            sub = fd.message_type._concrete_class
            if depth <= 0:
                return st.just(sub())
            return message_strategy(sub, names, None, depth - 1)
        return _scalar(fd, names)

    def is_map(fd: FieldDescriptor) -> bool:
        return fd.message_type is not None and fd.message_type.GetOptions().map_entry

    parts: dict[str, st.SearchStrategy[Any]] = {}
    for fd in descriptor.fields:
        if is_map(fd):
            key, value = (
                fd.message_type.fields_by_name["key"],
                fd.message_type.fields_by_name["value"],
            )
            parts[fd.name] = st.dictionaries(_scalar(key, names), one(value), max_size=6)
            continue
        value = one(fd)
        repeated = fd.is_repeated
        parts[fd.name] = st.lists(value, max_size=12) if repeated else value

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        msg = cls()
        for fd in descriptor.fields:
            if fd.name not in overrides and not draw(st.booleans()):
                continue  # leave it unset: missing fields are an input too
            value = draw(parts[fd.name])
            target = getattr(msg, fd.name)
            if is_map(fd):
                for k, v in value.items():
                    if isinstance(v, Message):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif fd.is_repeated:
                if fd.type == FieldDescriptor.TYPE_MESSAGE:
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif fd.type == FieldDescriptor.TYPE_MESSAGE:
                target.CopyFrom(value)
            else:
                setattr(msg, fd.name, value)
        return msg

    return build()


def mutated(valid: bytes) -> st.SearchStrategy[bytes]:
    """Bytes near ``valid``: flipped bytes, truncations, extensions, or anything at all."""

    @st.composite
    def flip(draw: st.DrawFn) -> bytes:
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 4))):
            if data:
                i = draw(st.integers(0, len(data) - 1))
                data[i] = draw(st.integers(0, 255))
        return bytes(data)

    return st.one_of(
        flip(),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.binary(max_size=64).map(lambda tail: valid + tail),
        st.binary(max_size=512),
    )


# -- temporary files for parsers that read files ---------------------------------------------


@contextmanager
def scratch_file(suffix: str, data: bytes) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def json_text() -> st.SearchStrategy[str]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
    tree = st.recursive(
        leaf,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
    return tree.map(json.dumps)


def grpc_check(call: Callable[[], Any], streaming_ok_timeout: bool = False) -> None:
    """Correct behaviour of an RPC: any answer but an unexpected failure or a hang."""
    try:
        call()
    except grpc.RpcError as err:
        code = err.code()  # type: ignore[attr-defined]
        if code is grpc.StatusCode.DEADLINE_EXCEEDED and streaming_ok_timeout:
            return
        if code in (
            grpc.StatusCode.INTERNAL,
            grpc.StatusCode.UNKNOWN,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ):
            details = err.details()  # type: ignore[attr-defined]
            raise Crash(f"{code.name}: {details[:200]}") from None
