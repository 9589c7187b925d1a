"""Benchmark: horizontal federated training of banks, encrypted vs plaintext vs Flower.

Runs the banks' files (default: the bundled default-credit horizontal split, ``homo_guest``,
``homo_host_1``, ``homo_host_2``; held-out ``homo_test`` at the first bank) with the job's
defaults and prints a table, then — as the very last line — one JSON object:

- ``auc_encrypted``, ``auc_plaintext``: test AUC of the kept global model, Paillier
  aggregation and the same protocol with plaintext sums; ``auc_centralized``: the pooled
  model (logistic regression: scikit-learn fully fitted; MLP: the same network trained the
  same way on the pooled rows); ``auc_bank_alone``: each bank alone, trained the same way;
- ``round_s_encrypted_processes``: median seconds per round with the coordinator and one node
  process per bank on loopback mutual TLS, as the local federation runs them (the job's own
  progress events time the rounds); ``round_s_encrypted``/``round_s_plaintext``: the same
  protocol with the banks as threads of one process over the in-memory hub;
- ``round_s_flower``: Flower 1.42's FedAvg with the same clients and data on its deployment
  engine (``flower-superlink`` and one ``flower-supernode`` per bank on loopback, insecure,
  ``flwr run``; started and stopped here), median seconds per round once running;
  ``round_s_flower_with_startup``: its wall time from ``flwr run`` to the last round over the
  rounds (what a user waits per round, process start-up included); ``round_s_flower_legacy``:
  the deprecated ``start_server``/``start_client`` gRPC path, which does not poll;
- ``bytes_per_round_encrypted``, ``bytes_per_round_plaintext``: median bytes one bank sends per
  round (update, evaluation and metrics messages).

Usage: ``python scripts/bench/horizontal.py [--bank CSV --bank CSV ... --test CSV --label NAME
--id-column NAME] [--rounds N] [--model lr|mlp] [--flower both|deployment|legacy|none]
[--no-processes]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from coordinator.local.csv import horizontal_banks  # noqa: E402
from node.data import bundled  # noqa: E402
from node.jobs.hooks import MemoryHooks  # noqa: E402
from node.training.horizontal import (  # noqa: E402
    BankData,
    HorizontalSpec,
    TorchTrainer,
    parse_horizontal_spec,
)
from node.training.horizontal.baseline import bank_alone_metrics  # noqa: E402
from node.training.horizontal.data import prepare_bank_data  # noqa: E402
from node.training.horizontal.simulate import run_in_memory  # noqa: E402
from node.training.metrics import auc, ks  # noqa: E402
from protos.fedcredit.v1 import coordinator_pb2  # noqa: E402

BUNDLED = ("homo_guest", "homo_host_1", "homo_host_2")


@dataclass(frozen=True)
class Files:
    """The banks' CSV files (the first also holds the test firms) and their columns."""

    banks: tuple[Path, ...]
    test: Path
    label: str
    id_column: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"bank_{chr(ord('a') + i)}" for i in range(len(self.banks)))

    def features(self) -> list[str]:
        columns = pd.read_csv(self.banks[0], nrows=0).columns
        return [c for c in columns if c not in (self.id_column, self.label)]


def files_from(args: argparse.Namespace) -> Files:
    if args.bank:
        if len(args.bank) < 2 or not args.test:
            raise SystemExit("pass at least two --bank files and one --test file")
        return Files(tuple(Path(b) for b in args.bank), Path(args.test), args.label, args.id_column)
    folder = bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-bench-")))
    banks = tuple(folder / f"default_credit_{b}.csv" for b in BUNDLED)
    return Files(banks, folder / "default_credit_homo_test.csv", "y", "id")


def load_banks(files: Files, spec: HorizontalSpec) -> dict[str, BankData]:
    """Each bank's rows, split and prepared with its own preparation; the test set at bank_a."""
    test = pd.read_csv(files.test)
    out = {}
    for i, (name, path) in enumerate(zip(files.names, files.banks, strict=True)):
        out[name] = prepare_bank_data(
            pd.read_csv(path),
            files.features(),
            files.label,
            0.2,
            spec.seed,
            spec.preprocess,
            test if i == 0 else None,
        )[0]
    return out


