"""The settings of one PSI job, parsed once from the job file and checked against its parties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from node.psi.exceptions import PsiSpecError
from node.transport.limits import MAX_PAYLOAD_BYTES

POINT_BYTES: Final = 32
# Room left in a message for its header (version, kind, batch numbers, counts).
_HEADER_ROOM: Final = 64
# Every PSI message stays under the payload bound, so a million ids never need one huge message.
MAX_BATCH: Final = (MAX_PAYLOAD_BYTES - _HEADER_ROOM) // POINT_BYTES
# 32,768 points are 1 MiB: small enough to stream, large enough that a worker task (one
# batch) costs about a second of X25519 and the pickling overhead stays negligible.
DEFAULT_BATCH: Final = 32_768
# A peer that sends nothing for this long is treated as gone. Generous: with a million ids
# the first blinded batch can take a few seconds on a busy two-core node.
DEFAULT_TIMEOUT_S: Final = 120.0
# The coordinator waits for the parties' summaries over the whole run, not one message.
DEFAULT_RUN_TIMEOUT_S: Final = 3600.0

_KEYS: Final = frozenset(
    {
        "leader",
        "require",
        "subsets",
        "cardinality_only",
        "strict",
        "batch_size",
        "timeout_s",
        "id_format",
    }
)
# "uscc": ids are unified social credit codes, checked and upper-cased. "text": any non-empty
# string, stripped only (datasets keyed otherwise, such as the FATE sample ids).
ID_FORMATS: Final = ("uscc", "text")


@dataclass(frozen=True)
class PsiSpec:
    """What every party of one PSI job agrees on (they all parse the same job file).

    Attributes
    ----------
    leader
        The label holder (usually the bank). It aligns with every follower, decides the shared
        row order and learns the sizes; see ``docs/protocols/psi.md``.
    followers
        Every other party of the job, in job-file order.
    required
        The followers a firm must be present at (besides the leader) to be in the main
        result. Defaults to all followers.
    subsets
        Optional extra intersections by name: the leader plus the followers listed. Each is
        delivered to the leader and to the followers it names.
    cardinality_only
        Reveal only the sizes: nobody learns which rows are in the intersection.
    strict
        Refuse to run when any id is not a valid unified social credit code, instead of
        leaving those rows out and reporting their positions.
    batch_size
        Points per message; at most ``MAX_BATCH`` so every message stays under 4 MiB.
    timeout_s
        How long a party waits for any single message before declaring the sender gone.
    run_timeout_s
        How long the coordinator waits for the parties' summaries (the whole run).
    id_format
        ``"uscc"`` (default): unified social credit codes, normalised and checked.
        ``"text"``: any non-empty string, stripped only; for datasets whose schema says
        ``id_is_uscc: false``. Every party must use the same format, so it is a job setting.
    """

    leader: str
    followers: tuple[str, ...]
    required: tuple[str, ...] = ()
    subsets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cardinality_only: bool = False
    strict: bool = False
    batch_size: int = DEFAULT_BATCH
    timeout_s: float = DEFAULT_TIMEOUT_S
    run_timeout_s: float = DEFAULT_RUN_TIMEOUT_S
    id_format: str = "uscc"

    def __post_init__(self) -> None:
        if not self.followers:
            raise PsiSpecError("a PSI job needs a leader and at least one other party")
        if self.leader in self.followers or self.leader == "coordinator":
            raise PsiSpecError(f"leader {self.leader!r} cannot also be a follower")
        if len(set(self.followers)) != len(self.followers):
            raise PsiSpecError("followers are listed more than once")
        if not self.required:
            object.__setattr__(self, "required", tuple(self.followers))
        _check_members("require", self.required, self.followers)
        for name, members in self.subsets.items():
            if not name or "/" in name:
                raise PsiSpecError(f"subset name {name!r} must be non-empty and without '/'")
            if not members:
                raise PsiSpecError(f"subset {name!r} names no follower")
            _check_members(f"subsets.{name}", members, self.followers)
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise PsiSpecError(f"batch_size must be between 1 and {MAX_BATCH}")
        if self.id_format not in ID_FORMATS:
            raise PsiSpecError(f"id_format must be one of {', '.join(ID_FORMATS)}")
        if self.timeout_s <= 0 or self.run_timeout_s <= 0:
            raise PsiSpecError("timeouts must be positive numbers of seconds")

    @property
    def set_names(self) -> tuple[str, ...]:
        """Result sets in wire order: the main (required) intersection, then each subset."""
        return ("required", *self.subsets)

    def set_members(self, name: str) -> tuple[str, ...]:
        """The followers a firm must be present at to be in result set ``name``."""
        return self.required if name == "required" else self.subsets[name]

    def sets_of(self, follower: str) -> tuple[str, ...]:
        """The result sets delivered to ``follower``: those it is a member of."""
        return tuple(n for n in self.set_names if follower in self.set_members(n))


def _check_members(what: str, members: Sequence[str], followers: Sequence[str]) -> None:
    unknown = [m for m in members if m not in followers]
    if unknown:
        raise PsiSpecError(
            f"{what} names {', '.join(map(repr, unknown))}, which are not followers of the job "
            f"(followers: {', '.join(followers)})"
        )
    if len(set(members)) != len(members):
        raise PsiSpecError(f"{what} lists a party more than once")


def spec_from_job(parties: Sequence[str], section: Mapping[str, Any] | None) -> PsiSpec:
    """Build the spec from the job's parties and its ``psi`` section.

    The leader defaults to the first party of the job file; every other party is a follower.

    Raises
    ------
    PsiSpecError
        An unknown key, a wrong type, or a party name that is not in the job.
    """
    section = dict(section or {})
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise PsiSpecError(f"unknown keys {unknown}; known: {sorted(_KEYS)}")
    if not parties:
        raise PsiSpecError("the job has no parties")
    leader = section.get("leader", parties[0])
    if not isinstance(leader, str) or leader not in parties:
        raise PsiSpecError(f"leader {leader!r} is not one of the job's parties")
    followers = tuple(p for p in parties if p != leader)
    required = _names(section.get("require", ()), "require")
    raw_subsets = section.get("subsets", {}) or {}
    if not isinstance(raw_subsets, Mapping):
        raise PsiSpecError("subsets must map a name to a list of followers")
    subsets = {str(k): _names(v, f"subsets.{k}") for k, v in raw_subsets.items()}
    flags = {k: section.get(k, False) for k in ("cardinality_only", "strict")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise PsiSpecError(f"{key} must be true or false")
    batch_size = section.get("batch_size", DEFAULT_BATCH)
    timeout_s = section.get("timeout_s", DEFAULT_TIMEOUT_S)
    id_format = section.get("id_format", "uscc")
    if not isinstance(id_format, str):
        raise PsiSpecError(f"id_format must be one of {', '.join(ID_FORMATS)}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        raise PsiSpecError("batch_size must be an integer")
    if not isinstance(timeout_s, int | float) or isinstance(timeout_s, bool):
        raise PsiSpecError("timeout_s must be a number of seconds")
    return PsiSpec(
        leader=leader,
        followers=followers,
        required=required,
        subsets=subsets,
        cardinality_only=flags["cardinality_only"],
        strict=flags["strict"],
        batch_size=batch_size,
        timeout_s=float(timeout_s),
        id_format=id_format,
    )


def _names(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PsiSpecError(f"{what} must be a list of party names")
    if not all(isinstance(v, str) for v in value):
        raise PsiSpecError(f"{what} must contain party names only")
    return tuple(value)
