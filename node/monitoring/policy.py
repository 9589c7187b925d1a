"""The bank's monitoring policy: warning levels, IFRS 9 and classification rules, feed limits.

A YAML file (``policies/monitoring/sme-watch.yaml``) parsed once into a frozen object; its
version is the SHA-256 of the text, named in every refresh. Unknown keys are refused and
every error names the key and the fix (docs/early-warning.md has the reference).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from node.monitoring.exceptions import MonitoringPolicyError

LEVELS: Final = ("green", "yellow", "orange", "red")
CATEGORIES: Final = ("normal", "special_mention", "substandard", "doubtful", "loss")
_CODE: Final = re.compile(r"^[A-Z][A-Z0-9-]{1,40}$")
_TOP: Final = frozenset(
    {
        "fedcredit_monitoring_policy",
        "name",
        "description",
        "model",
        "holders",
        "deadline_ms",
        "levels",
        "sicr",
        "backstop",
        "days_past_due",
        "classification",
        "flags",
        "soft_flags",
        "release_after",
        "capacity",
        "drift",
        "feed",
    }
)


@dataclass(frozen=True)
class FeedLimits:
    """When a holder's feed is unhealthy (each breach is a data-quality alert)."""

    stale_months: int = 1
    missing_share: float = 0.20
    unmatched_share: float = 0.60
    unmatched_jump: float = 0.10


@dataclass(frozen=True)
class MonitoringPolicy:
    """A parsed monitoring policy. Levels are indexes into ``LEVELS`` (0 green .. 3 red)."""

    name: str
    version: str
    text: str
    model: str
    holders: tuple[str, ...]
    deadline_ms: int
    pd_levels: tuple[float, float, float]  # yellow, orange, red
    sicr_multiple: float
    sicr_min_pd: float
    sicr_level: int
    backstop_dpd: int
    backstop_level: int
    dpd_signal: str
    category_from_dpd: tuple[int, int, int, int]  # special mention, substandard, doubtful, loss
    category_levels: tuple[int, int, int, int, int]  # per CATEGORIES
    flags: Mapping[str, int]
    release_after: int
    capacity: float  # the watch list's largest share of the book (model-driven entries)
    drift_watch: float
    drift_alert: float
    feed: FeedLimits
    # flags that compete by PD for the list's room instead of always listing (their track
    # record at the bank does not bear out their level; docs/early-warning.md)
    soft_flags: frozenset[str] = frozenset()


