"""``fedcredit certs``: the federation operator's certificate authority, from the shell.

Create the CA; on a party's machine make its keys and a signing request (``request``), at the
CA sign it (``sign``), so no private key but the CA's ever leaves its owner; ``issue`` makes
keys and certificate in one step at the CA, for local demos. Revoke, re-sign the revocation
list, list a folder, and check a certificate the way every peer will. See
``certs/README.md`` and ``docs/trust-model.md``.

Exit codes (``node.cli.exit_codes``): 0 done, 2 bad input, 10 a certificate problem (no CA,
refused certificate, name taken).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from rich.console import Console
from rich.table import Table

from node.cli.exit_codes import ExitCode
from node.pki import (
    PkiError,
    create_ca,
    identity_from_certificate,
    issue_certificate,
    list_certificates,
    load_crl,
    renew_crl,
    revoke,
    verify_peer,
)
from node.pki.ca import DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS
from node.pki.files import CA_CERT
from node.pki.request import create_request, fingerprint, sign_request
from node.pki.roles import ALL_ROLES

app = typer.Typer(
    help="Create the federation CA, issue, revoke, list and check certificates.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals would include private keys
)
_out = Console(soft_wrap=True)  # paths and serials must stay greppable
_err = Console(stderr=True, soft_wrap=True)

DirOpt = Annotated[
    Path, typer.Option("--dir", "-d", help="The CA folder (ca.crt, ca.key, ca.crl).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="text or json")]


def _fail(message: str, code: ExitCode) -> typer.Exit:
    _err.print(f"[red]error[/red] {message}", markup=True, highlight=False)
    return typer.Exit(int(code))


def _emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True))


def _ca(cert_dir: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate((cert_dir / CA_CERT).read_bytes())
    except FileNotFoundError:
        raise _fail(
            f"no {CA_CERT} in {cert_dir}; run `fedcredit certs init --dir {cert_dir}`",
            ExitCode.CERTIFICATE,
        ) from None


@app.command("init")
def init_cmd(
    cert_dir: DirOpt = Path("certs"),
    name: Annotated[str, typer.Option(help="The CA's common name.")] = "fedcredit federation CA",
    days: Annotated[int, typer.Option(help="Validity of the CA in days.")] = DEFAULT_CA_DAYS,
) -> None:
    """Create the federation CA (key 0600, certificate, empty revocation list)."""
    try:
        path = create_ca(cert_dir, name=name, days=days)
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    _out.print(f"created CA {path} (keep {cert_dir / 'ca.key'} offline)", highlight=False)


@app.command("issue")
def issue_cmd(
    name: Annotated[str, typer.Argument(help="File stem: <name>.crt, <name>.key, ...")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(sorted(ALL_ROLES))}.")],
    org: Annotated[str, typer.Option("--org", help="Organization (subject O).")],
    node_id: Annotated[
        str | None, typer.Option("--node-id", help="Node id (subject CN); default: NAME.")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Extra DNS name or IP for the SAN (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = DEFAULT_CERT_DAYS,
    cert_dir: DirOpt = Path("certs"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the party's files; default --dir.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace existing files of that name (revoke the old one too).")
    ] = False,
) -> None:
    """Issue a party's certificate and make its keys here at the CA (local demos).

    In a federation use `request` on the party's machine and `sign` here instead, so the
    party's private keys never exist outside its machine.
    """
    try:
        path = issue_certificate(
            cert_dir,
            name,
            role=role,
            organization=org,
            node_id=node_id,
            hostnames=host or (),
            days=days,
            out_dir=out,
            overwrite=overwrite,
        )
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.USAGE) from None
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    identity = identity_from_certificate(path.read_bytes())
    _out.print(
        f"issued {path}: O={identity.organization} CN={identity.node_id} OU={identity.role} "
        f"serial {identity.serial:x}",
        highlight=False,
    )


@app.command("request")
def request_cmd(
    name: Annotated[str, typer.Argument(help="File stem: <name>.csr, <name>.key, ...")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(sorted(ALL_ROLES))}.")],
    org: Annotated[str, typer.Option("--org", help="Organization (subject O).")],
    node_id: Annotated[
        str | None, typer.Option("--node-id", help="Node id (subject CN); default: NAME.")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Extra DNS name or IP for the SAN (repeatable)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="This party's certificate folder (keys stay here).")
    ] = Path("certs"),
    overwrite: Annotated[
        bool, typer.Option(help="Replace existing keys of that name (their certificate dies).")
    ] = False,
) -> None:
    """On the party's machine: make its keys here and a signing request for the CA.

    The TLS, sealing and signing keys are written 0600 into --out and never leave it; send
    only NAME.csr to the federation operator, and read them the fingerprint by phone.
    """
    try:
        path = create_request(
            out,
            name,
            role=role,
            organization=org,
            node_id=node_id,
            hostnames=host or (),
            overwrite=overwrite,
        )
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.USAGE) from None
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    _out.print(
        f"wrote {path} (SHA-256 {fingerprint(path.read_bytes())}); send it to the federation "
        f"operator; the private keys stay in {out}",
        highlight=False,
    )


@app.command("sign")
def sign_cmd(
    request: Annotated[Path, typer.Argument(help="The party's request (NAME.csr).")],
    cert_dir: DirOpt = Path("certs"),
    fingerprint_: Annotated[
        str | None,
        typer.Option("--fingerprint", help="The SHA-256 the party read out; refuse if it differs."),
    ] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = DEFAULT_CERT_DAYS,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the certificate; default --dir.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing certificate of that name.")
    ] = False,
) -> None:
    """At the CA: check a party's request and issue its certificate (no private key made)."""
    try:
        pem = request.read_bytes()
        path = sign_request(
            cert_dir,
            pem,
            source=str(request),
            days=days,
            out_dir=out,
            expect_fingerprint=fingerprint_,
            overwrite=overwrite,
        )
    except OSError as exc:
        raise _fail(f"cannot read {request}: {exc.strerror}", ExitCode.USAGE) from None
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.USAGE) from None
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    identity = identity_from_certificate(path.read_bytes())
    _out.print(
        f"issued {path}: O={identity.organization} CN={identity.node_id} OU={identity.role} "
        f"serial {identity.serial:x} for request SHA-256 {fingerprint(pem)}; send it, "
        "ca.crt and ca.crl back to the party",
        highlight=False,
    )


