"""The coordinator's limits come from its configuration file, checked at start-up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from coordinator.runtime.config import LimitsFile, load_coordinator_config
from coordinator.servicer.limits import Limits
from node.runtime.config import ConfigError


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "coordinator.yaml"
    path.write_text(f"certs: {{dir: certs}}\n{extra}")
    return path


def test_limits_default_and_override(tmp_path: Path) -> None:
    assert load_coordinator_config(_write(tmp_path, "")).limits == Limits()
    config = load_coordinator_config(
        _write(tmp_path, "limits: {envelopes_per_s: 5, watch_streams_per_caller: 1}\n")
    )
    assert config.limits.envelopes_per_s == 5.0
    assert config.limits.watch_streams_per_caller == 1
    assert config.limits.requests_per_s == Limits().requests_per_s


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("limits: {no_such_limit: 1}\n", "limits.no_such_limit: unknown key; remove it"),
        ("limits: {max_nesting: deep}\n", "limits.max_nesting: must be an integer; e.g. 32"),
        ("limits: {watch_streams_total: 0}\n", "limits.watch_streams_total: must be > 0"),
        ("limits: [1, 2]\n", "must be a mapping"),
    ],
)
def test_bad_limits_are_refused_naming_the_setting(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_coordinator_config(_write(tmp_path, extra))


def test_the_limits_section_offers_every_limit() -> None:
    # the file's model and the servicer's dataclass name the same limits with the same defaults
    assert LimitsFile().model_dump() == dataclasses.asdict(Limits())