class TimingHooks(MemoryHooks):
    """Memory hooks that also time each completed round."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        super().progress(stage, step, total, metrics)
        self.stamps.append(time.perf_counter())


def steady_rounds(stamps: list[float]) -> list[float]:
    """Seconds per round after the first (which also pays key set-up or process start)."""
    rounds = [b - a for a, b in itertools.pairwise(stamps)]
    return rounds or [float("nan")]


def run_federated(spec: HorizontalSpec, banks: dict[str, BankData]) -> dict[str, Any]:
    """The banks as threads of this process over the in-memory hub."""
    hooks = TimingHooks()
    trainers = {b: TorchTrainer(spec, banks[b], seed=i) for i, b in enumerate(banks)}
    results, failed = run_in_memory(spec, trainers, hooks={"coordinator": hooks})
    if failed:
        raise RuntimeError(f"federated run failed: {failed}")
    sent = [n for b in banks for n in results[b].bytes_sent_per_round]
    update = [n for b in banks for n in results[b].update_bytes_per_round]
    return {
        "params": results[next(iter(banks))].parameters,
        "round_s": statistics.median(steady_rounds(hooks.stamps)),
        "bytes_per_round": statistics.median(sent),
        "update_bytes": statistics.median(update),
        "coordinator": results["coordinator"],
    }


def run_processes(files: Files, section: dict[str, Any]) -> dict[str, Any]:
    """The coordinator and one node process per bank on loopback mTLS (the local federation)."""
    with tempfile.TemporaryDirectory(prefix="fedcredit-bench-fed-") as tmp:
        fed, parties = horizontal_banks(
            Path(tmp), list(files.banks), files.label, files.test, files.id_column
        )
        for name in list(parties)[1:]:
            parties[name].pop("test_dataset", None)  # the test firms are the first bank's
        job = {"type": "horizontal", "parties": parties, "horizontal": section}
        try:
            fed.start()
            job_id = fed.submit(json.dumps(job), job_id="bench-hfl")
            status = fed.wait_job(job_id, timeout=3600)
            request = coordinator_pb2.GetJobRequest(job_id=job_id)
            events = list(fed.coordinator().WatchJob(request))
        finally:
            fed.stop()
    if status.state != "succeeded":
        raise RuntimeError(f"the process run failed: {status.error}")
    stamps = [
        e.time
        for e in events
        if e.kind == "progress"
        and e.party == "coordinator"
        and json.loads(e.detail_json or "{}").get("stage") == "round"
    ]
    return {
        "round_s": statistics.median(steady_rounds(stamps)),
        "result": json.loads(status.result_json),
    }


def test_auc(spec: HorizontalSpec, bank: BankData, params: Any) -> tuple[float, float]:
    trainer = TorchTrainer(spec, bank)
    scored = trainer.scores(params, "test")
    assert scored is not None, "the first bank holds the test firms"
    scores, labels = scored
    return auc(labels, scores), ks(labels, scores)


def pooled(banks: dict[str, BankData]) -> BankData:
    """Every bank's rows in one table (the test firms stay those of the first bank)."""

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(banks[b], name) for b in banks])

    first = banks[next(iter(banks))]
    return BankData(
        cat("x_train"), cat("y_train"), cat("x_val"), cat("y_val"), first.x_test, first.y_test
    )


def centralized_auc(spec: HorizontalSpec, banks: dict[str, BankData]) -> float:
    """Logistic regression: scikit-learn fully fitted; MLP: the network trained the same way."""
    data = pooled(banks)
    assert data.x_test is not None and data.y_test is not None
    if spec.model.kind == "lr":
        model = LogisticRegression(max_iter=5000).fit(data.x_train, data.y_train)
        return auc(data.y_test, model.decision_function(data.x_test))
    return float(bank_alone_metrics(spec, data)["test_auc"])


# ---- Flower baseline: the same clients under Flower 1.42's own server -------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    """Block until something accepts connections on loopback ``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} ({timeout:.0f} s)") from None
            time.sleep(0.5)


def files_json(files: Files) -> str:
    return json.dumps(
        {
            "banks": [str(b) for b in files.banks],
            "test": str(files.test),
            "label": files.label,
            "id_column": files.id_column,
        }
    )


