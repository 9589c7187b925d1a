"""Deployed model parts at a node: the versioned registry scoring and early warning read.

Every party that holds a part of a trained model deploys that part here; scoring asks the
registry which version answers. Shared by ``node.scoring`` and post-loan monitoring.
"""

from node.models.exceptions import ModelError, ModelNotFound, PartFormatError
from node.models.logistic import LogisticPart
from node.models.part import ModelPart, PartInfo, load_part, part_from_job
from node.models.registry import Deployment, ModelRegistry
from node.models.secureboost import TreePart

__all__ = [
    "Deployment",
    "LogisticPart",
    "ModelError",
    "ModelNotFound",
    "ModelPart",
    "ModelRegistry",
    "PartFormatError",
    "PartInfo",
    "TreePart",
    "load_part",
    "part_from_job",
]
