"""Regenerate the Python stubs in protos/fedcredit/v1 from the .proto sources.

Run from anywhere: ``python scripts/gen_protos.py``. Paths come from ``[tool.fedcredit.protoc]``
in pyproject.toml; generator versions are pinned in the ``dev`` extra. Generated files are
committed, and ``tests/protos/test_generated.py`` fails when they are stale.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def proto_sources(repo: Path = REPO) -> tuple[list[Path], Path]:
    """The .proto files to compile and the output root, as configured in pyproject.toml."""
    config = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["fedcredit"]["protoc"]
    sources = sorted((repo / config["sources"]).glob("*.proto"))
    if not sources:
        raise FileNotFoundError(f"no .proto files under {config['sources']}")
    return sources, repo / config["out"]


def generate(out_root: Path, repo: Path = REPO) -> None:
    """Compile every source into ``out_root`` (Python, gRPC and mypy stubs)."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    sources, _ = proto_sources(repo)
    out_root.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{repo}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *(str(s.relative_to(repo)) for s in sources),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see its message above")


def main() -> int:
    _, out = proto_sources()
    generate(out)
    print("regenerated stubs in protos/fedcredit/v1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