def _serial_of(target: str, cert_dir: Path) -> Path | int:
    """A certificate file (path or name in the folder) or a hex serial number."""
    for candidate in (Path(target), cert_dir / f"{target}.crt"):
        if candidate.is_file():
            return candidate
    try:
        return int(target.removeprefix("0x"), 16)
    except ValueError:
        raise _fail(
            f"{target!r} is neither a certificate file, a name in {cert_dir}, nor a hex serial",
            ExitCode.USAGE,
        ) from None


@app.command("revoke")
def revoke_cmd(
    target: Annotated[str, typer.Argument(help="Certificate file, party name, or hex serial.")],
    cert_dir: DirOpt = Path("certs"),
) -> None:
    """Add a certificate to the revocation list; distribute the new ca.crl to every party."""
    what = _serial_of(target, cert_dir)
    try:
        serial = revoke(cert_dir, what)
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    except ValueError as exc:
        raise _fail(f"cannot read {target}: {exc}", ExitCode.USAGE) from None
    _out.print(
        f"revoked serial {serial:x}; copy {cert_dir / 'ca.crl'} to every node and the coordinator",
        highlight=False,
    )


@app.command("crl")
def crl_cmd(cert_dir: DirOpt = Path("certs")) -> None:
    """Re-sign the revocation list (fresh next-update) without revoking anything new."""
    try:
        count = renew_crl(cert_dir)
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    _out.print(f"re-signed {cert_dir / 'ca.crl'} ({count} revoked)", highlight=False)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


@app.command("list")
def list_cmd(cert_dir: DirOpt = Path("certs"), fmt: FormatOpt = "text") -> None:
    """List the folder's certificates and whether peers accept each now."""
    ca = _ca(cert_dir)
    try:
        rows = list_certificates(cert_dir, ca, load_crl(cert_dir))
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    if fmt == "json":
        _emit_json(
            [
                {
                    "name": r.name,
                    "subject": r.subject,
                    "serial": f"{r.serial:x}",
                    "not_before": _iso(r.not_before),
                    "not_after": _iso(r.not_after),
                    "status": r.status,
                }
                for r in rows
            ]
        )
        return
    table = Table("name", "subject", "serial", "not after", "status")
    for r in rows:
        table.add_row(r.name, r.subject, f"{r.serial:x}"[:16], _iso(r.not_after), r.status)
    _out.print(table)


@app.command("verify")
def verify_cmd(
    certificate: Annotated[Path, typer.Argument(help="The certificate to check (PEM).")],
    cert_dir: DirOpt = Path("certs"),
    fmt: FormatOpt = "text",
) -> None:
    """Check a certificate exactly as peers will: CA, validity, revocation, identity."""
    ca = _ca(cert_dir)
    try:
        pem = certificate.read_bytes()
        identity = verify_peer(pem, ca, load_crl(cert_dir))
    except OSError as exc:
        raise _fail(f"cannot read {certificate}: {exc.strerror}", ExitCode.USAGE) from None
    except ValueError:
        raise _fail(f"{certificate} is not a PEM certificate", ExitCode.USAGE) from None
    except PkiError as exc:
        raise _fail(str(exc), ExitCode.CERTIFICATE) from None
    if fmt == "json":
        _emit_json(
            {
                "organization": identity.organization,
                "node_id": identity.node_id,
                "role": identity.role,
                "serial": f"{identity.serial:x}",
            }
        )
        return
    _out.print(
        f"ok: O={identity.organization} CN={identity.node_id} OU={identity.role}",
        highlight=False,
    )


def main() -> None:
    """Run ``fedcredit certs`` on its own (the lead mounts ``app`` under ``fedcredit``)."""
    app()


if __name__ == "__main__":
    main()
