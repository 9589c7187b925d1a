"""Benchmark: fedcredit at government size, on one machine and on Ray.

Parts (``--only psi,ray,horizontal,failover``; all by default):

- ``psi``: 10,000,000 ids (the government) against 1,000,000 (the bank), both read from
  Parquet files in chunks; leader, follower and the coordinator's summary role run as threads
  of this process over an in-memory hub, sharing one local worker pool. Figures:
  ``psi_10m_1m_s`` (end to end: read, validate, blind, exchange, match, deliver) and
  ``psi_10m_1m_peak_rss_mb``, the peak of the summed resident memory of this process and all
  its descendants (worker pool, its fork server), sampled from ``/proc`` every 0.1 s.
- ``ray``: the same Paillier bulk encryption (``encrypt_many``, 2048-bit key) through the
  local worker pool and through a Ray engine on a local Ray instance with as many CPUs as
  the pool has workers: ``paillier_enc_per_s_local`` and ``paillier_enc_per_s_ray`` (median
  of ``--repeats``), and their ratio.
- ``horizontal``: ``--banks`` bank node processes and a coordinator on loopback mutual TLS,
  one FedAvg round with Paillier-summed updates: ``horizontal_50_round_s`` (job submitted to
  job finished) and ``coordinator_rss_mb_50``.
- ``failover``: two coordinators on one PostgreSQL; the active one is killed mid-job:
  ``failover_s`` (kill to standby serving) and ``job_finished_after_failover``.

Prints a table, then as its very last line one JSON object with every figure (``null`` for
parts not run). Data: USCC ids drawn by the rules of ``node.data.uscc`` (seeded), written to
a temporary directory and removed afterwards.

Usage (from the repository root)::

    python scripts/bench/scale.py [--only psi,ray,horizontal,failover]
        [--psi-big 10000000] [--psi-small 1000000] [--psi-common 500000]
        [--paillier-values 4096] [--repeats 3] [--banks 50]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from node.compute import default_workers, worker_pool  # noqa: E402
from node.data import uscc  # noqa: E402
from node.jobs.hooks import MemoryHooks  # noqa: E402
from node.psi import (  # noqa: E402
    PsiResult,
    PsiSpec,
    run_psi_coordinator,
    run_psi_follower,
    run_psi_leader,
)
from node.psi.source import ids_from_file  # noqa: E402
from node.transport.memory import MemoryHub  # noqa: E402

PARTS = ("psi", "ray", "horizontal", "failover")


# --- resident memory of a process tree -------------------------------------------------------


class TreeRss:
    """Samples the summed resident memory of a process and all its descendants.

    Every ``interval`` seconds it reads the parent of every process from ``/proc/*/stat`` and
    the resident pages of the tree from ``/proc/PID/statm``; ``peak_mb`` is the largest sum
    seen. Pages shared between processes (the fork server's imports) count once per process,
    so the figure errs high. ``cpu_s`` is the CPU time (user + system) the tree used while
    sampled: on a machine shared with other work it says what the wall time would be alone.
    """

    def __init__(self, root: int, interval: float = 0.1) -> None:
        self.root, self.interval = root, interval
        self.peak_mb = 0.0
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._tick = os.sysconf("SC_CLK_TCK")
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-rss", daemon=True)

    def __enter__(self) -> TreeRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu_last[p] - self._cpu_first[p] for p in self._cpu_last)

    def sample(self) -> float:
        total = 0
        for pid, cpu in self.tree().items():
            total += self._rss(pid)
            # A process first seen after the start began at zero CPU time (a new worker).
            self._cpu_first.setdefault(pid, cpu if not self._cpu_last else 0.0)
            self._cpu_last[pid] = cpu
        self.peak_mb = max(self.peak_mb, total / 2**20)
        return total / 2**20

    def tree(self) -> dict[int, float]:
        """Every process of the tree and its CPU seconds so far."""
        children: dict[int, list[int]] = {}
        cpu: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / self._tick
        found: dict[int, float] = {}
        todo = [self.root]
        while todo:
            pid = todo.pop()
            found[pid] = cpu.get(pid, 0.0)
            todo.extend(children.get(pid, ()))
        return found

    def pss_mb(self) -> float:
        """Proportional set size of the tree now: shared pages split among their sharers."""
        total = 0
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as smaps:
                    for line in smaps:
                        if line.startswith(b"Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                continue
        return total / 2**20

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * self._page
        except (OSError, IndexError, ValueError):
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


# --- PSI at size -------------------------------------------------------------------------------


def uscc_codes(numbers: np.ndarray) -> np.ndarray:
    """Valid unified social credit codes (``S18``), one per distinct number, vectorised.

    Number ``k`` picks a division and the eight organisation characters; the two check
    characters follow GB 11714 and GB 32100-2015 as in ``node.data.uscc``.
    """
    alphabet = np.frombuffer(uscc.ALPHABET.encode(), dtype=np.uint8)
    org_alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n = len(numbers)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, 0], out[:, 1] = ord("9"), ord("1")
    divisions = np.array([list(d.encode()) for d in uscc.DIVISIONS], dtype=np.uint8)
    rest = numbers.copy()
    out[:, 2:8] = divisions[rest % len(divisions)]
    rest //= len(divisions)
    org_value = np.array([org_alphabet.index(c) for c in uscc.ALPHABET], dtype=np.int64)
    org_total = np.zeros(n, dtype=np.int64)
    for i, weight in enumerate((3, 7, 9, 10, 5, 8, 4, 2)):
        out[:, 8 + i] = alphabet[rest % 31]
        org_total += org_value[rest % 31] * weight
        rest //= 31
    c9 = 11 - org_total % 11
    out[:, 16] = np.where(c9 == 10, ord("X"), np.where(c9 == 11, ord("0"), ord("0") + c9))
    value = np.full(256, -1, dtype=np.int64)
    value[alphabet] = np.arange(31)
    total = np.zeros(n, dtype=np.int64)
    for i in range(17):
        total += value[out[:, i]] * pow(3, i, 31)
    out[:, 17] = alphabet[(31 - total % 31) % 31]
    return out.view("S18").ravel()


def make_psi_files(
    workdir: Path, big: int, small: int, common: int, seed: int
) -> tuple[Path, Path]:
    """Write ``gov.parquet`` (``big`` ids) and ``bank.parquet`` (``small``), ``common`` shared."""
    rng = np.random.default_rng(seed)
    wanted = big + small - common
    space = len(uscc.DIVISIONS) * 31**8
    numbers = np.unique(rng.integers(0, space, size=int(wanted * 1.01) + 16))
    rng.shuffle(numbers)
    numbers = numbers[:wanted]
    codes = uscc_codes(numbers)
    for code in codes[:: max(1, wanted // 1000)]:
        assert uscc.is_valid(code.decode()), code
    bank = np.concatenate([codes[:common], codes[big:]])
    gov = codes[:big]
    rng.shuffle(bank)
    rng.shuffle(gov)
    paths = []
    for name, ids in (("gov", gov), ("bank", bank)):
        path = workdir / f"{name}.parquet"
        with pq.ParquetWriter(path, pa.schema([("uscc", pa.string())])) as writer:
            for start in range(0, len(ids), 1_000_000):
                part = pa.array(ids[start : start + 1_000_000]).cast(pa.string())
                writer.write_table(pa.table({"uscc": part}))
        paths.append(path)
    return paths[0], paths[1]


class _NoTap(list[Any]):
    """The hub's traffic tap, switched off: at this size it would keep every message."""

    def append(self, item: Any) -> None:
        pass


def run_psi(big: int, small: int, common: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fedcredit-scale-") as tmp:
        gov_file, bank_file = make_psi_files(Path(tmp), big, small, common, seed=20261130)
        spec = PsiSpec(leader="bank", followers=("gov",), timeout_s=600.0)
        hub = MemoryHub("bench-scale-psi", timeout=600.0)
        hub.captured = _NoTap()
        results: dict[str, Any] = {}

        def party(name: str, role: Callable[..., PsiResult], path: Path, pool: Any) -> None:
            try:
                ids = ids_from_file(path, "uscc")
                results[name] = role(hub.channel(name), MemoryHooks(), spec, ids, pool)
            except Exception as exc:  # reported below
                results[name] = exc

        def coordinator() -> None:
            channel = hub.channel("coordinator")
            results["coordinator"] = run_psi_coordinator(channel, MemoryHooks(), spec)

        with TreeRss(os.getpid()) as rss, worker_pool(workers) as pool:
            list(pool.map(abs, range(workers)))  # start the workers before timing
            threads = [
                threading.Thread(target=party, args=("bank", run_psi_leader, bank_file, pool)),
                threading.Thread(target=party, args=("gov", run_psi_follower, gov_file, pool)),
                threading.Thread(target=coordinator),
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
        for name in ("bank", "gov"):
            if not isinstance(results.get(name), PsiResult):
                raise SystemExit(f"PSI failed at {name}: {results.get(name)!r}")
        if results["bank"].size != common or results["gov"].size != common:
            raise SystemExit(f"PSI found {results['bank'].size} common ids, expected {common}")
        gov_ids = pq.read_table(gov_file).column(0).take(pa.array(results["gov"].rows))
        bank_ids = pq.read_table(bank_file).column(0).take(pa.array(results["bank"].rows))
        if not gov_ids.equals(bank_ids):
            raise SystemExit("PSI delivered different shared orders to the two parties")
    return {
        "psi_10m_1m_s": round(seconds, 1),
        "psi_10m_1m_peak_rss_mb": round(rss.peak_mb),
        "psi_ids": big + small,
        "psi_common": common,
        "psi_ids_per_s": round((big + small) / seconds),
        "psi_cpu_s": round(rss.cpu_s, 1),
    }


# --- Paillier bulk encryption: local workers vs Ray --------------------------------------------


def run_ray(values: int, repeats: int, workers: int, key_bits: int) -> dict[str, Any]:
    """The same ``encrypt_many`` through the local pool and a local Ray instance, same CPUs."""
    from node.compute.ray_engine import RayExecutor
    from node.crypto.paillier import decrypt_many, encrypt_many, generate_keypair

    public, private = generate_keypair(key_bits)
    plain = [(-1) ** i * (i * 104_729) for i in range(values)]
    chunk = max(1, values // (8 * workers))  # 8 tasks per worker: balanced, pickling is noise

    def timed(pool: Any) -> tuple[float, list[int]]:
        started = time.perf_counter()
        cells = encrypt_many(public, plain, pool=pool, chunk=chunk)
        return time.perf_counter() - started, cells

    # Both engines stay up and are timed in turns, so a change in the machine's load over the
    # run weighs on both alike. Warm-up: start every worker and build its per-key tables.
    with worker_pool(workers) as pool:
        executor = RayExecutor(num_cpus=workers)
        try:
            for engine in (pool, executor):
                encrypt_many(public, plain[: chunk * workers * 4], pool=engine, chunk=chunk)
            local_times, ray_times = [], []
            for _ in range(repeats):
                local_times.append(timed(pool)[0])
                seconds, cells = timed(executor)
                ray_times.append(seconds)
        finally:
            executor.shutdown()
    local = values / statistics.median(local_times)
    on_ray = values / statistics.median(ray_times)
    if decrypt_many(private, cells, signed=True) != plain:
        raise SystemExit("ciphertexts made on Ray do not decrypt to the plaintexts")
    return {
        "paillier_enc_per_s_local": round(local, 1),
        "paillier_enc_per_s_ray": round(on_ray, 1),
        "paillier_ray_vs_local": round(on_ray / local, 3),
        "paillier_values": values,
        "paillier_key_bits": key_bits,
    }


# --- horizontal round with many banks -------------------------------------------------------


def split_banks(data: Path, banks: int, out: Path) -> dict[str, Path]:
    """The horizontal default_credit files, rows dealt round-robin to ``banks`` banks."""
    import pandas as pd

    parts = ("homo_guest", "homo_host_1", "homo_host_2")
    rows = pd.concat([pd.read_csv(data / f"default_credit_{p}.csv") for p in parts])
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for b in range(banks):
        path = out / f"bank_{b:02d}.csv"
        rows.iloc[b::banks].to_csv(path, index=False)
        files[f"bank_{b:02d}"] = path
    return files


def prefork_nodes(configs: list[str]) -> int:
    """Run one node per config as forks of this process, which imported the node code once.

    Every node is its own process with its own gRPC server, mTLS channel and state, as when
    started one by one; forking after the imports shares the interpreter's and torch's code
    pages copy-on-write, as a pre-forking launcher on a real host would. SIGTERM is passed on
    to every node; this process ends when they have all stopped.
    """
    import signal

    os.environ["FEDCREDIT_WORKERS"] = "1"  # one worker per node, started only if needed
    from node.cli import node_daemon

    children = []
    for config in configs:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = node_daemon.main(["--config", config])
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


def run_horizontal(banks: int, rounds: int) -> dict[str, Any]:
    import signal
    import subprocess

    import yaml

    from coordinator.local.csv import csv_federation
    from node.data import bundled

    with tempfile.TemporaryDirectory(prefix="fedcredit-scale-hfl-") as tmp:
        root = Path(tmp)
        files = split_banks(bundled.extract(root / "default_credit"), banks, root / "banks")
        fed = csv_federation(
            root / "fed", {name: ("bank", f"org-{name}", path, "y") for name, path in files.items()}
        )
        names = list(files)
        # The generated policies know the three demo banks; register every bank of the bench.
        for name in names:
            policy_path = root / "fed" / "policies" / f"{name}.yaml"
            policy = yaml.safe_load(policy_path.read_text())
            policy["organizations"].update({f"org-{other}": "bank" for other in names})
            policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
        launcher = None
        try:
            started = time.perf_counter()
            fed.start_coordinator(timeout=120)
            configs = [str(fed.write_node_config(name)) for name in names]
            log = (root / "nodes.log").open("ab")
            launcher = subprocess.Popen(
                [sys.executable, __file__, "--prefork-nodes", *configs],
                stdout=log,
                stderr=log,
                cwd=REPO,
                start_new_session=True,
            )
            fed.wait_online(names, timeout=600)
            startup = time.perf_counter() - started
            job = {
                "type": "horizontal",
                "parties": {name: {"dataset": name, "label": "y"} for name in names},
                "horizontal": {
                    "model": {"kind": "lr"},
                    "rounds": rounds,
                    "quorum": max(2, (banks * 2) // 3),
                    "learning_rate": 0.1,
                },
            }
            coordinator_pid = fed.pid("coordinator")
            nodes = TreeRss(launcher.pid)
            with TreeRss(coordinator_pid) as coordinator_rss, nodes:
                submitted = time.perf_counter()
                status = fed.wait_job(fed.submit(yaml.safe_dump(job), job_id="scale-hfl"), 900)
                seconds = time.perf_counter() - submitted
            nodes_pss = nodes.pss_mb()
            round_ends = _round_ends(fed, "scale-hfl")
        finally:
            if launcher is not None:
                os.killpg(launcher.pid, signal.SIGTERM)
                try:
                    launcher.wait(120)
                except subprocess.TimeoutExpired:
                    os.killpg(launcher.pid, signal.SIGKILL)
                    launcher.wait()
            fed.stop()
        if status.state != "succeeded":
            raise SystemExit(f"horizontal job {status.state}: {status.error}")
        result = json.loads(status.result_json)
        history = result["coordinator"]["history"]
    # A round is the time between two rounds' ends at the aggregator; the first round also
    # carries the job's set-up (assignment, every bank deriving the Paillier key).
    steps = [b - a for a, b in itertools.pairwise(round_ends)]
    per_round = statistics.median(steps) if steps else seconds
    return {
        "horizontal_50_round_s": round(per_round, 2),
        "horizontal_job_s": round(seconds, 1),
        "horizontal_rounds": rounds,
        "coordinator_rss_mb_50": round(coordinator_rss.peak_mb),
        "horizontal_banks": banks,
        "horizontal_banks_in_last_round": len(history[-1]["banks"]),
        "horizontal_startup_s": round(startup, 1),
        "horizontal_nodes_rss_mb": round(nodes.peak_mb),
        "horizontal_nodes_pss_mb": round(nodes_pss),
        "horizontal_cpu_s": round(nodes.cpu_s + coordinator_rss.cpu_s, 1),
        "horizontal_val_auc": history[-1].get("val_auc"),
    }


def _round_ends(fed: Any, job_id: str) -> list[float]:
    """When the aggregator finished each round, from the job's stored events."""
    from protos.fedcredit.v1 import coordinator_pb2

    ends: dict[int, float] = {}
    for event in fed.coordinator().WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id)):
        detail = json.loads(event.detail_json or "{}")
        if event.party == "coordinator" and detail.get("stage") == "round":
            ends.setdefault(int(detail["step"]), event.time)
    return [ends[r] for r in sorted(ends)]


# --- failover --------------------------------------------------------------------------------


def run_failover(rounds: int, kill_after: int) -> dict[str, Any]:
    """Two coordinators on one PostgreSQL (started here), three banks; kill the active one."""
    import shutil
    import subprocess

    from coordinator.local.csv import default_credit_banks
    from coordinator.local.standby import CoordinatorPair
    from node.data import bundled
    from protos.fedcredit.v1 import coordinator_pb2

    script = REPO / "scripts" / "services" / "postgres.sh"
    pg_root = Path(tempfile.mkdtemp(prefix="fedcredit-scale-pg-"))
    pg_root.chmod(0o755)  # as root the server runs as the postgres user
    banks = ("bank_a", "bank_b", "bank_c")
    job = (
        "type: horizontal\nparties:\n"
        + "".join(f"  {b}: {{dataset: {b}, label: y}}\n" for b in banks)
        + f"horizontal:\n  model: {{kind: lr}}\n  rounds: {rounds}\n  quorum: 3\n"
    )
    try:
        url = subprocess.run(
            ["bash", str(script), "start", str(pg_root)], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        with tempfile.TemporaryDirectory(prefix="fedcredit-scale-fo-") as tmp:
            root = Path(tmp)
            fed = default_credit_banks(root / "fed", bundled.extract(root / "data"))
            pair = CoordinatorPair(fed, url)
            try:
                pair.start()
                for bank in banks:
                    fed.start_node(bank)
                fed.wait_online(list(banks), timeout=300)
                fed.submit(job, job_id="scale-failover")
                watch = fed.coordinator().WatchJob(
                    coordinator_pb2.GetJobRequest(job_id="scale-failover")
                )
                for event in watch:
                    detail = json.loads(event.detail_json or "{}")
                    if detail.get("stage") == "round" and detail.get("step", 0) >= kill_after:
                        break
                killed = pair.kill_active()
                serving = pair.wait_takeover(timeout=300)
                status = fed.wait_job("scale-failover", timeout=1800)
            finally:
                for bank in banks:
                    fed.stop_party(bank)
                pair.stop()
    finally:
        subprocess.run(["bash", str(script), "stop", str(pg_root)], capture_output=True)
        shutil.rmtree(pg_root, ignore_errors=True)
    return {
        "failover_s": round(serving - killed, 2),
        "job_finished_after_failover": status.state == "succeeded",
        "failover_job_attempts": status.attempt,
    }


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    parser.add_argument("--psi-big", type=int, default=10_000_000)
    parser.add_argument("--psi-small", type=int, default=1_000_000)
    parser.add_argument("--psi-common", type=int, default=500_000)
    parser.add_argument("--paillier-values", type=int, default=4096)
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--banks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--failover-rounds", type=int, default=6)
    parser.add_argument("--kill-after-round", type=int, default=2)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--prefork-nodes", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prefork_nodes:
        sys.exit(prefork_nodes(args.prefork_nodes))
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")

    figures: dict[str, Any] = {
        "psi_10m_1m_s": None,
        "psi_10m_1m_peak_rss_mb": None,
        "paillier_enc_per_s_local": None,
        "paillier_enc_per_s_ray": None,
        "horizontal_50_round_s": None,
        "coordinator_rss_mb_50": None,
        "failover_s": None,
        "job_finished_after_failover": None,
        "workers": args.workers,
        "cores": len(os.sched_getaffinity(0)),
    }
    rows: list[tuple[str, str, str]] = []
    if "psi" in parts:
        psi = run_psi(args.psi_big, args.psi_small, args.psi_common, args.workers)
        figures.update(psi)
        size = f"{args.psi_big:,} x {args.psi_small:,} ids, Parquet, streamed"
        rows.append(("PSI seconds", size, f"{psi['psi_10m_1m_s']:.1f} (target <= 360)"))
        rows.append(("PSI CPU seconds, tree", size, f"{psi['psi_cpu_s']:.1f}"))
        rows.append(
            ("PSI peak RSS MB, tree", size, f"{psi['psi_10m_1m_peak_rss_mb']} (target <= 4096)")
        )

    if "ray" in parts:
        ray_figures = run_ray(args.paillier_values, args.repeats, args.workers, args.key_bits)
        figures.update(ray_figures)
        work = f"encrypt {args.paillier_values:,} values, {args.key_bits}-bit key"
        local, on_ray = (
            ray_figures["paillier_enc_per_s_local"],
            ray_figures["paillier_enc_per_s_ray"],
        )
        rows.append(("Paillier enc/s, local pool", work, f"{local:,.1f}"))
        rows.append(("Paillier enc/s, Ray", work, f"{on_ray:,.1f}"))
        rows.append(
            ("Ray / local", work, f"{ray_figures['paillier_ray_vs_local']:.3f} (target >= 0.85)")
        )
    if "horizontal" in parts:
        hfl = run_horizontal(args.banks, args.rounds)
        figures.update(hfl)
        work = f"{args.banks} bank processes, FedAvg, {args.rounds} round(s)"
        rows.append(("round seconds", work, f"{hfl['horizontal_50_round_s']:.2f} (target <= 5)"))
        rows.append(("coordinator RSS MB", work, f"{hfl['coordinator_rss_mb_50']}"))
        rows.append(("all nodes RSS MB (sum)", work, f"{hfl['horizontal_nodes_rss_mb']}"))
        rows.append(("all nodes PSS MB (sum)", work, f"{hfl['horizontal_nodes_pss_mb']}"))
        rows.append(("CPU seconds, all processes", work, f"{hfl['horizontal_cpu_s']}"))
    if "failover" in parts:
        fo = run_failover(args.failover_rounds, args.kill_after_round)
        figures.update(fo)
        work = f"3 banks, {args.failover_rounds} rounds, kill after {args.kill_after_round}"
        rows.append(("failover seconds", work, f"{fo['failover_s']:.2f} (target <= 10)"))
        rows.append(("job finished after failover", work, str(fo["job_finished_after_failover"])))
    print(f"fedcredit at scale, {figures['cores']} cores, {args.workers} workers")
    print(f"{'figure':<28}{'work':<44}{'value':>26}")
    for name, work, value in rows:
        print(f"{name:<28}{work:<44}{value:>26}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
