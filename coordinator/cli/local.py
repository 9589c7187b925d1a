"""``fedcredit-federation``: run the whole federation on this machine and show what it does.

The main job of the embedded default: generate synthetic SME data and certificates, start the
coordinator and a government, a bank and a third-party node as separate processes on loopback
with mutual TLS, show them registered and healthy, run the demo jobs, verify every access log
against its signed checkpoint, print a summary and shut everything down.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from coordinator.local import LocalFederation
from coordinator.local.csv import default_credit_banks
from coordinator.local.federation import FederationError
from coordinator.local.synthetic import synthetic_federation
from coordinator.witness import CheckpointWitness
from node.audit import LogReader, TamperDetected
from node.audit.verify import verify_log
from node.cli.exit_codes import ExitCode
from node.cli.guard import run_guarded
from node.cli.jobs import job_dict, nodes_table, watch_job
from node.cli.results import outcome, print_model
from node.data import bundled
from node.pki import identity_from_certificate
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import coordinator_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_DIR = REPO_ROOT / "scripts" / "jobs"
SCENARIOS = {
    "synthetic": ("check", "psi", "vertical_lr", "secureboost"),
    "banks": ("horizontal",),
}

app = typer.Typer(help="Run a local fedcredit federation.", pretty_exceptions_enable=False)


def build(root: Path, n_firms: int, seed: int, console: Console) -> LocalFederation:
    """Data, certificates and configuration for the three synthetic holders."""
    started = time.perf_counter()
    fed = synthetic_federation(root, n_firms=n_firms, seed=seed)
    console.print(
        f"generated synthetic SME data ({n_firms} firms, seed {seed}) and a federation CA "
        f"with certificates in {fed.certs} ({time.perf_counter() - started:.1f}s)"
    )
    return fed


def show_federation(fed: LocalFederation, console: Console) -> None:
    stub = fed.coordinator()
    nodes = list(stub.ListNodes(coordinator_pb2.ListNodesRequest()).nodes)
    console.print(nodes_table(nodes))
    health = Table("server", "port", "gRPC health")
    health.add_row("coordinator", str(fed.coordinator_port), fed.health())
    for node_id, port in fed.node_ports.items():
        with open_channel(f"127.0.0.1:{port}", fed.certs, "operator", peer=node_id) as ch:
            health.add_row(node_id, str(port), health_status(ch))
    console.print(health)


def run_job(fed: LocalFederation, name: str, console: Console) -> dict[str, Any]:
    spec = (JOB_DIR / f"{name}.yaml").read_text()
    console.rule(f"job: {name}")
    job_id = fed.submit(spec, job_id=f"demo-{name}-{int(time.time())}")
    stub = fed.coordinator()
    watch_job(stub, job_id, console)
    status = fed.wait_job(job_id)
    result = job_dict(status)
    colour = "green" if status.state == "succeeded" else "red"
    console.print(f"{name}: [{colour}]{status.state}[/{colour}] {status.error}")
    return result


def verify_logs(fed: LocalFederation, console: Console) -> list[dict[str, Any]]:
    """Verify each access log from its entries against the checkpoint the witness holds.

    The public key comes from the party's certificate and the anchor checkpoint from the
    coordinator's witness, not from the log itself: that is what an auditor would trust.
    """
    rows = []
    table = Table("log", "entries", "anchor", "verified")
    witness = CheckpointWitness(fed.root / "state" / "coordinator" / "witness.sqlite")
    try:
        for party in ["coordinator", *fed.node_ports]:
            identity = identity_from_certificate((fed.certs / f"{party}.crt").read_bytes())
            key = Ed25519PublicKey.from_public_bytes(identity.sign_public)
            anchor = None if party == "coordinator" else witness.latest(party)
            reader = LogReader.open(fed.root / "state" / party / "audit")
            try:
                report = verify_log(reader, key, anchor)
                ok, size = True, report.log_size
                where = "witness" if anchor else "own"
            except TamperDetected as exc:
                ok, size, where = False, -1, str(exc)
            finally:
                reader.close()
            rows.append({"log": party, "entries": size, "ok": ok})
            table.add_row(party, str(size), where, "[green]yes[/green]" if ok else "[red]NO[/red]")
    finally:
        witness.close()
    console.print(table)
    return rows


def print_summary(results: dict[str, dict[str, Any]], console: Console) -> None:
    """One line per job, and the vertical model beside the bank alone."""
    table = Table("job", "state", "outcome")
    for name, job in results.items():
        table.add_row(
            name, job["state"], outcome(job["type"], job["state"], job["result"], job["error"])
        )
    console.print(table)
    for job in results.values():
        if job["state"] == "succeeded":
            print_model(job["type"], job["result"], console)


@app.command()
def up(
    workdir: Annotated[Path, typer.Option(help="where data, certificates and state go")] = Path(
        "var/local-federation"
    ),
    scenario: Annotated[
        str,
        typer.Option(
            help="synthetic: government, bank and third-party nodes on generated SME data; "
            "banks: three bank nodes on the horizontal split of the bundled default_credit data"
        ),
    ] = "synthetic",
    n_firms: Annotated[int, typer.Option(help="synthetic firms")] = 20_000,
    seed: Annotated[int, typer.Option(help="data seed")] = 7,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="folder of default_credit files (banks scenario; default: the bundled copy)"
        ),
    ] = None,
    jobs: Annotated[str, typer.Option(help="comma-separated demo jobs to run")] = "",
    fresh: Annotated[bool, typer.Option(help="start from an empty workdir")] = True,
) -> None:
    """Start a local federation as separate processes, run jobs, verify the logs, stop."""
    console = Console()
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"--scenario must be one of {', '.join(SCENARIOS)}")
    # Paths given here are relative to where the command runs; the generated configuration
    # files carry them absolute (the daemons read them from another folder).
    workdir = workdir.expanduser().resolve()
    data_dir = data_dir.expanduser().resolve() if data_dir else None
    names = [j.strip() for j in (jobs or ",".join(SCENARIOS[scenario])).split(",") if j.strip()]
    unknown = [n for n in names if not (JOB_DIR / f"{n}.yaml").is_file()]
    if unknown:
        known = sorted(p.stem for p in JOB_DIR.glob("*.yaml"))
        raise typer.BadParameter(f"no demo job {unknown}; choose from {', '.join(known)}")
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    if scenario == "banks":
        data = data_dir or bundled.extract(workdir / "data" / "default_credit")
        if not (data / "default_credit_homo_guest.csv").exists():
            raise typer.BadParameter(f"no default_credit files in {data}; pass --data-dir")
        fed = default_credit_banks(workdir, data)
        console.print(f"three bank nodes on the horizontal split in {data}")
    else:
        fed = build(workdir, n_firms, seed, console)
    results: dict[str, dict[str, Any]] = {}
    failure = ""
    try:
        t0 = time.perf_counter()
        fed.start()
        console.print(f"federation up in {time.perf_counter() - t0:.1f}s")
        show_federation(fed, console)
        for name in names:
            results[name] = run_job(fed, name, console)
    except FederationError as exc:
        failure = str(exc)
    finally:
        codes = fed.stop()
        console.print(f"stopped all processes, exit codes: {codes}")
    if failure:
        Console(stderr=True).print(f"[red]{failure}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(ExitCode.JOB_FAILED)
    console.rule("access logs")
    audit = verify_logs(fed, console)
    summary = {
        "jobs": {n: {"state": r["state"], "result": r["result"]} for n, r in results.items()},
        "audit": audit,
    }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
    console.rule("summary")
    print_summary(results, console)
    console.print(f"full results: {workdir / 'summary.json'}")
    failed = [n for n, r in results.items() if r["state"] != "succeeded"]
    if failed or not all(a["ok"] for a in audit) or any(codes.values()):
        console.print(f"[red]federation run had problems: failed jobs {failed}[/red]")
        raise typer.Exit(ExitCode.JOB_FAILED)


def main() -> None:
    run_guarded(app, "fedcredit-federation", {FederationError: ExitCode.JOB_FAILED})


if __name__ == "__main__":
    main()
