"""Choosing the compute engine from the node config."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from node.compute import ComputeConfig, EngineUnavailable, compute_executor
from node.runtime.config import ConfigError, load_node_config


def write_config(tmp_path: Path, compute: str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(
        "node_id: bank\ncerts: {dir: certs}\ncoordinator: 127.0.0.1:1\n" + compute, "utf-8"
    )
    return path


def test_local_processes_are_the_default(tmp_path: Path) -> None:
    # execute
    config = load_node_config(write_config(tmp_path, ""))
    executor = compute_executor(config.compute)
    # assert
    try:
        assert config.compute == ComputeConfig()
        assert isinstance(executor, ProcessPoolExecutor)
        assert executor.submit(pow, 2, 3).result(timeout=60) == 8
    finally:
        executor.shutdown()


def test_ray_section_is_read(tmp_path: Path) -> None:
    # execute
    text = "compute: {engine: ray, address: 'ray://head:10001', workers: 4}\n"
    config = load_node_config(write_config(tmp_path, text))
    # assert
    assert config.compute == ComputeConfig("ray", "ray://head:10001", 4)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("compute: {engine: spark}", "compute.engine"),
        ("compute: {engine: ray, nodes: 3}", "compute.nodes"),
        ("compute: {workers: 0}", "compute.workers"),
        ("compute: {workers: true}", "compute.workers"),
        ("compute: {workers: two}", "compute.workers"),
        ("compute: {address: 'ray://head:10001'}", "compute"),
        ("compute: ray", "compute"),
    ],
)
def test_bad_compute_sections_name_the_key(tmp_path: Path, section: str, key: str) -> None:
    # execute / assert
    with pytest.raises(ConfigError) as info:
        load_node_config(write_config(tmp_path, section + "\n"))
    assert info.value.key == key


def test_ray_without_the_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare: importing the engine fails as it would without Ray
    monkeypatch.setitem(sys.modules, "node.compute.ray_engine", None)
    # execute / assert
    with pytest.raises(EngineUnavailable, match=r"fedcredit\[ray\]"):
        compute_executor(ComputeConfig("ray"))
