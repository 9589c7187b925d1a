"""One line per check: its level, what was found, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """How bad a finding is; the worst one decides the exit code of ``fedcredit diagnose``."""

    OK = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Finding:
    """The outcome of one check. ``fix`` says what to do, and is empty when all is well."""

    check: str
    level: Level
    found: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.level.name:<4} {self.check:<16} {self.found}"
        return f"{text}; fix: {self.fix}" if self.fix else text


def worst(findings: list[Finding]) -> Level:
    return max((f.level for f in findings), default=Level.OK)
