"""Horizontal federated training: banks with the same columns, Paillier-summed model updates."""

from node.training.horizontal.aggregator import AggregatorResult, run_aggregator
from node.training.horizontal.bank import BankResult, run_bank
from node.training.horizontal.data import BankData, read_labelled_csv, split_bank_data
from node.training.horizontal.flower_adapter import FlowerTrainer
from node.training.horizontal.job import (
    run_horizontal_coordinator,
    run_horizontal_party,
    validate_horizontal_job,
)
from node.training.horizontal.local import TorchTrainer
from node.training.horizontal.spec import HorizontalSpec, ModelSpec, parse_horizontal_spec
from node.training.horizontal.trainer import EvalCounts, FitResult, LocalTrainer

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
    "run_horizontal_party",
    "split_bank_data",
    "validate_horizontal_job",
]
