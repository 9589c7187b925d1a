"""Benchmark: horizontal federated training of three banks, encrypted vs plaintext vs Flower.

Runs on the shared default-credit horizontal split (``homo_guest``, ``homo_host_1``,
``homo_host_2``; held-out ``homo_test``) and prints a table, then — as the very last line — one
JSON object with the figures issue 5 names:

- ``auc_encrypted``, ``auc_plaintext``: hold-out AUC of the final federated model, Paillier
  aggregation and the same protocol with plaintext sums;
- ``auc_centralized``: the same model and optimiser trained on the three banks pooled, for the
  same number of epochs; ``auc_bank_alone``: each bank alone;
- ``round_s_encrypted``, ``round_s_plaintext``, ``round_s_flower``: median seconds per round
  (Flower 1.42 running the same FedAvg with the same clients over its legacy gRPC server on
  loopback: ``flwr.server.start_server`` and ``flwr.client.start_client``, one process per
  client);
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
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

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
    env = os.environ.get("FEDCREDIT_SHARED_DATA")
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base / "default_credit"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", choices=("lr", "mlp"), default="lr")
    parser.add_argument("--no-flower", action="store_true")
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
    flower: dict[str, Any] = {"round_s": float("nan"), "params": None}
    if not args.no_flower:
        initial = TorchTrainer(enc_spec, banks["guest"]).get_parameters()
        flower = run_flower(section, enc_spec, initial)
    auc_flower = (
        test_auc(enc_spec, banks["guest"], flower["params"], test)[0]
        if flower["params"] is not None
        else float("nan")
    )
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
        ("hold-out AUC Flower FedAvg", f"{auc_flower:.4f}"),
        ("s / round encrypted", f"{encrypted['round_s']:.3f}"),
        ("s / round plaintext", f"{plaintext['round_s']:.3f}"),
        ("s / round Flower 1.42 (legacy gRPC server)", f"{flower['round_s']:.3f}"),
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
                "ks_encrypted": round(ks_enc, 4),
                "round_s_encrypted": round(encrypted["round_s"], 4),
                "round_s_plaintext": round(plaintext["round_s"], 4),
                "round_s_flower": round(flower["round_s"], 4),
                "bytes_per_round_encrypted": int(encrypted["bytes_per_round"]),
                "bytes_per_round_plaintext": int(plaintext["bytes_per_round"]),
                "update_bytes_encrypted": int(encrypted["update_bytes"]),
                "update_bytes_plaintext": int(plaintext["update_bytes"]),
                "update_bytes_float32": 4 * n_params,
                "flower_engine": "legacy start_server/start_client over gRPC on loopback",
            }
        )
    )


if __name__ == "__main__":
    main()
