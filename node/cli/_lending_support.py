"""What the lending commands share: reading a node's config offline, and clean failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import grpc
import typer
from rich.console import Console
from rich.markup import escape

from node.cli.exit_codes import ExitCode
from node.runtime.config import ConfigError, NodeConfig, load_node_config
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2_grpc

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)  # one line per error, whatever the width


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(int(code))


def node_config(path: Path) -> NodeConfig:
    try:
        return load_node_config(path)
    except ConfigError as exc:
        fail(str(exc), ExitCode.CONFIG)


def node_stub(address: str, node_id: str, certs: Path, name: str) -> node_pb2_grpc.NodeStub:
    try:
        channel = open_channel(address, certs, name, peer=node_id)
    except Exception as exc:
        fail(f"cannot use certificate {name!r} in {certs}: {exc}", ExitCode.CERTIFICATE)
    return node_pb2_grpc.NodeStub(channel)


def call(what: str, fn: Callable[[], T]) -> T:
    """Run an RPC; a refusal becomes one line naming the status and the node's reason."""
    try:
        return fn()
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
        details = exc.details() if hasattr(exc, "details") else str(exc)
        fail(f"{what} refused ({code}): {details}", ExitCode.REFUSED_BY_COORDINATOR)