def files_from_json(text: str) -> Files:
    raw = json.loads(text)
    return Files(
        tuple(Path(b) for b in raw["banks"]), Path(raw["test"]), raw["label"], raw["id_column"]
    )


def _flower_client_process(address: str, section: dict[str, Any], index: int, files: str) -> None:
    """One Flower client process: a NumPyClient written as in Flower's quickstart."""
    import flwr
    from flwr.client import NumPyClient

    logging.getLogger("flwr").setLevel(logging.WARNING)
    bank_files = files_from_json(files)
    spec = parse_horizontal_spec(section, bank_files.names)
    banks = load_banks(bank_files, spec)
    trainer = TorchTrainer(spec, banks[bank_files.names[index]], seed=index)

    class FlowerClient(NumPyClient):
        def get_parameters(self, config):  # type: ignore[no-untyped-def]
            return trainer.get_parameters()

        def fit(self, parameters, config):  # type: ignore[no-untyped-def]
            result = trainer.fit(parameters, {"server_round": int(config.get("server_round", 0))})
            return result.parameters, result.num_examples, {}

        def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
            counts = trainer.evaluate(parameters, "val", spec.eval_bins)
            assert counts is not None
            return counts.loss_sum / counts.n, counts.n, {}

    flwr.client.start_client(
        server_address=address, client=FlowerClient().to_client(), insecure=True
    )


def run_flower(
    section: dict[str, Any], spec: HorizontalSpec, initial: Any, files: Files
) -> dict[str, Any]:
    import flwr
    from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.server.strategy import FedAvg

    logging.getLogger("flwr").setLevel(logging.WARNING)
    stamps: list[float] = []
    final: dict[str, Any] = {}

    class TimedFedAvg(FedAvg):
        def aggregate_evaluate(self, server_round, results, failures):  # type: ignore[no-untyped-def]
            stamps.append(time.perf_counter())
            return super().aggregate_evaluate(server_round, results, failures)

        def aggregate_fit(self, server_round, results, failures):  # type: ignore[no-untyped-def]
            out = super().aggregate_fit(server_round, results, failures)
            if out[0] is not None:
                final["params"] = parameters_to_ndarrays(out[0])
            return out

    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_flower_client_process,
            args=(f"127.0.0.1:{port}", section, i, files_json(files)),
        )
        for i in range(len(files.banks))
    ]
    for p in procs:
        p.start()
    strategy = TimedFedAvg(
        min_fit_clients=len(files.banks),
        min_evaluate_clients=len(files.banks),
        min_available_clients=len(files.banks),
        initial_parameters=ndarrays_to_parameters(initial),
    )
    start = time.perf_counter()
    flwr.server.start_server(
        server_address=f"127.0.0.1:{port}",
        config=flwr.server.ServerConfig(num_rounds=spec.rounds),
        strategy=strategy,
    )
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.terminate()
    # round 1 also waits for the client processes to start; take rounds 2.. when there are some
    rounds = [b - a for a, b in itertools.pairwise([start, *stamps])]
    rounds = rounds[1:] or rounds
    return {"round_s": statistics.median(rounds), "params": final["params"]}


# ---- Flower baseline, deployment engine: SuperLink + 3 SuperNodes + ``flwr run`` -------------

_APP_PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "fcbench"
version = "1.0.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "fedcredit"

[tool.flwr.app.components]
serverapp = "fcbench.server_app:app"
clientapp = "fcbench.client_app:app"

[tool.flwr.app.config]
num-server-rounds = {rounds}
section = '{section}'
timing-file = '{timing}'
repo = '{repo}'
files = '{files}'
"""

_APP_SERVER = """
import json, sys, time
from flwr.common import Context, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg


