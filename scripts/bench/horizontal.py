"""Benchmark: horizontal federated training of three banks, encrypted vs plaintext vs Flower.

Runs on the bundled default-credit horizontal split (``homo_guest``, ``homo_host_1``,
``homo_host_2``; held-out ``homo_test``) and prints a table, then — as the very last line — one
JSON object with the figures issue 5 names:

- ``auc_encrypted``, ``auc_plaintext``: hold-out AUC of the final federated model, Paillier
  aggregation and the same protocol with plaintext sums;
- ``auc_centralized``: the same model and optimiser trained on the three banks pooled, for the
  same number of epochs; ``auc_bank_alone``: each bank alone;
- ``round_s_encrypted``, ``round_s_plaintext``, ``round_s_flower``: median seconds per round;
  Flower 1.42 runs the same FedAvg with the same clients and data on its deployment engine
  (``flower-superlink`` and three ``flower-supernode`` processes on loopback, insecure, run by
  ``flwr run``; started and stopped here). ``round_s_flower_legacy`` is the same run over the
  deprecated ``flwr.server.start_server`` / ``flwr.client.start_client`` gRPC path, which does
  not poll and is much faster;
- ``bytes_per_round_encrypted``, ``bytes_per_round_plaintext``: median bytes one bank sends per
  round (update, evaluation and metrics messages).

Usage: ``python scripts/bench/horizontal.py [--rounds 10] [--model lr|mlp] [--no-flower]``.
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
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from node.data import bundled  # noqa: E402
from node.jobs.hooks import MemoryHooks  # noqa: E402
from node.training.horizontal import (  # noqa: E402
    BankData,
    HorizontalSpec,
    TorchTrainer,
    parse_horizontal_spec,
    read_labelled_csv,
    run_aggregator,
    run_bank,
    split_bank_data,
)
from node.training.metrics import auc, ks  # noqa: E402
from node.transport.memory import MemoryHub  # noqa: E402

BANKS = ("guest", "host_1", "host_2")


def data_dir() -> Path:
    """The bundled default_credit files, decompressed into a temporary folder."""
    return bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-bench-")))


def load_banks() -> tuple[dict[str, BankData], tuple[np.ndarray, np.ndarray]]:
    folder = data_dir()
    test = read_labelled_csv(folder / "default_credit_homo_test.csv")
    banks = {}
    for i, bank in enumerate(BANKS):
        x, y = read_labelled_csv(folder / f"default_credit_homo_{bank}.csv")
        held_out = test if bank == "guest" else None
        banks[bank] = split_bank_data(x, y, 0.2, seed=i, test=held_out)
    return banks, test


class TimingHooks(MemoryHooks):
    """Memory hooks that also time each completed round."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        super().progress(stage, step, total, metrics)
        self.stamps.append(time.perf_counter())


def run_federated(spec: HorizontalSpec, banks: dict[str, BankData]) -> dict[str, Any]:
    hub = MemoryHub(timeout=600.0)
    hooks = TimingHooks()
    results: dict[str, Any] = {}

    def go(name: str, fn: Any) -> None:
        try:
            results[name] = fn()
        except BaseException as exc:
            results[name] = exc

    threads = [
        threading.Thread(
            target=go,
            args=("coordinator", lambda: run_aggregator(hub.channel("coordinator"), hooks, spec)),
        )
    ]
    for i, bank in enumerate(BANKS):
        trainer = TorchTrainer(spec, banks[bank], seed=i)
        threads.append(
            threading.Thread(
                target=go,
                args=(
                    bank,
                    lambda b=bank, t=trainer: run_bank(hub.channel(b), MemoryHooks(), spec, t),
                ),
            )
        )
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = {k: v for k, v in results.items() if isinstance(v, BaseException)}
    if failed:
        raise RuntimeError(f"federated run failed: {failed}")
    stamps = [start, *hooks.stamps]
    # round 1 also pays key generation; the median over all rounds is robust to it
    rounds = [b - a for a, b in itertools.pairwise(stamps)]
    sent = [n for b in BANKS for n in results[b].bytes_sent_per_round]
    update = [n for b in BANKS for n in results[b].update_bytes_per_round]
    return {
        "params": results["guest"].parameters,
        "round_s": statistics.median(rounds),
        "bytes_per_round": statistics.median(sent),
        "update_bytes": statistics.median(update),
        "history": results["coordinator"].history,
    }


