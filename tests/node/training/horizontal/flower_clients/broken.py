"""A client whose fit fails, with a value in its error message (which must not travel)."""

from __future__ import annotations

from flwr.client import ClientApp, NumPyClient
from flwr.common import Context

from .pytorch_quickstart import Net, get_weights


class FlowerClient(NumPyClient):
    def get_parameters(self, config):  # type: ignore[no-untyped-def]
        return get_weights(Net())

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        raise ValueError("income 123456.78 is out of range")

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        return 0.0, 1, {}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    return FlowerClient().to_client()


app = ClientApp(client_fn)
