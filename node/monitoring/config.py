"""The ``monitoring:`` section of a node's configuration, validated once at start-up.

Every monitoring party names its monthly panel and, optionally, the kind of each figure
(``amount`` by default; ``count`` for event counts, ``days`` for days past due) and the coded
flags it publishes (``CODE: "signal >= number"`` over its own signals; only the code leaves).
The bank also names its monitoring policy, its book (the dataset whose firms it lends to),
the alert sinks and how often it checks whether a refresh is due::

    monitoring:
      panel: bank_monthly
      figures: {overdue_days: days}
      policy: monitoring.yaml
      book: bank
      sinks:
        - {webhook: "https://loans.example/alerts", secret_file: hook.key}
        - {file: alerts.jsonl}
      check_every_s: 3600
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from node.monitoring.exceptions import NotConfigured
from node.monitoring.signals import KINDS
from node.monitoring.sinks import AlertSink, FileSink, WebhookSink
from node.scoring.config import FlagRule, parse_flag_rules
from node.scoring.exceptions import ScoringError

_KEYS: Final = frozenset(
    {"panel", "month_column", "figures", "flags", "policy", "book", "sinks", "check_every_s"}
)


@dataclass(frozen=True)
class MonitoringConfig:
    """A node's monitoring settings; ``panel`` is None when the node takes no part."""

    panel: str | None = None
    month_column: str = "month"
    figures: Mapping[str, str] = field(default_factory=dict)  # figure -> kind (else amount)
    flags: tuple[FlagRule, ...] = ()
    policy: Path | None = None
    book: str | None = None
    sinks: tuple[AlertSink, ...] = ()
    check_every_s: float = 0.0


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else (base / path).resolve()


def parse_monitoring_config(raw: Mapping[str, Any] | None, base: Path) -> MonitoringConfig:
    """Validate the ``monitoring:`` mapping (``None``: the node does not monitor).

    Raises
    ------
    NotConfigured
        A key is unknown or mistyped; the message names it and the fix.
    """
    if raw is None:
        return MonitoringConfig()
    if not isinstance(raw, Mapping):
        raise NotConfigured("monitoring: must be a mapping with at least panel")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise NotConfigured(
            f"monitoring.{unknown[0]}: unknown key (known: {', '.join(sorted(_KEYS))})"
        )
    figures = dict(raw.get("figures") or {})
    for name, kind in figures.items():
        if kind not in KINDS:
            raise NotConfigured(
                f"monitoring.figures.{name}: kind must be one of {', '.join(KINDS)}"
            )
    try:
        flags = parse_flag_rules(raw.get("flags"), "monitoring.flags")
    except ScoringError as exc:
        raise NotConfigured(str(exc)) from None
    sinks: list[AlertSink] = []
    for i, sink in enumerate(raw.get("sinks") or []):
        if not isinstance(sink, Mapping) or not ({"webhook", "file"} & set(sink)):
            raise NotConfigured(f"monitoring.sinks[{i}]: write {{webhook: URL}} or {{file: PATH}}")
        if "webhook" in sink:
            url = str(sink["webhook"])
            if not url.startswith(("http://", "https://")):
                raise NotConfigured(f"monitoring.sinks[{i}].webhook: must be an http(s) URL")
            secret = b""
            if sink.get("secret_file"):
                try:
                    secret = _path(sink["secret_file"], base).read_bytes().strip()
                except OSError as exc:
                    raise NotConfigured(
                        f"monitoring.sinks[{i}].secret_file: cannot be read ({exc.strerror})"
                    ) from None
            sinks.append(WebhookSink(url, float(sink.get("timeout_s", 5.0)), secret))
        else:
            sinks.append(FileSink(_path(sink["file"], base)))
    every = raw.get("check_every_s", 0)
    if isinstance(every, bool) or not isinstance(every, int | float) or every < 0:
        raise NotConfigured("monitoring.check_every_s: must be a number of seconds (0: manual)")
    return MonitoringConfig(
        panel=str(raw["panel"]) if raw.get("panel") else None,
        month_column=str(raw.get("month_column") or "month"),
        figures={str(k): str(v) for k, v in figures.items()},
        flags=flags,
        policy=_path(raw["policy"], base) if raw.get("policy") else None,
        book=str(raw["book"]) if raw.get("book") else None,
        sinks=tuple(sinks),
        check_every_s=float(every),
    )