def _section(raw: Mapping[str, Any], key: str, src: str) -> Mapping[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise MonitoringPolicyError(src, key, "must be a mapping")
    return value


def _number(
    raw: Mapping[str, Any], key: str, src: str, where: str, low: float, high: float
) -> float:
    if key not in raw:
        raise MonitoringPolicyError(src, f"{where}.{key}", "is required")
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise MonitoringPolicyError(src, f"{where}.{key}", f"must be a number in [{low}, {high}]")
    return float(value)


def _level(value: Any, src: str, where: str) -> int:
    if value not in LEVELS:
        raise MonitoringPolicyError(src, where, f"must be one of {', '.join(LEVELS)}")
    return LEVELS.index(value)


def parse_monitoring_policy(text: str, source: str = "monitoring policy") -> MonitoringPolicy:
    """Validate a monitoring policy's text.

    Raises
    ------
    MonitoringPolicyError
        Not YAML, the wrong format marker, an unknown or missing key, or a value out of range.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise MonitoringPolicyError(source, "(file)", "is not valid YAML") from None
    if not isinstance(raw, Mapping) or raw.get("fedcredit_monitoring_policy") != 1:
        raise MonitoringPolicyError(
            source, "fedcredit_monitoring_policy", "must be 1 (the format marker)"
        )
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise MonitoringPolicyError(
            source, unknown[0], f"unknown key (known: {', '.join(sorted(_TOP))})"
        )
    holders = raw.get("holders") or []
    if not isinstance(holders, list) or not all(isinstance(h, str) and h for h in holders):
        raise MonitoringPolicyError(source, "holders", "must be a list of node ids")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise MonitoringPolicyError(source, "model", "must name the deployed early-warning model")
    levels = _section(raw, "levels", source)
    pd_levels = tuple(
        _number(levels, f"{name}_from_pd", source, "levels", 0.0, 1.0)
        for name in ("yellow", "orange", "red")
    )
    if not pd_levels[0] <= pd_levels[1] <= pd_levels[2]:
        raise MonitoringPolicyError(source, "levels", "yellow <= orange <= red is required")
    sicr = _section(raw, "sicr", source)
    backstop = _section(raw, "backstop", source)
    classification = _section(raw, "classification", source)
    bounds = tuple(
        int(_number(classification, f"{c}_from_dpd", source, "classification", 1, 10_000))
        for c in CATEGORIES[1:]
    )
    if list(bounds) != sorted(bounds):
        raise MonitoringPolicyError(source, "classification", "day thresholds must increase")
    class_levels = dict(_section(classification, "levels", source))
    category_levels = tuple(
        _level(class_levels.get(c, "green"), source, f"classification.levels.{c}")
        for c in CATEGORIES
    )
    flags = {}
    for code, level in _section(raw, "flags", source).items():
        if not _CODE.match(str(code)):
            raise MonitoringPolicyError(source, f"flags.{code}", "codes are upper-case words")
        flags[str(code)] = _level(level, source, f"flags.{code}")
    soft = raw.get("soft_flags") or []
    if not isinstance(soft, list) or not set(map(str, soft)) <= set(flags):
        raise MonitoringPolicyError(source, "soft_flags", "must list codes named under flags")
    drift = _section(raw, "drift", source)
    feed = _section(raw, "feed", source)
    deadline = raw.get("deadline_ms", 60_000)
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, int)
        or not 100 <= deadline <= 600_000
    ):
        raise MonitoringPolicyError(source, "deadline_ms", "must be an integer in [100, 600000]")
    release = raw.get("release_after", 3)
    if isinstance(release, bool) or not isinstance(release, int) or not 1 <= release <= 24:
        raise MonitoringPolicyError(source, "release_after", "must be an integer in [1, 24]")
    capacity = raw.get("capacity", 0.10)
    if isinstance(capacity, bool) or not isinstance(capacity, int | float) or not 0 < capacity <= 1:
        raise MonitoringPolicyError(source, "capacity", "must be a share of the book in (0, 1]")
    return MonitoringPolicy(
        name=str(raw.get("name") or "monitoring"),
        version=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        model=model,
        holders=tuple(holders),
        deadline_ms=deadline,
        pd_levels=(pd_levels[0], pd_levels[1], pd_levels[2]),
        sicr_multiple=_number(sicr, "pd_multiple", source, "sicr", 1.0, 100.0),
        sicr_min_pd=_number(sicr, "min_pd", source, "sicr", 0.0, 1.0),
        sicr_level=_level(sicr.get("level", "orange"), source, "sicr.level"),
        backstop_dpd=int(_number(backstop, "dpd", source, "backstop", 1, 10_000)),
        backstop_level=_level(backstop.get("level", "red"), source, "backstop.level"),
        dpd_signal=str(raw.get("days_past_due") or "overdue_days__now"),
        category_from_dpd=(bounds[0], bounds[1], bounds[2], bounds[3]),
        category_levels=(
            category_levels[0],
            category_levels[1],
            category_levels[2],
            category_levels[3],
            category_levels[4],
        ),
        flags=flags,
        release_after=release,
        capacity=float(capacity),
        drift_watch=float(drift.get("watch", 0.10)),
        drift_alert=float(drift.get("alert", 0.25)),
        feed=FeedLimits(
            stale_months=int(feed.get("stale_months", 1)),
            missing_share=float(feed.get("missing_share", 0.20)),
            unmatched_share=float(feed.get("unmatched_share", 0.60)),
            unmatched_jump=float(feed.get("unmatched_jump", 0.10)),
        ),
        soft_flags=frozenset(map(str, soft)),
    )


def load_monitoring_policy(path: Path) -> MonitoringPolicy:
    """Read and validate a monitoring policy file.

    Raises
    ------
    MonitoringPolicyError
        The file cannot be read or is invalid.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise MonitoringPolicyError(
            str(path), "(file)", f"cannot be read: {exc.strerror}"
        ) from None
    return parse_monitoring_policy(text, str(path))
