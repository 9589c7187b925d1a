"""Drive a Flower client — a ``ClientApp``, a ``client_fn`` or a ``NumPyClient`` — as a bank.

Flower users write clients one of three ways: a ``NumPyClient`` (``get_parameters``, ``fit``,
``evaluate`` on lists of NumPy arrays), a ``client_fn(context)`` returning one, wrapped in a
``ClientApp(client_fn=...)``, or a ``ClientApp`` with ``@app.train()`` / ``@app.evaluate()``
functions on ``Message`` objects (Flower's current API). ``FlowerTrainer`` calls a client
exactly as Flower's own runtime does — it builds the ``Message`` Flower would send (legacy
``fitins``/``evaluateins`` records for a ``client_fn``, ``arrays``/``config`` records for
the Message API) and calls the ``ClientApp`` with a ``Context`` — so a client from Flower's
examples plugs in without edits. The job's ``run_config`` reaches the client both as
``context.run_config`` and inside every ``config`` (with Flower's keys ``server_round``,
``local_epochs``, ``proximal_mu``). What fedcredit adds — clipping, quantization, packing,
Paillier — happens around the client, never inside it.

A Flower client's ``evaluate`` returns one loss and an example count; it has no way to hand
back scores. Federated AUC, KS and calibration therefore need an optional ``scorer`` (a
function from parameters and split to probabilities and labels, run locally); without one,
rounds report the federated loss only.

A job names a client by ``module:attribute``; the node imports it only when its operator has
listed it in ``FEDCREDIT_FLOWER_CLIENTS`` (comma-separated ``module:attribute`` entries), since
importing a module runs its code on the node.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import flwr.compat.common.recorddict_compat as legacy
import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.common import (
    ArrayRecord,
    ConfigRecord,
    Context,
    EvaluateIns,
    FitIns,
    GetParametersIns,
    Message,
    MessageType,
    MessageTypeLegacy,
    Metadata,
    RecordDict,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.typing import Scalar
from numpy.typing import NDArray

from node.training.horizontal.evaluation import score_histograms
from node.training.horizontal.exceptions import TrainerError
from node.training.horizontal.params import Parameters
from node.training.horizontal.trainer import Config, EvalCounts, FitResult

ENV_ALLOWED: Final = "FEDCREDIT_FLOWER_CLIENTS"
Scorer = Callable[[Parameters, str], tuple[NDArray[np.float64], NDArray[np.float64]] | None]
ConfigValue = bool | float | int | str


def _allowed() -> set[str]:
    return {e.strip() for e in os.environ.get(ENV_ALLOWED, "").split(",") if e.strip()}


def load_reference(reference: str) -> Any:
    """Import ``module:attribute`` when the node's operator allows it.

    Raises
    ------
    TrainerError
        The reference is malformed, not allowed on this node, or does not import.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise TrainerError(f"{reference!r} is not module:attribute; name the client like that")
    if reference not in _allowed():
        raise TrainerError(
            f"this node does not allow the Flower client {reference!r}; its operator must add it "
            f"to {ENV_ALLOWED} (comma-separated module:attribute entries)"
        )
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise TrainerError(f"cannot import {module_name!r} ({type(exc).__name__})") from None
    except AttributeError:
        raise TrainerError(f"module {module_name!r} has no {attribute!r}") from None


def as_client_app(client: object) -> ClientApp:
    """A ``ClientApp`` for a ``ClientApp``, a ``client_fn`` or a ``NumPyClient``.

    Raises
    ------
    TypeError
        Anything else.
    """
    if isinstance(client, ClientApp):
        return client
    if isinstance(client, NumPyClient):
        return ClientApp(client_fn=lambda context: client.to_client())
    if callable(client):
        return ClientApp(client_fn=client)
    raise TypeError("client must be a flwr ClientApp, a client_fn or a NumPyClient")


def _uses_client_fn(app: ClientApp) -> bool:
    # A ClientApp built from a client_fn routes every message through it and expects the
    # legacy records (Flower's own handle_legacy_message_from_msgtype); one built with
    # @app.train() expects the Message API's ``arrays``/``config`` records.
    return getattr(app, "_call", None) is not None


def client_context(
    bank_index: int,
    banks: int,
    node_config: Mapping[str, ConfigValue],
    run_config: Mapping[str, ConfigValue],
) -> Context:
    """The ``Context`` a client sees: Flower's ``partition-id``/``num-partitions`` plus
    whatever the node adds (data paths, label), and the job's run config."""
    return Context(
        run_id=1,
        node_id=bank_index + 1,
        node_config={"partition-id": bank_index, "num-partitions": banks, **node_config},
        state=RecordDict(),
        run_config=dict(run_config),
    )


def _as_parameters(value: object, what: str) -> Parameters:
    if not isinstance(value, list) or not all(isinstance(a, np.ndarray) for a in value):
        raise TrainerError(f"{what} must return a list of NumPy arrays (Flower NDArrays)")
    if not value:
        raise TrainerError(f"{what} returned no parameters; implement it in the client")
    return [np.asarray(a, dtype=np.float32) for a in value]


