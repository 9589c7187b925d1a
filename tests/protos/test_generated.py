"""The committed gRPC stubs match what the pinned generator makes from the .proto sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_protos", REPO / "scripts" / "gen_protos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_protos"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_are_fresh(tmp_path: Path) -> None:
    # prepare
    pytest.importorskip("grpc_tools", reason="grpcio-tools is in the dev extra")
    gen = _gen_module()
    sources, out = gen.proto_sources(REPO)
    # execute
    gen.generate(tmp_path, REPO)
    # assert
    generated = sorted(tmp_path.rglob("*_pb2*.py*"))
    assert generated, "generator produced nothing"
    for fresh in generated:
        committed = out / fresh.relative_to(tmp_path)
        assert committed.exists(), f"{committed.name} is not committed; run scripts/gen_protos.py"
        assert committed.read_text() == fresh.read_text(), (
            f"{committed.name} is stale; run `python scripts/gen_protos.py` and commit the result"
        )
    assert len(sources) == 3


def test_stale_stub_is_detected(tmp_path: Path) -> None:
    # prepare: a copy of the repo's pyproject and protos with one edited source
    pytest.importorskip("grpc_tools", reason="grpcio-tools is in the dev extra")
    gen = _gen_module()
    fake = tmp_path / "repo"
    (fake / "protos/fedcredit/v1").mkdir(parents=True)
    (fake / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    for src in (REPO / "protos/fedcredit/v1").glob("*.proto"):
        (fake / "protos/fedcredit/v1" / src.name).write_text(src.read_text())
    common = fake / "protos/fedcredit/v1/common.proto"
    common.write_text(common.read_text() + "\nmessage Extra { int32 x = 1; }\n")
    # execute
    gen.generate(tmp_path / "out", fake)
    # assert
    fresh = (tmp_path / "out/protos/fedcredit/v1/common_pb2.py").read_text()
    assert fresh != (REPO / "protos/fedcredit/v1/common_pb2.py").read_text()
