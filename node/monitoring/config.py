"""The ``monitoring:`` section of a node's configuration, validated once at start-up.

Every monitoring party names its monthly panel and, optionally, the kind of each figure
(``amount`` by default; ``count`` for event counts, ``days`` for days past due), ratios of its
own figures to watch as figures of their own (``tax_paid/ss_headcount``: tax per employee;
signals named ``tax_paid_per_ss_headcount__<signal>``) and the coded flags it publishes
(``CODE: "signal >= number"`` over its own signals; only the code leaves).
The bank also names its monitoring policy, its book (the dataset whose firms it lends to),
the alert sinks and how often it checks whether a refresh is due::

    monitoring:
      panel: bank_monthly
      figures: {overdue_days: days}
      ratios: [outflow/inflow]
      policy: monitoring.yaml
      book: bank
      sinks:
        - {webhook: "https://loans.example/alerts", secret_file: hook.key}
        - {file: alerts.jsonl}
      check_every_s: 3600
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from node.monitoring.exceptions import NotConfigured
from node.monitoring.panel import PanelCube
from node.monitoring.signals import KINDS, ratio_name, with_ratios
from node.monitoring.sinks import AlertSink, FileSink, WebhookSink
from node.scoring.config import FlagRule, parse_flag_rules
from node.scoring.exceptions import ScoringError

_KEYS: Final = frozenset(
    {
        "panel",
        "month_column",
        "figures",
        "ratios",
        "flags",
        "policy",
        "book",
        "sinks",
        "check_every_s",
    }
)


@dataclass(frozen=True)
class MonitoringConfig:
    """A node's monitoring settings; ``panel`` is None when the node takes no part."""

    panel: str | None = None
    month_column: str = "month"
    figures: Mapping[str, str] = field(default_factory=dict)  # figure -> kind (else amount)
    ratios: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (top, bottom)
    flags: tuple[FlagRule, ...] = ()
    policy: Path | None = None
    book: str | None = None
    sinks: tuple[AlertSink, ...] = ()
    check_every_s: float = 0.0


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else (base / path).resolve()


def _ratios(raw: Any) -> dict[str, tuple[str, str]]:
    """``[numerator/denominator, ...]`` as ratio name -> (numerator, denominator)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise NotConfigured("monitoring.ratios: write a list like [tax_paid/ss_headcount]")
    out: dict[str, tuple[str, str]] = {}
    for i, item in enumerate(raw):
        top, _, bottom = str(item).partition("/")
        if not top.strip() or not bottom.strip() or top.strip() == bottom.strip():
            raise NotConfigured(
                f"monitoring.ratios[{i}]: {item!r} is not two different figures written a/b"
            )
        out[ratio_name(top.strip(), bottom.strip())] = (top.strip(), bottom.strip())
    return out


def monitored_panel(
    frame: pd.DataFrame, id_column: str, skip: Collection[str], config: MonitoringConfig
) -> tuple[PanelCube, dict[str, str]]:
    """A loaded panel as the cube a monitoring party computes signals from, with its ratios,
    and the kind of every figure (the numeric columns but ``skip``; the config's kinds,
    ``amount`` by default, ``ratio`` for the ratios).

    Raises
    ------
    node.monitoring.exceptions.PanelError
        The panel does not pivot, or a ratio names a figure it lacks.
    """
    numeric = [
        c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
    ]
    cube = PanelCube.from_frame(frame, id_column, config.month_column, numeric)
    kinds = {c: config.figures.get(c, "amount") for c in numeric}
    kinds.update({name: "ratio" for name in config.ratios})
    return with_ratios(cube, config.ratios), kinds


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
    ratios = _ratios(raw.get("ratios"))
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
        ratios=ratios,
        flags=flags,
        policy=_path(raw["policy"], base) if raw.get("policy") else None,
        book=str(raw["book"]) if raw.get("book") else None,
        sinks=tuple(sinks),
        check_every_s=float(every),
    )