def _examples(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TrainerError(f"{what} must return a positive num_examples")
    return value


class FlowerTrainer:
    """A ``LocalTrainer`` backed by a Flower client, called as Flower's runtime calls it.

    Parameters
    ----------
    client:
        A ``ClientApp``, a ``client_fn(context)`` or a ``NumPyClient``, used as is.
    initial_parameters:
        Starting weights when the client does not provide them (a Message-API ``ClientApp``
        has no ``get_parameters``; Flower's quickstarts give them to the strategy instead).
    scorer:
        Optional local scoring function for federated AUC/KS (see module docstring).
    context:
        What the client sees as ``context`` (``client_context``); a bare one by default.
    """

    def __init__(
        self,
        client: object,
        initial_parameters: Parameters | None = None,
        scorer: Scorer | None = None,
        context: Context | None = None,
    ) -> None:
        self.app = as_client_app(client)
        self.initial_parameters = initial_parameters
        self.scorer = scorer
        self.context = context or client_context(0, 1, {}, {})
        self.legacy = _uses_client_fn(self.app)

    def _call(self, kind: str, content: RecordDict) -> RecordDict:
        metadata = Metadata(
            run_id=self.context.run_id,
            message_id=f"fedcredit-{kind}-{time.monotonic_ns()}",
            src_node_id=0,
            dst_node_id=self.context.node_id,
            reply_to_message_id="",
            group_id="",
            created_at=time.time(),
            ttl=3600.0,
            message_type=kind,
        )
        # Flower's typed overloads leave out the metadata form its run time accepts (a local
        # call has no SuperLink to fill the metadata in)
        message = Message(content=content, metadata=metadata)  # type: ignore[call-overload]
        reply = self.app(message, self.context)
        if reply.has_error():
            raise TrainerError(f"the client answered {kind} with an error")
        return reply.content

    def _config(self, config: Config) -> dict[str, Scalar]:
        return {**self.context.run_config, **{k: v for k, v in config.items() if k != "bytes"}}

    def get_parameters(self) -> Parameters:
        if self.initial_parameters is not None:
            return [np.asarray(a, dtype=np.float32) for a in self.initial_parameters]
        if not self.legacy:
            raise TrainerError(
                "a Message-API ClientApp has no get_parameters; give the initial weights"
            )
        content = self._call(
            MessageTypeLegacy.GET_PARAMETERS,
            legacy.getparametersins_to_recorddict(GetParametersIns(config={})),
        )
        result = legacy.recorddict_to_getparametersres(content, keep_input=False)
        return _as_parameters(parameters_to_ndarrays(result.parameters), "get_parameters")

    def fit(self, parameters: Parameters, config: Config) -> FitResult:
        settings = self._config(config)
        n: object
        metrics: dict[str, object]
        if self.legacy:
            ins = FitIns(ndarrays_to_parameters(parameters), settings)
            content = self._call(MessageType.TRAIN, legacy.fitins_to_recorddict(ins, True))
            res = legacy.recorddict_to_fitres(content, keep_input=False)
            params, n, metrics = (
                parameters_to_ndarrays(res.parameters),
                res.num_examples,
                dict(res.metrics),
            )
        else:
            content = self._call(
                MessageType.TRAIN,
                RecordDict(
                    {"arrays": ArrayRecord(parameters), "config": ConfigRecord({**settings})}
                ),
            )
            if "arrays" not in content.array_records or "metrics" not in content.metric_records:
                raise TrainerError("the client's train reply lacks arrays or metrics")
            params = content.array_records["arrays"].to_numpy_ndarrays()
            metrics = dict(content.metric_records["metrics"])
            n = metrics.pop("num-examples", 0)
        numeric = {
            k: float(v)
            for k, v in dict(metrics).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return FitResult(_as_parameters(params, "fit"), _examples(n, "fit"), numeric)

    def _validation_loss(self, parameters: Parameters) -> tuple[float, int]:
        settings = self._config({})
        n: object
        loss: object
        if self.legacy:
            ins = EvaluateIns(ndarrays_to_parameters(parameters), settings)
            content = self._call(MessageType.EVALUATE, legacy.evaluateins_to_recorddict(ins, True))
            res = legacy.recorddict_to_evaluateres(content)
            loss, n = res.loss, res.num_examples
        else:
            content = self._call(
                MessageType.EVALUATE,
                RecordDict(
                    {"arrays": ArrayRecord(parameters), "config": ConfigRecord({**settings})}
                ),
            )
            records = content.metric_records
            metrics = dict(records["metrics"]) if "metrics" in records else {}
            n = metrics.get("num-examples", -1)
            loss = metrics.get("eval_loss", metrics.get("loss", math.nan))
        if (
            not isinstance(n, int)
            or n < 0
            or not isinstance(loss, int | float)
            or not math.isfinite(float(loss))
        ):
            raise TrainerError("evaluate must return a finite loss and num_examples >= 0")
        return float(loss), n

    def evaluate(self, parameters: Parameters, split: str, bins: int) -> EvalCounts | None:
        empty = np.zeros(0, dtype=np.int64)
        scored = self.scorer(parameters, split) if self.scorer else None
        if split == "val":
            loss, n = self._validation_loss(parameters)
            pos, neg = empty, empty
            if scored is not None:
                pos, neg = score_histograms(scored[0], scored[1], bins)
            return EvalCounts(pos=pos, neg=neg, loss_sum=loss * n, n=n)
        if scored is None:
            return None
        probs, y = scored
        p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
        loss_sum = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
        pos, neg = score_histograms(probs, y, bins)
        return EvalCounts(pos=pos, neg=neg, loss_sum=loss_sum, n=int(np.asarray(y).size))
