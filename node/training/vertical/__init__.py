"""Vertical federated logistic regression (Hardy et al. 2017) with a Paillier key holder."""

from node.training.vertical.arbiter import run_arbiter
from node.training.vertical.baseline import bank_only_metrics
from node.training.vertical.exceptions import (
    DataMismatch,
    JobRefused,
    MalformedMessage,
    PartyFailed,
    VerticalError,
)
from node.training.vertical.feature_holder import run_feature_holder
from node.training.vertical.label_holder import run_label_holder
from node.training.vertical.model import MODEL_FORMAT, PartyModel
from node.training.vertical.results import (
    ArbiterResult,
    FeatureHolderResult,
    LabelHolderResult,
    TrainingCourse,
)
from node.training.vertical.scorecard import ScorecardScaling
from node.training.vertical.simulate import run_in_memory
from node.training.vertical.spec import PartyData, VerticalSpec, spec_from_job

__all__ = [
    "MODEL_FORMAT",
    "ArbiterResult",
    "DataMismatch",
    "FeatureHolderResult",
    "JobRefused",
    "LabelHolderResult",
    "MalformedMessage",
    "PartyData",
    "PartyFailed",
    "PartyModel",
    "ScorecardScaling",
    "TrainingCourse",
    "VerticalError",
    "VerticalSpec",
    "bank_only_metrics",
    "run_arbiter",
    "run_feature_holder",
    "run_in_memory",
    "run_label_holder",
    "spec_from_job",
]
