"""Deploy a finished job's part at this node: the one step the CLI and the local demo share."""

from __future__ import annotations

from pathlib import Path

from node.data.datasets import NodeDatasets
from node.models.exceptions import ModelError
from node.models.part import JobContext, part_from_job
from node.models.registry import Deployment, ModelRegistry


def deploy_job(
    state_dir: Path,
    datasets: NodeDatasets,
    job: str,
    name: str = "sme-pd",
    dataset: str = "",
    preprocess: str = "log_standardize",
    promote: bool = True,
) -> Deployment:
    """Deploy this node's part of training job ``job`` as the next version of ``name``.

    Raises
    ------
    ModelError
        The node has no part of that job, serves several datasets and none was named, or the
        part cannot be deployed (``PartFormatError``).
    """
    output = state_dir / "jobs" / "models" / f"{job}.json"
    if not output.exists():
        raise ModelError(
            f"no model part of job {job!r} at this node ({output} is missing); "
            "deploy on a node that took part in the job, after it succeeded"
        )
    chosen = dataset or (datasets.names()[0] if len(datasets.names()) == 1 else "")
    if not chosen:
        raise ModelError(f"this node serves {datasets.names()}; name one with --dataset")
    loaded = datasets.get(chosen)
    part = part_from_job(
        output, loaded.frame, JobContext(chosen, loaded.schema.id_column, preprocess)
    )
    registry = ModelRegistry(state_dir)
    try:
        return registry.deploy(name, part, promote=promote)
    finally:
        registry.close()
