"""In the shape of Flower's PyTorch quickstart: task (model, weights, train, test), a NumPyClient,
a ``client_fn`` reading the run config, and ``app = ClientApp(client_fn)``."""

from __future__ import annotations

from collections import OrderedDict

import torch
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .data import load_data

SEEN_CONFIG: list[dict] = []


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(23, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x))).squeeze(-1)


def get_weights(net):  # type: ignore[no-untyped-def]
    return [val.cpu().numpy() for _, val in net.state_dict().items()]


def set_weights(net, parameters):  # type: ignore[no-untyped-def]
    params_dict = zip(net.state_dict().keys(), parameters, strict=True)
    net.load_state_dict(OrderedDict({k: torch.tensor(v) for k, v in params_dict}), strict=True)


def train(net, trainloader, epochs, lr):  # type: ignore[no-untyped-def]
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    running_loss = 0.0
    for _ in range(epochs):
        for features, labels in trainloader:
            optimizer.zero_grad()
            loss = criterion(net(features), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return running_loss / len(trainloader)


def test(net, testloader):  # type: ignore[no-untyped-def]
    criterion = torch.nn.BCEWithLogitsLoss()
    loss = 0.0
    with torch.no_grad():
        for features, labels in testloader:
            loss += criterion(net(features), labels).item()
    return loss / len(testloader), 0.0


test.__test__ = False  # type: ignore[attr-defined]


class FlowerClient(NumPyClient):
    def __init__(self, net, trainloader, valloader, local_epochs):  # type: ignore[no-untyped-def]
        self.net = net
        self.trainloader = trainloader
        self.valloader = valloader
        self.local_epochs = local_epochs

    def get_parameters(self, config):  # type: ignore[no-untyped-def]
        return get_weights(self.net)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        SEEN_CONFIG.append(dict(config))
        set_weights(self.net, parameters)
        train_loss = train(self.net, self.trainloader, self.local_epochs, config["lr"])
        return get_weights(self.net), len(self.trainloader.dataset), {"train_loss": train_loss}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        set_weights(self.net, parameters)
        loss, accuracy = test(self.net, self.valloader)
        return loss, len(self.valloader.dataset), {"accuracy": accuracy}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    x, y, xv, yv = load_data(context)
    trainloader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), 32, True)
    valloader = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)), 64)
    local_epochs = int(context.run_config["local-epochs"])
    return FlowerClient(Net(), trainloader, valloader, local_epochs).to_client()


app = ClientApp(client_fn)
