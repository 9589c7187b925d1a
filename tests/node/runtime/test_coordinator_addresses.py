"""A node may name several coordinators (an active one and standbys); the link tries each."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.runtime.config import ConfigError, load_node_config


def write(tmp_path: Path, coordinator: str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(f"node_id: bank\ncerts: {{dir: certs}}\ncoordinator: {coordinator}\n", "utf-8")
    return path


def test_a_list_of_coordinators_is_kept_in_order(tmp_path: Path) -> None:
    # execute
    config = load_node_config(write(tmp_path, "['127.0.0.1:50051', '127.0.0.2:50051']"))
    # assert
    assert config.coordinator == "127.0.0.1:50051,127.0.0.2:50051"


@pytest.mark.parametrize("value", ["[]", "['a:1', 7]"])
def test_a_bad_list_is_named(tmp_path: Path, value: str) -> None:
    # execute / assert
    with pytest.raises(ConfigError) as info:
        load_node_config(write(tmp_path, value))
    assert info.value.key == "coordinator"
