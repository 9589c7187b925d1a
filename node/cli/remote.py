"""What every command that calls a coordinator or a node shares: the caller's channel, and
refusals turned into one line on stderr with an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import grpc
import typer
from rich.console import Console
from rich.markup import escape

from node.cli.exit_codes import ExitCode
from node.pki import PkiError
from node.transport.client import open_channel

Certs = Annotated[Path, typer.Option("--certs", help="folder with ca.crt and your certificate")]
As = Annotated[str, typer.Option("--as", help="name of your certificate in --certs")]


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` as one red line on stderr and exit with ``code``."""
    Console(stderr=True).print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def channel(address: str, certs: Path, name: str, peer: str = "coordinator") -> grpc.Channel:
    """A channel to ``peer`` presenting ``certs/name``; a missing certificate is one line."""
    try:
        return open_channel(address, certs, name, peer=peer)
    except PkiError as exc:
        fail(
            f"no usable certificate {name!r} in {certs}/ ({exc}); pass --certs with the folder "
            "holding ca.crt and your certificate, and --as with its name",
            ExitCode.CERTIFICATE,
        )


@contextmanager
def refusals(
    where: str = "--coordinator", precondition: ExitCode = ExitCode.FAILED
) -> Iterator[None]:
    """Turn a refused or failed call into one line; ``precondition`` is the exit code for a
    FAILED_PRECONDITION refusal, every other refusal exits 1."""
    try:
        yield
    except grpc.RpcError as exc:
        code = exc.code()
        fix = (
            f"; is the server running at the {where} address?"
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            else ""
        )
        exit_code = precondition if code is grpc.StatusCode.FAILED_PRECONDITION else ExitCode.FAILED
        fail(f"refused ({code.name}): {exc.details()}{fix}", exit_code)
