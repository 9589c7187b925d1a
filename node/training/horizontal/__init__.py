"""Horizontal federated training: banks with the same columns, Paillier-summed model updates.

The trainers (``TorchTrainer``, ``FlowerTrainer``) and a bank's job part (``party.py``, named
by the job-type registry) load torch and flwr, about a second of CPU: the trainers are
imported at their first use, so that the coordinator (which only aggregates) and the modules
that merely validate a job file do not pay for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from node.training.horizontal.aggregator import AggregatorResult, run_aggregator
from node.training.horizontal.bank import BankResult, run_bank
from node.training.horizontal.data import BankData, read_labelled_csv, split_bank_data
from node.training.horizontal.job import run_horizontal_coordinator, validate_horizontal_job
from node.training.horizontal.spec import HorizontalSpec, ModelSpec, parse_horizontal_spec
from node.training.horizontal.trainer import EvalCounts, FitResult, LocalTrainer

if TYPE_CHECKING:
    from node.training.horizontal.flower_adapter import FlowerTrainer
    from node.training.horizontal.local import TorchTrainer

# name -> the module that defines it and loads torch or flwr
_ON_FIRST_USE = {
    "FlowerTrainer": "node.training.horizontal.flower_adapter",
    "TorchTrainer": "node.training.horizontal.local",
}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_ON_FIRST_USE[name]), name)


__all__ = [
    "AggregatorResult",
    "BankData",
    "BankResult",
    "EvalCounts",
    "FitResult",
    "FlowerTrainer",
    "HorizontalSpec",
    "LocalTrainer",
    "ModelSpec",
    "TorchTrainer",
    "parse_horizontal_spec",
    "read_labelled_csv",
    "run_aggregator",
    "run_bank",
    "run_horizontal_coordinator",
    "split_bank_data",
    "validate_horizontal_job",
]
