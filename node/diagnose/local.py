"""What ``fedcredit diagnose`` checks on the node's own machine: its certificate and the
federation CA, the disk under its state folder, whether it can load every job type's code,
and whether its policy covers a job file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography import x509

from node.diagnose.findings import Finding, Level
from node.jobs.exceptions import JobCodeUnavailable, JobSpecError
from node.jobs.spec import parse_job_file
from node.jobtypes.registry import job_type, known_job_types, load_job_code
from node.pki import PeerVerifier, PkiError
from node.pki.exceptions import CertificateExpired, CertificateNotYetValid, CertificateRevoked
from node.pki.files import NodeCredentials, load_identity_files
from node.pki.identity import Principal
from node.policy import PolicyEngine, PolicyError
from node.runtime.config import NodeConfig
from node.transport.directory import UnknownParty

# As the consoles mark certificates: a month leaves time to request, sign and roll out.
EXPIRY_WARNING: Final = dt.timedelta(days=30)
# The state folder holds the access log, SQLite state and job outputs; a vertical job on a
# million firms writes a few hundred MiB, so below 2 GiB a busy node fills up within weeks.
DISK_WARN: Final = 2 * 1024**3
DISK_FAIL: Final = 256 * 1024**2
RENEW: Final = "request a new certificate (fedcredit certs request), have it signed, restart"


def certificate_findings(config: NodeConfig) -> tuple[NodeCredentials | None, list[Finding]]:
    """The node's certificate and keys, checked as its peers check them, and the CA's.

    Returns the credentials whenever they load and name this node, valid or not, so the
    coordinator's own answer to them can be shown too.
    """
    try:
        creds = load_identity_files(config.cert_dir, config.cert_name)
        verifier = PeerVerifier(config.cert_dir)
    except PkiError as exc:
        return None, [Finding("certificate", Level.FAIL, str(exc), RENEW)]
    if creds.identity.node_id != config.node_id:
        return None, [
            Finding(
                "certificate",
                Level.FAIL,
                f"issued to {creds.identity.node_id!r}, but node_id is {config.node_id!r}",
                "point certs.name at this node's certificate",
            )
        ]
    now = dt.datetime.now(dt.UTC)
    ca = verifier.ca_certificate
    findings = [_validity("ca", "federation CA", ca, now, "the federation operator renews the CA")]
    cert = x509.load_pem_x509_certificate(creds.cert_pem)
    who = f"{creds.identity.node_id} ({creds.identity.organization}, {creds.identity.role})"
    try:
        verifier(creds.cert_pem)
    except (CertificateExpired, CertificateNotYetValid, CertificateRevoked) as exc:
        fix = "fix this host's clock" if isinstance(exc, CertificateNotYetValid) else RENEW
        findings.insert(0, Finding("certificate", Level.FAIL, f"{who}: {exc}", fix))
        return creds, findings
    except PkiError as exc:
        findings.insert(
            0,
            Finding(
                "certificate",
                Level.FAIL,
                f"{who}: {exc}",
                "use a certificate issued by this federation's CA",
            ),
        )
        return creds, findings
    findings.insert(
        0, _validity("certificate", f"{who}, chain to the CA verified,", cert, now, RENEW)
    )
    return creds, findings


def _validity(check: str, what: str, cert: x509.Certificate, now: dt.datetime, fix: str) -> Finding:
    end = cert.not_valid_after_utc
    left = end - now
    text = f"{what} valid until {end:%Y-%m-%d} ({left.days} days)"
    if left <= dt.timedelta(0):
        return Finding(check, Level.FAIL, f"{what} expired on {end:%Y-%m-%d}", fix)
    if left < EXPIRY_WARNING:
        return Finding(check, Level.WARN, text + ", within 30 days", fix)
    return Finding(check, Level.OK, text)


def disk_finding(state_dir: Path) -> Finding:
    """Free space on the file system of the state folder, and whether it can be written."""
    where = state_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    text = f"{free / 1024**3:.1f} GiB free under {state_dir}"
    if not os.access(where, os.W_OK):
        return Finding(
            "disk",
            Level.FAIL,
            f"{where} is not writable by this user",
            "run the node as the user that owns its state folder",
        )
    if free < DISK_FAIL:
        return Finding("disk", Level.FAIL, text, "free space or move state_dir to a larger disk")
    if free < DISK_WARN:
        return Finding("disk", Level.WARN, text, "free space or move state_dir to a larger disk")
    return Finding("disk", Level.OK, text)


def policy_engine(config: NodeConfig) -> tuple[PolicyEngine | None, Finding]:
    """The node's policy, loaded as the node loads it (with a throw-away key)."""
    if config.policy is None:
        return None, Finding(
            "policy",
            Level.FAIL,
            "no policy file: the node refuses to start",
            "set policy: in the node config (docs/policies.md)",
        )
    try:
        engine = PolicyEngine.load(config.policy, os.urandom(32))
    except PolicyError as exc:
        return None, Finding("policy", Level.FAIL, str(exc), "fix the policy file")
    return engine, Finding(
        "policy", Level.OK, f"{config.policy.name} loads, version {engine.version[:12]}"
    )


