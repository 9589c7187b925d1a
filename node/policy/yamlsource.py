"""Read YAML keeping the line of every key and item, so errors can name file, line and key.

``yaml.safe_load`` forgets where values came from. Here the document is composed into
PyYAML's node graph (which carries marks), then built into plain dicts and lists that remember
the 1-based line of each entry. Only the safe tags are constructed (``SafeLoader``), duplicate
keys are refused (plain YAML silently keeps the last one, which would hide a rule), and
anchors/aliases are refused so a file cannot expand into a billion entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from node.policy.exceptions import PolicyFileError


class LMap(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}


class LList(list[Any]):
    """A sequence that remembers its own line and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")
)


def _build(node: yaml.Node, path: Path, key: str, ctor: yaml.constructor.SafeConstructor) -> Any:
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        raise PolicyFileError(
            str(path),
            f"YAML tag {node.tag!r} is not allowed",
            key=key,
            fix="use plain mappings, lists, text, numbers and booleans (quote dates)",
            line=line,
        )
    if isinstance(node, yaml.MappingNode):
        out = LMap(line)
        for k_node, v_node in node.value:
            if not isinstance(k_node, yaml.ScalarNode):
                raise PolicyFileError(
                    str(path),
                    "complex key",
                    key=key,
                    fix="use plain text keys",
                    line=k_node.start_mark.line + 1,
                )
            name = str(ctor.construct_object(k_node))
            here = f"{key}.{name}" if key else name
            if name in out:
                raise PolicyFileError(
                    str(path),
                    f"duplicate key (first at line {out.lines[name]})",
                    key=here,
                    fix="merge the two entries into one",
                    line=k_node.start_mark.line + 1,
                )
            out[name] = _build(v_node, path, here, ctor)
            out.lines[name] = k_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList(line)
        for i, item in enumerate(node.value):
            seq.append(_build(item, path, f"{key}[{i}]", ctor))
            seq.lines.append(item.start_mark.line + 1)
        return seq
    return ctor.construct_object(node)


class _NoAliasComposer(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            raise PolicyFileError(
                str(self.name),
                "YAML aliases are not allowed",
                fix="write the value out in full",
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def _unreadable(path: Path, exc: yaml.reader.ReaderError) -> PolicyFileError:
    """A character YAML does not allow (control characters, a NUL), named by position."""
    return PolicyFileError(
        str(path),
        f"not valid YAML (a non-printable character at offset {exc.position})",
        fix="save the file as plain UTF-8 text without control characters",
    )


def read_located(path: Path, text: str) -> Any:
    """Parse ``text`` (the content of ``path``) into ``LMap``/``LList``/scalars.

    Raises
    ------
    PolicyFileError
        The text is not YAML, is empty, uses aliases, or repeats a key.
    """
    try:
        loader = _NoAliasComposer(text)
    except yaml.reader.ReaderError as exc:  # raised while reading, before any parsing
        raise _unreadable(path, exc) from None
    loader.name = str(path)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem, fix = f"not valid YAML ({exc.problem})", "fix the syntax at that line"
        raise PolicyFileError(str(path), problem, fix=fix, line=line) from None
    except yaml.reader.ReaderError as exc:
        raise _unreadable(path, exc) from None
    finally:
        loader.dispose()
    if root is None:
        raise PolicyFileError(str(path), "the file is empty", fix="write a policy document")
    return _build(root, path, "", yaml.constructor.SafeConstructor())


def line_at(root: Any, loc: Sequence[str | int]) -> int | None:
    """The line of ``loc`` (keys and list indexes) in what ``read_located`` built.

    Where ``loc`` leaves the document (a key that is missing), the line of the deepest entry
    present: a missing ``class`` is reported on its field's line.
    """
    line: int | None = getattr(root, "line", None)
    node = root
    for part in loc:
        in_map = isinstance(node, LMap) and isinstance(part, str) and part in node
        in_list = isinstance(node, LList) and isinstance(part, int) and part < len(node)
        if not (in_map or in_list):
            break
        line, node = node.lines[part], node[part]
    return line