def test_auc(spec: HorizontalSpec, bank: BankData, params: Any, test: Any) -> tuple[float, float]:
    trainer = TorchTrainer(spec, bank)
    with_test = BankData(bank.x_train, bank.y_train, bank.x_val, bank.y_val, test[0], test[1])
    trainer.data = with_test
    scores, labels = trainer.scores(params, "test")
    return auc(labels, scores), ks(labels, scores)


def train_alone(spec: HorizontalSpec, data: BankData) -> Any:
    trainer = TorchTrainer(spec, data)
    params = trainer.get_parameters()
    for r in range(1, spec.rounds + 1):
        params = trainer.fit(params, {"server_round": r}).parameters
    return params


def pooled(banks: dict[str, BankData]) -> BankData:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(banks[b], name) for b in BANKS])

    return BankData(cat("x_train"), cat("y_train"), cat("x_val"), cat("y_val"))


# ---- Flower baseline: the same clients under Flower 1.42's own server -------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flower_client_process(address: str, section: dict[str, Any], index: int) -> None:
    """One Flower client process: a NumPyClient written as in Flower's quickstart."""
    import flwr
    from flwr.client import NumPyClient

    logging.getLogger("flwr").setLevel(logging.WARNING)
    banks, _ = load_banks()
    spec = parse_horizontal_spec(section, BANKS)
    trainer = TorchTrainer(spec, banks[BANKS[index]], seed=index)

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


