"""Alert severities, ordered: a configured level means that level and above."""

from __future__ import annotations

from enum import IntEnum


class Severity(IntEnum):
    """``low`` is recorded only; ``medium`` and ``high`` are delivered and may contain."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """The lower-case name used in configuration, alerts and the access log."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Severity:
        """``low``, ``medium`` or ``high`` (or ``never``-like values refused).

        Raises
        ------
        ValueError
            Not one of the three names.
        """
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"must be one of low, medium, high; got {value!r}") from None