def server_fn(context: Context) -> ServerAppComponents:
    cfg = context.run_config
    sys.path.insert(0, cfg["repo"])
    from node.training.horizontal import parse_horizontal_spec
    from node.training.horizontal.models import build_model
    from node.training.horizontal.local import get_weights

    files = json.loads(cfg["files"])
    names = tuple(f"bank_{chr(ord('a') + i)}" for i in range(len(files["banks"])))
    spec = parse_horizontal_spec(json.loads(cfg["section"]), names)
    import pandas as pd
    columns = pd.read_csv(files["banks"][0], nrows=0).columns
    n_features = len([c for c in columns if c not in (files["id_column"], files["label"])])
    initial = get_weights(build_model(spec.model, n_features, spec.seed))
    timing = cfg["timing-file"]

    class Timed(FedAvg):
        def aggregate_evaluate(self, server_round, results, failures):
            with open(timing, "a") as f:
                f.write(json.dumps({"t": time.time(), "round": server_round}) + "\\n")
            return super().aggregate_evaluate(server_round, results, failures)

        def aggregate_fit(self, server_round, results, failures):
            out = super().aggregate_fit(server_round, results, failures)
            if out[0] is not None:
                params = [a.tolist() for a in parameters_to_ndarrays(out[0])]
                with open(timing + ".params", "w") as f:
                    json.dump(params, f)
            return out

    strategy = Timed(
        min_fit_clients=len(names),
        min_evaluate_clients=len(names),
        min_available_clients=len(names),
        initial_parameters=ndarrays_to_parameters(initial),
    )
    rounds = ServerConfig(num_rounds=int(cfg["num-server-rounds"]))
    return ServerAppComponents(strategy=strategy, config=rounds)


app = ServerApp(server_fn=server_fn)
"""

_APP_CLIENT = """
import json, sys
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context


def client_fn(context: Context):
    cfg = context.run_config
    sys.path.insert(0, cfg["repo"])
    sys.path.insert(0, cfg["repo"] + "/scripts/bench")
    import horizontal as bench
    from node.training.horizontal import TorchTrainer, parse_horizontal_spec

    index = int(context.node_config["partition-id"])
    files = bench.files_from_json(cfg["files"])
    spec = parse_horizontal_spec(json.loads(cfg["section"]), files.names)
    banks = bench.load_banks(files, spec)
    trainer = TorchTrainer(spec, banks[files.names[index]], seed=index)

    class FlowerClient(NumPyClient):
        def fit(self, parameters, config):
            result = trainer.fit(parameters, {"server_round": int(config.get("server_round", 0))})
            return result.parameters, result.num_examples, {}

        def evaluate(self, parameters, config):
            counts = trainer.evaluate(parameters, "val", spec.eval_bins)
            return counts.loss_sum / counts.n, counts.n, {}

    return FlowerClient().to_client()