def run_flower(section: dict[str, Any], spec: HorizontalSpec, initial: Any) -> dict[str, Any]:
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
        ctx.Process(target=_flower_client_process, args=(f"127.0.0.1:{port}", section, i))
        for i in range(len(BANKS))
    ]
    for p in procs:
        p.start()
    strategy = TimedFedAvg(
        min_fit_clients=3,
        min_evaluate_clients=3,
        min_available_clients=3,
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

    spec = parse_horizontal_spec(json.loads(cfg["section"]), ("guest", "host_1", "host_2"))
    initial = get_weights(build_model(spec.model, 23, spec.seed))
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
        min_fit_clients=3,
        min_evaluate_clients=3,
        min_available_clients=3,
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
    banks, _ = bench.load_banks()
    spec = parse_horizontal_spec(json.loads(cfg["section"]), bench.BANKS)
    trainer = TorchTrainer(spec, banks[bench.BANKS[index]], seed=index)

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


def run_flower_deployment(section: dict[str, Any], spec: HorizontalSpec) -> dict[str, Any]:
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
                rounds=spec.rounds, section=json.dumps(section), timing=timing, repo=REPO
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
        for i in range(len(BANKS)):
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
        try:
            time.sleep(5)
            subprocess.run(
                [str(bindir / "flwr"), "run", str(app), "bench", "--stream"],
                env=env,
                cwd=app,
                stdout=logs,
                stderr=subprocess.STDOUT,
                timeout=60 + 120 * spec.rounds,
                check=True,
            )
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
            if os.environ.get("FCBENCH_FLOWER_LOG"):
                print(log_text)
        if len(stamps) < 2:
            raise RuntimeError(f"Flower deployment run recorded too few rounds:\n{log_text}")
        rounds = [b - a for a, b in itertools.pairwise(stamps)]
        return {"round_s": statistics.median(rounds), "params": params}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", choices=("lr", "mlp"), default="lr")
    parser.add_argument(
        "--flower",
        choices=("both", "deployment", "legacy", "none"),
        default="both",
        help="Flower baseline: deployment engine (SuperLink/SuperNodes), legacy server, or both",
    )
    args = parser.parse_args()

    banks, test = load_banks()
    section: dict[str, Any] = {
        "model": {"kind": args.model},
        "rounds": args.rounds,
        "local_epochs": 1,
        "batch_size": 64,
        "learning_rate": 0.05,
        "quorum": 2,
        "max_samples_per_bank": 1 << 14,
        "eval_bins": 200,
    }
    enc_spec = parse_horizontal_spec(section, BANKS)
    plain_spec = parse_horizontal_spec({**section, "encryption": "none"}, BANKS)

    encrypted = run_federated(enc_spec, banks)
    plaintext = run_federated(plain_spec, banks)
    auc_enc, ks_enc = test_auc(enc_spec, banks["guest"], encrypted["params"], test)
    auc_plain, _ = test_auc(enc_spec, banks["guest"], plaintext["params"], test)
    central = pooled(banks)
    auc_central, _ = test_auc(enc_spec, central, train_alone(enc_spec, central), test)
    alone = [
        round(test_auc(enc_spec, banks[b], train_alone(enc_spec, banks[b]), test)[0], 4)
        for b in BANKS
    ]
    n_params = sum(int(np.prod(p.shape)) for p in encrypted["params"])
    none: dict[str, Any] = {"round_s": float("nan"), "params": None}
    flower, legacy = none, none
    if args.flower in ("both", "deployment"):
        flower = run_flower_deployment(section, enc_spec)
    if args.flower in ("both", "legacy"):
        initial = TorchTrainer(enc_spec, banks["guest"]).get_parameters()
        legacy = run_flower(section, enc_spec, initial)

    def flower_auc(run: dict[str, Any]) -> float:
        if run["params"] is None:
            return float("nan")
        return test_auc(enc_spec, banks["guest"], run["params"], test)[0]

    auc_flower, auc_legacy = flower_auc(flower), flower_auc(legacy)
    fed_test = encrypted["history"][-1]
    nan = float("nan")

    rows = [
        ("model", f"{args.model} ({n_params} parameters), {args.rounds} rounds, 3 banks"),
        ("hold-out AUC encrypted / plaintext", f"{auc_enc:.4f} / {auc_plain:.4f}"),
        ("hold-out KS encrypted", f"{ks_enc:.4f}"),
        (
            "federated hold-out AUC / KS (from counts)",
            f"{fed_test.get('test_auc', nan):.4f} / {fed_test.get('test_ks', nan):.4f}",
        ),
        ("hold-out AUC centralized (pooled)", f"{auc_central:.4f}"),
        ("hold-out AUC each bank alone", ", ".join(f"{a:.4f}" for a in alone)),
        ("hold-out AUC Flower FedAvg deployment / legacy", f"{auc_flower:.4f} / {auc_legacy:.4f}"),
        ("s / round encrypted", f"{encrypted['round_s']:.3f}"),
        ("s / round plaintext", f"{plaintext['round_s']:.3f}"),
        ("s / round Flower 1.42 deployment engine", f"{flower['round_s']:.3f}"),
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
    for h in encrypted["history"]:
        figures = " ".join(f"{k}={v:.4f}" for k, v in h.items() if k.startswith("val_"))
        print(f"  round {h['round']:>2}  banks={len(h['banks'])}  {figures}")
    print(
        json.dumps(
            {
                "model": args.model,
                "rounds": args.rounds,
                "auc_encrypted": round(auc_enc, 4),
                "auc_plaintext": round(auc_plain, 4),
                "auc_centralized": round(auc_central, 4),
                "auc_bank_alone": alone,
                "auc_flower": round(auc_flower, 4),
                "auc_flower_legacy": round(auc_legacy, 4),
                "ks_encrypted": round(ks_enc, 4),
                "round_s_encrypted": round(encrypted["round_s"], 4),
                "round_s_plaintext": round(plaintext["round_s"], 4),
                "round_s_flower": round(flower["round_s"], 4),
                "round_s_flower_legacy": round(legacy["round_s"], 4),
                "speedup_vs_flower": round(flower["round_s"] / encrypted["round_s"], 1),
                "speedup_vs_flower_legacy": round(legacy["round_s"] / encrypted["round_s"], 1),
                "encryption_overhead": round(encrypted["round_s"] / plaintext["round_s"], 2),
                "bytes_per_round_encrypted": int(encrypted["bytes_per_round"]),
                "bytes_per_round_plaintext": int(plaintext["bytes_per_round"]),
                "update_bytes_encrypted": int(encrypted["update_bytes"]),
                "update_bytes_plaintext": int(plaintext["update_bytes"]),
                "update_bytes_float32": 4 * n_params,
                "flower_engine": "deployment (flower-superlink + 3 flower-supernode + flwr run, "
                "insecure, loopback); legacy = flwr.server.start_server/start_client",
            }
        )
    )


if __name__ == "__main__":
    main()
