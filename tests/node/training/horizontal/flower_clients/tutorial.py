"""In the shape of Flower's step-by-step tutorial: a ``client_fn`` (no ClientApp) building a
NumPyClient from the partition it is given; the job names ``client_fn`` itself."""

from __future__ import annotations

import torch
from flwr.client import NumPyClient
from flwr.common import Context
from torch.utils.data import DataLoader, TensorDataset

from .data import load_data
from .pytorch_quickstart import Net, get_weights, set_weights


def train(net, trainloader, epochs: int):  # type: ignore[no-untyped-def]
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(net.parameters())
    net.train()
    for _ in range(epochs):
        for features, labels in trainloader:
            optimizer.zero_grad()
            criterion(net(features), labels).backward()
            optimizer.step()


def test(net, testloader):  # type: ignore[no-untyped-def]
    criterion = torch.nn.BCEWithLogitsLoss()
    total, loss = 0, 0.0
    net.eval()
    with torch.no_grad():
        for features, labels in testloader:
            loss += criterion(net(features), labels).item() * len(labels)
            total += len(labels)
    return loss / total, 0.0


test.__test__ = False  # type: ignore[attr-defined]


class FlowerClient(NumPyClient):
    def __init__(self, partition_id, net, trainloader, valloader):  # type: ignore[no-untyped-def]
        self.partition_id = partition_id
        self.net = net
        self.trainloader = trainloader
        self.valloader = valloader

    def get_parameters(self, config):  # type: ignore[no-untyped-def]
        return get_weights(self.net)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        set_weights(self.net, parameters)
        train(self.net, self.trainloader, epochs=int(config["local_epochs"]))
        return get_weights(self.net), len(self.trainloader.dataset), {}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        set_weights(self.net, parameters)
        loss, accuracy = test(self.net, self.valloader)
        return float(loss), len(self.valloader.dataset), {"accuracy": float(accuracy)}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    partition_id = int(context.node_config["partition-id"])
    x, y, xv, yv = load_data(context)
    trainloader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), 32, True)
    valloader = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)), 32)
    return FlowerClient(partition_id, Net(), trainloader, valloader).to_client()
