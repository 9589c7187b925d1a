"""In the shape of Flower's scikit-learn quickstart: a warm-started LogisticRegression whose
coefficients travel as NumPy arrays, a NumPyClient and a ``client_fn``."""

from __future__ import annotations

import warnings

import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from .data import load_data


def get_model_parameters(model):  # type: ignore[no-untyped-def]
    return [model.coef_, model.intercept_]


def set_model_params(model, params):  # type: ignore[no-untyped-def]
    model.coef_ = params[0]
    model.intercept_ = params[1]
    return model


def set_initial_params(model, n_features):  # type: ignore[no-untyped-def]
    model.classes_ = np.array([0.0, 1.0])
    model.coef_ = np.zeros((1, n_features))
    model.intercept_ = np.zeros((1,))


class FlowerClient(NumPyClient):
    def __init__(self, model, x_train, y_train, x_test, y_test):  # type: ignore[no-untyped-def]
        self.model = model
        self.x_train, self.y_train = x_train, y_train
        self.x_test, self.y_test = x_test, y_test

    def get_parameters(self, config):  # type: ignore[no-untyped-def]
        return get_model_parameters(self.model)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        set_model_params(self.model, parameters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(self.x_train, self.y_train)
        return get_model_parameters(self.model), len(self.x_train), {}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        set_model_params(self.model, parameters)
        loss = log_loss(self.y_test, self.model.predict_proba(self.x_test), labels=[0, 1])
        accuracy = self.model.score(self.x_test, self.y_test)
        return loss, len(self.x_test), {"accuracy": accuracy}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    x_train, y_train, x_test, y_test = load_data(context)
    model = LogisticRegression(
        penalty="l2", max_iter=int(context.run_config["local-epochs"]), warm_start=True
    )
    set_initial_params(model, x_train.shape[1])
    return FlowerClient(model, x_train, y_train, x_test, y_test).to_client()


app = ClientApp(client_fn=client_fn)
