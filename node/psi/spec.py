"""The settings of one PSI job, parsed once from the job file and checked against its parties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import Field, ValidationInfo, field_validator

from node.jobs.exceptions import JobSpecError
from node.psi.exceptions import PsiSpecError
from node.transport.limits import MAX_PAYLOAD_BYTES
from node.validation import FileModel, Invalid, OneOf, validate

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
            raise _refused("parties", "a PSI job needs a leader and at least one other party")
        if self.leader in self.followers or self.leader == "coordinator":
            raise _refused("psi.leader", "cannot also be a follower", "name one party of the job")
        if len(set(self.followers)) != len(self.followers):
            raise _refused("parties", "lists a follower more than once", "list each party once")
        if not self.required:
            object.__setattr__(self, "required", tuple(self.followers))
        _check_members("require", self.required, self.followers)
        for name, members in self.subsets.items():
            if not name or "/" in name:
                raise _refused(f"psi.subsets.{name}", "a subset's name must be without '/'")
            if not members:
                raise _refused(f"psi.subsets.{name}", "names no follower")
            _check_members(f"subsets.{name}", members, self.followers)

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
        raise _refused(
            f"psi.{what}",
            f"names {', '.join(map(repr, unknown))}, which are not followers of the job",
            f"use followers: {', '.join(followers)}",
        )
    if len(set(members)) != len(members):
        raise _refused(f"psi.{what}", "lists a party more than once", "list each party once")


def _refused(key: str, problem: str, fix: str = "list at least two parties") -> PsiSpecError:
    return PsiSpecError("job file", problem, key=key, fix=fix)


# --- the section as written in the job file (docs/reference/psi.md is generated from this
# model); ``spec_from_job`` turns it into ``PsiSpec`` -------------------------------------

PartyName = Annotated[str, Field(min_length=1)]


class PsiFile(FileModel):
    """The `psi` section of a job file (of a `psi` job, or the alignment before training)."""

    leader: PartyName | None = Field(
        None, description="The label holder; default the first party of the job."
    )
    require: list[PartyName] = Field(
        default_factory=list,
        description="Followers a firm must be present at to be in the main result; default all.",
        examples=[["gov"]],
    )
    subsets: dict[str, list[PartyName]] = Field(
        default_factory=dict,
        description="Extra intersections by name: the leader plus the followers listed.",
        examples=["{with_tax: [gov]}"],
    )
    cardinality_only: bool = Field(False, description="Reveal only the sizes.")
    strict: bool = Field(False, description="Refuse any invalid id instead of leaving its row out.")
    batch_size: int = Field(
        DEFAULT_BATCH,
        ge=1,
        le=MAX_BATCH,
        description="Points per message; every message stays under 4 MiB.",
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0, description="Seconds to wait for any single message."
    )
    id_format: Annotated[str, OneOf(ID_FORMATS)] = Field(
        "uscc", description="`uscc`: unified social credit codes, checked; `text`: any text."
    )

    @field_validator("leader")
    @classmethod
    def _leader_is_a_party(cls, leader: str | None, info: ValidationInfo) -> str | None:
        parties = info.context["parties"] if info.context else ()
        if leader is not None and leader not in parties:
            raise Invalid(f"{leader!r} is not one of the job's parties", "name one of them")
        return leader


def spec_from_job(parties: Sequence[str], section: Mapping[str, Any] | None) -> PsiSpec:
    """Build the spec from the job's parties and its ``psi`` section.

    The leader defaults to the first party of the job file; every other party is a follower.

    Raises
    ------
    JobSpecError
        An unknown key, a wrong type or a value out of range.
    PsiSpecError
        A party name that is not in the job, or a job of fewer than two parties.
    """
    if not parties:
        raise _refused("parties", "the job has no parties")
    raw = validate(
        PsiFile,
        section,
        source="job file",
        key="psi",
        context={"parties": tuple(parties)},
        error=JobSpecError,
    )
    leader = raw.leader or parties[0]
    return PsiSpec(
        leader=leader,
        followers=tuple(p for p in parties if p != leader),
        required=tuple(raw.require),
        subsets={name: tuple(members) for name, members in raw.subsets.items()},
        cardinality_only=raw.cardinality_only,
        strict=raw.strict,
        batch_size=raw.batch_size,
        timeout_s=raw.timeout_s,
        id_format=raw.id_format,
    )
