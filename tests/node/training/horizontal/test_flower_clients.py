"""Bring your own Flower client: job files name clients written like Flower's own examples.

Each client module under ``flower_clients/`` follows one of Flower's examples (PyTorch
quickstart, scikit-learn quickstart, the step-by-step tutorial, the Message API template).
A job names it as ``module:attribute``; the node imports it only when its operator allows it
(``FEDCREDIT_FLOWER_CLIENTS``), hands it the bank's policy-checked columns and the job's run
config, and runs it under Paillier aggregation like the built-in model.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from node.jobs.context import PartyContext
from node.jobs.hooks import MemoryHooks
from node.jobs.spec import parse_job_file
from node.training.horizontal.exceptions import BankFailed, TrainerError
from node.training.horizontal.flower_adapter import ENV_ALLOWED
from node.training.horizontal.job import run_horizontal_coordinator
from node.training.horizontal.party import run_horizontal_party
from node.transport.memory import MemoryHub

from .test_job import Datasets, Gate

PACKAGE = "tests.node.training.horizontal.flower_clients"
# the module object the node imports by the job's name (not a relative import of this test)
pytorch_quickstart = importlib.import_module(f"{PACKAGE}.pytorch_quickstart")
BANKS = ("guest", "host_1", "host_2")


def _job(client: str, rounds: int = 3, extra: str = "", timeout: float = 60.0) -> str:
    parties = "\n".join(f"  {b}: {{dataset: loans, label: y}}" for b in BANKS)
    return (
        f"type: horizontal\nparties:\n{parties}\n"
        f"horizontal:\n  rounds: {rounds}\n  key_bits: 2048\n  round_timeout_s: {timeout}\n"
        f"  flower: {{client: '{PACKAGE}.{client}'{extra}, "
        "run_config: {lr: 0.01, local-epochs: 1}}\n"
    )


def _run(default_credit_dir: Path, text: str, tmp_path: Path) -> tuple[dict[str, Any], Any]:
    job = parse_job_file(text)
    hub = MemoryHub(timeout=120)
    out: dict[str, Any] = {}

    def bank(name: str) -> None:
        frame = pd.read_csv(default_credit_dir / f"default_credit_homo_{name}.csv", nrows=1200)
        ctx = PartyContext(
            party=name,
            job_id="byo",
            attempt=1,
            parties=job.parties,
            spec=job.raw,
            channel=hub.channel(name),
            hooks=MemoryHooks(),
            datasets=Datasets(frame),
            gate=Gate(),
            workdir=tmp_path / name,
        )
        try:
            out[name] = run_horizontal_party(ctx)
        except Exception as exc:  # asserted on by the test
            out[name] = exc

    threads = [threading.Thread(target=bank, args=(b,), daemon=True) for b in BANKS]
    for t in threads:
        t.start()
    try:
        coordinator: Any = run_horizontal_coordinator(
            hub.channel("coordinator"), MemoryHooks(), job
        )
    except Exception as exc:  # asserted on by the test
        coordinator = exc
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a bank hung"
    return out, coordinator


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    names = (
        "pytorch_quickstart:app",
        "sklearn_logreg:app",
        "tutorial:client_fn",
        "message_api:app",
        "message_api:initial_arrays",
        "broken:app",
    )
    monkeypatch.setenv(ENV_ALLOWED, ",".join(f"{PACKAGE}.{n}" for n in names))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("client", "extra"),
    [
        ("pytorch_quickstart:app", ""),
        ("sklearn_logreg:app", ""),
        ("tutorial:client_fn", ""),
        ("message_api:app", f", initial: '{PACKAGE}.message_api:initial_arrays'"),
    ],
)
def test_flower_example_clients_train_as_banks(
    default_credit_dir: Path, tmp_path: Path, allowed: None, client: str, extra: str
) -> None:
    # prepare
    pytorch_quickstart.SEEN_CONFIG.clear()
    # execute
    banks, coordinator = _run(default_credit_dir, _job(client, extra=extra), tmp_path)
    # assert: every round completed with all banks, and the federated loss went down
    assert all(isinstance(banks[b], dict) for b in BANKS), banks
    history = coordinator["history"]
    assert [h["banks"] for h in history] == [list(BANKS)] * 3
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert all(banks[b]["history"] == banks["guest"]["history"] for b in BANKS)
    if client.startswith("pytorch_quickstart"):
        # the run config reached the client, beside Flower's own keys
        seen = pytorch_quickstart.SEEN_CONFIG[0]
        assert seen["lr"] == 0.01 and seen["local-epochs"] == 1 and seen["server_round"] == 1


def test_a_failing_client_fails_the_job_at_once_without_values(
    default_credit_dir: Path, tmp_path: Path, allowed: None
) -> None:
    # execute: a deadline of ten minutes would outlast the test's thread timeouts if waited out
    banks, coordinator = _run(default_credit_dir, _job("broken:app", timeout=600), tmp_path)
    # assert: the coordinator names the bank and the kind of failure, never the value
    assert isinstance(coordinator, BankFailed)
    assert coordinator.reason == "fit raised ValueError" and coordinator.round == 1
    assert "123456" not in str(coordinator)
    assert all(isinstance(banks[b], Exception) for b in BANKS)


def test_a_client_the_node_does_not_allow_is_refused(
    default_credit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare
    monkeypatch.setenv(ENV_ALLOWED, f"{PACKAGE}.sklearn_logreg:app")
    # execute
    banks, coordinator = _run(
        default_credit_dir, _job("pytorch_quickstart:app", timeout=600), tmp_path
    )
    # assert: the banks refuse, and the coordinator hears why at once
    assert isinstance(banks["guest"], TrainerError)
    assert ENV_ALLOWED in str(banks["guest"])
    assert isinstance(coordinator, BankFailed)
    assert coordinator.reason == "setup raised TrainerError" and coordinator.round == 0