app = ClientApp(client_fn=client_fn)
"""


def run_flower_deployment(
    section: dict[str, Any], spec: HorizontalSpec, files: Files
) -> dict[str, Any]:
    """Flower 1.42's deployment engine on loopback, started and stopped here (insecure)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fcbench-") as tmp:
        root = Path(tmp)
        app = root / "app"
        (app / "fcbench").mkdir(parents=True)
        timing = root / "timing.jsonl"
        (app / "pyproject.toml").write_text(
            _APP_PYPROJECT.format(
                rounds=spec.rounds,
                section=json.dumps(section),
                timing=timing,
                repo=REPO,
                files=files_json(files),
            )
        )
        (app / "fcbench" / "__init__.py").write_text("")
        (app / "fcbench" / "server_app.py").write_text(_APP_SERVER)
        (app / "fcbench" / "client_app.py").write_text(_APP_CLIENT)
        home = root / "flwr-home"
        home.mkdir()
        link = _free_port()
        (home / "config.toml").write_text(
            f'[superlink]\ndefault = "bench"\n\n[superlink.bench]\n'
            f'address = "127.0.0.1:{link}"\ninsecure = true\n'
        )
        env = {**os.environ, "FLWR_HOME": str(home)}
        bindir = Path(sys.executable).parent
        logs = open(root / "flower.log", "w")  # noqa: SIM115 - closed below
        procs = [
            subprocess.Popen(
                [
                    str(bindir / "flower-superlink"),
                    "--insecure",
                    f"--port={link}",
                ],
                env=env,
                stdout=logs,
                stderr=subprocess.STDOUT,
            )
        ]
        for i in range(len(files.banks)):
            procs.append(
                subprocess.Popen(
                    [
                        str(bindir / "flower-supernode"),
                        "--insecure",
                        f"--superlink=127.0.0.1:{link}",
                        f"--port={_free_port()}",
                        f"--node-config=partition-id={i}",
                    ],
                    env=env,
                    stdout=logs,
                    stderr=subprocess.STDOUT,
                )
            )
        stamps: list[float] = []
        failed = ""
        try:
            _wait_for_port(link, timeout=180.0)  # a loaded machine starts the SuperLink slowly
            time.sleep(5)  # the SuperNodes retry their connection every few seconds
            launched = time.time()
            done = subprocess.run(
                [str(bindir / "flwr"), "run", str(app), "bench", "--stream"],
                env=env,
                cwd=app,
                stdout=logs,
                stderr=subprocess.STDOUT,
                timeout=60 + 120 * spec.rounds,
            )
            if done.returncode != 0:
                failed = f"flwr run exited with {done.returncode}"
            else:
                stamps = [json.loads(line)["t"] for line in timing.read_text().splitlines()]
                params = [
                    np.asarray(a, dtype=np.float32)
                    for a in json.loads(Path(str(timing) + ".params").read_text())
                ]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            logs.close()
            log_text = (root / "flower.log").read_text()[-3000:]
            if os.environ.get("FCBENCH_FLOWER_LOG") or failed:
                print(log_text)
            if failed:
                raise RuntimeError(f"Flower deployment run failed: {failed} (its log above)")
        if len(stamps) < 2:
            raise RuntimeError(f"Flower deployment run recorded too few rounds:\n{log_text}")
        rounds = [b - a for a, b in itertools.pairwise(stamps)]
        return {
            "round_s": statistics.median(rounds),
            "round_s_with_startup": (stamps[-1] - launched) / len(stamps),
            "params": params,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", action="append", default=[], help="a bank's CSV (repeat)")
    parser.add_argument("--test", help="held-out firms' CSV (at the first bank)")
    parser.add_argument("--label", default="y")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--rounds", type=int, default=0, help="rounds (default: the job's)")
    parser.add_argument("--model", choices=("lr", "mlp"), default="lr")
    parser.add_argument(
        "--flower",
        choices=("both", "deployment", "legacy", "none"),
        default="both",
        help="Flower baseline: deployment engine (SuperLink/SuperNodes), legacy server, or both",
    )
    parser.add_argument("--no-processes", action="store_true", help="skip the node-process run")
    args = parser.parse_args()

    files = files_from(args)
    section: dict[str, Any] = {"model": {"kind": args.model}, "max_samples_per_bank": 1 << 16}
    if args.rounds:
        section["rounds"] = args.rounds
    enc_spec = parse_horizontal_spec(section, files.names)
    plain_spec = parse_horizontal_spec({**section, "encryption": "none"}, files.names)
    banks = load_banks(files, enc_spec)
    first = files.names[0]

    encrypted = run_federated(enc_spec, banks)
    plaintext = run_federated(plain_spec, banks)
    processes = {"round_s": float("nan")}
    if not args.no_processes:
        processes = run_processes(files, section)
    auc_enc, ks_enc = test_auc(enc_spec, banks[first], encrypted["params"])
    auc_plain, _ = test_auc(enc_spec, banks[first], plaintext["params"])
    auc_central = centralized_auc(enc_spec, banks)
    alone = []
    for name in files.names:
        data = banks[name]
        with_test = BankData(
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            banks[first].x_test,
            banks[first].y_test,
        )
        alone.append(round(float(bank_alone_metrics(enc_spec, with_test)["test_auc"]), 4))
    n_params = sum(int(np.prod(p.shape)) for p in encrypted["params"])
    rounds_run = encrypted["coordinator"].rounds_completed
    flower_section = {**section, "rounds": rounds_run}
    flower_spec = parse_horizontal_spec(flower_section, files.names)
    nan = float("nan")
    none: dict[str, Any] = {"round_s": nan, "round_s_with_startup": nan, "params": None}
    flower, legacy = none, none
    if args.flower in ("both", "deployment"):
        flower = run_flower_deployment(flower_section, flower_spec, files)
    if args.flower in ("both", "legacy"):
        initial = TorchTrainer(enc_spec, banks[first]).get_parameters()
        legacy = run_flower(flower_section, flower_spec, initial, files)

    def flower_auc(run: dict[str, Any]) -> float:
        if run["params"] is None:
            return nan
        return test_auc(enc_spec, banks[first], run["params"])[0]

    auc_flower, auc_legacy = flower_auc(flower), flower_auc(legacy)
    final = encrypted["coordinator"].final
    kept = encrypted["coordinator"].kept_round

    rows = [
        ("model", f"{args.model} ({n_params} parameters), {len(files.banks)} banks"),
        ("rounds run / kept", f"{rounds_run} ({encrypted['coordinator'].stopped}) / {kept}"),
        ("test AUC encrypted / plaintext", f"{auc_enc:.4f} / {auc_plain:.4f}"),
        ("test KS encrypted", f"{ks_enc:.4f}"),
        (
            "federated test AUC / KS (from counts)",
            f"{final.get('test_auc', nan):.4f} / {final.get('test_ks', nan):.4f}",
        ),
        (
            "calibrated test log-loss / Brier",
            f"{final.get('test_log_loss', nan):.4f} / {final.get('test_brier', nan):.4f}",
        ),
        ("test AUC centralized (pooled)", f"{auc_central:.4f}"),
        ("test AUC each bank alone", ", ".join(f"{a:.4f}" for a in alone)),
        ("test AUC Flower FedAvg deployment / legacy", f"{auc_flower:.4f} / {auc_legacy:.4f}"),
        ("s / round encrypted, node processes on mTLS", f"{processes['round_s']:.3f}"),
        ("s / round encrypted, threads in one process", f"{encrypted['round_s']:.3f}"),
        ("s / round plaintext, threads in one process", f"{plaintext['round_s']:.3f}"),
        ("s / round Flower 1.42 deployment engine", f"{flower['round_s']:.3f}"),
        ("s / round Flower deployment incl. start-up", f"{flower['round_s_with_startup']:.3f}"),
        ("s / round Flower 1.42 legacy gRPC server", f"{legacy['round_s']:.3f}"),
        ("bytes / round / bank encrypted", f"{encrypted['bytes_per_round']:.0f}"),
        ("bytes / round / bank plaintext", f"{plaintext['bytes_per_round']:.0f}"),
        ("update message / bank encrypted", f"{encrypted['update_bytes']:.0f}"),
        ("update message / bank plaintext", f"{plaintext['update_bytes']:.0f}"),
        ("raw float32 update size (bytes)", f"{4 * n_params}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(
        "Flower ran the same clients, data and number of rounds; our rounds are timed after the "
        "first (key set-up), Flower's after its first aggregation"
    )
    print(
        json.dumps(
            {
                "model": args.model,
                "rounds": rounds_run,
                "kept_round": kept,
                "auc_encrypted": round(auc_enc, 4),
                "auc_plaintext": round(auc_plain, 4),
                "auc_centralized": round(auc_central, 4),
                "auc_bank_alone": alone,
                "auc_flower": round(auc_flower, 4),
                "auc_flower_legacy": round(auc_legacy, 4),
                "ks_encrypted": round(ks_enc, 4),
                "log_loss_encrypted": round(final.get("test_log_loss", nan), 4),
                "round_s_encrypted_processes": round(processes["round_s"], 4),
                "round_s_encrypted": round(encrypted["round_s"], 4),
                "round_s_plaintext": round(plaintext["round_s"], 4),
                "round_s_flower": round(flower["round_s"], 4),
                "round_s_flower_with_startup": round(flower["round_s_with_startup"], 4),
                "round_s_flower_legacy": round(legacy["round_s"], 4),
                "speedup_vs_flower": round(flower["round_s"] / processes["round_s"], 1),
                "speedup_vs_flower_with_startup": round(
                    flower["round_s_with_startup"] / processes["round_s"], 1
                ),
                "speedup_vs_flower_legacy": round(legacy["round_s"] / processes["round_s"], 1),
                "encryption_overhead": round(encrypted["round_s"] / plaintext["round_s"], 2),
                "bytes_per_round_encrypted": int(encrypted["bytes_per_round"]),
                "bytes_per_round_plaintext": int(plaintext["bytes_per_round"]),
                "update_bytes_encrypted": int(encrypted["update_bytes"]),
                "update_bytes_plaintext": int(plaintext["update_bytes"]),
                "update_bytes_float32": 4 * n_params,
                "processes": "ours: coordinator + one node per bank (each with its worker pool), "
                "loopback mTLS; Flower: superlink + one supernode per bank + flwr run, insecure",
            }
        )
    )


if __name__ == "__main__":
    main()
