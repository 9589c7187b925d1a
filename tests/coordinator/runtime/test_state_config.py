"""The coordinator config's state URL and server threads: read, checked, named when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.runtime.config import load_coordinator_config
from node.runtime.config import ConfigError


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "coordinator.yaml"
    path.write_text("certs: {dir: certs}\n" + extra, "utf-8")
    return path


def test_sqlite_in_the_state_folder_is_the_default(tmp_path: Path) -> None:
    # execute
    config = load_coordinator_config(write(tmp_path, ""))
    # assert
    assert config.state_url is None and config.database.name == "coordinator.sqlite"


def test_a_postgresql_url_is_kept(tmp_path: Path) -> None:
    # execute
    config = load_coordinator_config(
        write(tmp_path, "state: {url: 'postgresql://fed@db:5432/fed'}\nserver_threads: 128\n")
    )
    # assert
    assert config.state_url == "postgresql://fed@db:5432/fed"
    assert config.server_threads == 128


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("state: {url: 'mysql://db/fed'}", "state.url"),
        ("state: {url: 'postgresql://fed:secret@db/fed'}", "state.url"),
        ("state: {path: x}", "state.path"),
        ("server_threads: 0", "server_threads"),
    ],
)
def test_bad_state_settings_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    # execute / assert
    with pytest.raises(ConfigError) as info:
        load_coordinator_config(write(tmp_path, extra + "\n"))
    assert info.value.key == key
    assert "secret" not in str(info.value)
