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
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, Field, model_validator

from node.monitoring.exceptions import NotConfigured
from node.monitoring.panel import PanelCube
from node.monitoring.signals import KINDS, ratio_name, with_ratios
from node.monitoring.sinks import AlertSink, FileSink, WebhookSink
from node.scoring.config import FlagRule, Flags, parse_flag_rules
from node.validation import FileModel, Invalid, OneOf


def _ratio(item: str) -> tuple[str, str]:
    """``numerator/denominator`` as (numerator, denominator)."""
    top, _, bottom = item.partition("/")
    return top.strip(), bottom.strip()


def _ratios_differ(value: list[str]) -> list[str]:
    for i, item in enumerate(value):
        top, bottom = _ratio(item)
        if not top or not bottom or top == bottom:
            raise Invalid(
                "is not two different figures written a/b",
                "e.g. tax_paid/ss_headcount",
                key=f"[{i}]",
            )
    return value


class SinkFile(FileModel):
    """Where the bank's alerts go: a webhook (optionally signed) or a JSON-lines file."""

    webhook: str | None = Field(None, description="http(s) URL each alert is posted to.")
    secret_file: str | None = Field(None, description="Key signing the webhook's posts.")
    timeout_s: float = Field(5.0, gt=0, description="The webhook's timeout.")
    file: str | None = Field(None, description="A file alerts are appended to.")

    @model_validator(mode="after")
    def _one_target(self) -> SinkFile:
        if self.webhook is None and self.file is None:
            raise Invalid("names no target", "write {webhook: URL} or {file: PATH}")
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise Invalid(
                "must be an http(s) URL", "e.g. https://loans.example/alerts", key="webhook"
            )
        return self


class MonitoringFile(FileModel):
    """Early warning on borrowers: the node's monthly panel and, at the bank, its book."""

    panel: str | None = Field(None, description="The monthly panel dataset; none: no part.")
    month_column: str = Field("month", description="The panel's month column.")
    figures: dict[str, Annotated[str, OneOf(KINDS)]] = Field(
        default_factory=dict, description="Kind of a figure (`amount` when not named)."
    )
    ratios: Annotated[list[str], AfterValidator(_ratios_differ)] = Field(
        default_factory=list,
        examples=[["tax_paid/ss_headcount"]],
        description="Ratios of own figures to watch as figures of their own.",
    )
    flags: Flags = Field(
        default_factory=dict,
        description="Coded flags `CODE: 'signal >= number'` over own signals.",
    )
    policy: str | None = Field(None, description="The bank's monitoring policy file.")
    book: str | None = Field(None, description="The bank's dataset of the firms it lends to.")
    sinks: list[SinkFile] = Field(default_factory=list)
    check_every_s: float = Field(
        0.0, ge=0, description="Seconds between checks whether a refresh is due; 0: manual."
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


def monitoring_config(section: MonitoringFile | None, base: Path) -> MonitoringConfig:
    """The settings of a validated ``monitoring:`` section (``None``: the node does not
    monitor), relative paths resolved against ``base``; nothing is validated again.

    Raises
    ------
    NotConfigured
        A webhook's secret file cannot be read.
    """
    if section is None:
        return MonitoringConfig()
    sinks: list[AlertSink] = []
    for i, sink in enumerate(section.sinks):
        if sink.webhook is not None:
            secret = b""
            if sink.secret_file:
                try:
                    secret = _path(sink.secret_file, base).read_bytes().strip()
                except OSError as exc:
                    raise NotConfigured(
                        f"monitoring.sinks[{i}].secret_file: cannot be read ({exc.strerror})"
                    ) from None
            sinks.append(WebhookSink(sink.webhook, sink.timeout_s, secret))
        elif sink.file is not None:
            sinks.append(FileSink(_path(sink.file, base)))
    return MonitoringConfig(
        panel=section.panel or None,
        month_column=section.month_column or "month",
        figures=dict(section.figures),
        ratios={ratio_name(*_ratio(r)): _ratio(r) for r in section.ratios},
        flags=parse_flag_rules(section.flags, "monitoring.flags"),
        policy=_path(section.policy, base) if section.policy else None,
        book=section.book or None,
        sinks=tuple(sinks),
        check_every_s=section.check_every_s,
    )