def job_code_finding() -> Finding:
    """Whether this node can import every job type's code (torch and flwr among it): a
    broken install otherwise shows only when a job of that type starts."""
    try:
        load_job_code()
    except JobCodeUnavailable as exc:
        return Finding("job code", Level.FAIL, str(exc))
    return Finding("job code", Level.OK, f"loads for {', '.join(known_job_types())}")


def job_findings(
    path: Path,
    config: NodeConfig,
    engine: PolicyEngine,
    own: Principal,
    identity_of: Callable[[str], Principal] | None,
) -> list[Finding]:
    """Whether this node's policy lets it do its part of the job in ``path``.

    Each field this node is asked to use is checked for every other party of the job, as
    the node's gate checks it when the job starts (``node.runtime.gate``); the label, which
    never leaves, only for the node itself. ``identity_of`` (from the coordinator's
    directory) tells the other parties' organizations and roles; without it, nothing about
    them can be checked.
    """
    check = f"job {path.name}"
    try:
        job = parse_job_file(path.read_bytes(), str(path), job_types=known_job_types())
        kind = job_type(job.job_type)
        kind.validate(job)
        # the fields each party is asked to use: its code loads at the first call, too
        asked = kind.uses(job)
    except OSError as exc:
        return [Finding(check, Level.FAIL, f"cannot read it: {exc.strerror}", "name a job file")]
    except JobSpecError as exc:
        return [Finding(check, Level.FAIL, str(exc), "fix the job file")]
    except JobCodeUnavailable as exc:
        return [Finding(check, Level.FAIL, str(exc))]
    me = config.node_id
    if me not in job.parties:
        return [Finding(check, Level.WARN, f"{me} is not a party of this {job.job_type} job")]
    uses = [u for u in asked if u[0] == me]
    if not uses:
        return [
            Finding(
                check,
                Level.OK if job.job_type == "check" else Level.WARN,
                f"{job.job_type} jobs name no fields this check can read",
                "" if job.job_type == "check" else "the node checks its fields when the job starts",
            )
        ]
    label = _label(job.raw, me)
    findings = []
    for _, dataset, fields, purpose in uses:
        shared = [f for f in fields if f != label]
        findings += _allowed(check, engine, dataset, purpose, shared, job.parties, me, identity_of)
        if label in fields:
            refused = _authorize(engine, lambda _: own, me, purpose, dataset, [label])
            if refused is not None:
                findings.append(
                    Finding(
                        check,
                        Level.FAIL,
                        f"label {label}: {refused}",
                        "add a rule for this node's own use of its label",
                    )
                )
    if not findings:
        count = sum(len(u[2]) for u in uses)
        return [
            Finding(
                check,
                Level.OK,
                f"{count} fields of {', '.join(sorted({u[1] for u in uses}))} allowed for "
                f"{uses[0][3]} to {', '.join(p for p in job.parties if p != me)}",
            )
        ]
    return findings


def _allowed(
    check: str,
    engine: PolicyEngine,
    dataset: str,
    purpose: str,
    fields: list[str],
    parties: tuple[str, ...],
    me: str,
    identity_of: Callable[[str], Principal] | None,
) -> list[Finding]:
    findings = []
    for party in parties:
        if party == me:
            continue
        problem = _authorize(engine, identity_of, party, purpose, dataset, fields)
        if problem is not None:
            level = Level.WARN if problem.startswith("unknown party") else Level.FAIL
            fix = (
                "start the coordinator and that node, then run diagnose again"
                if level is Level.WARN
                else "add the missing rules to the policy (docs/policies.md)"
            )
            findings.append(Finding(check, level, f"to {party}: {problem}", fix))
    return findings


def _authorize(
    engine: PolicyEngine,
    identity_of: Callable[[str], Principal] | None,
    party: str,
    purpose: str,
    dataset: str,
    fields: list[str],
) -> str | None:
    """None if allowed, else why not."""
    if identity_of is None:
        return "unknown party: the coordinator could not be asked who it is"
    try:
        who = identity_of(party)
    except UnknownParty:
        return "unknown party: not registered with the coordinator"
    try:
        engine.authorize(who, purpose, dataset, fields)
    except PolicyError as exc:
        return str(exc)
    return None


def _label(raw: Mapping[str, Any], me: str) -> str | None:
    """The label column, if this node holds it (``<section>.label_holder`` of training jobs)."""
    for section in raw.values():
        holder = section.get("label_holder") if isinstance(section, Mapping) else None
        if isinstance(holder, Mapping) and holder.get("party") == me:
            return str(holder.get("label") or "") or None
    return None
