"""A Flower client written as in Flower's PyTorch quickstart, plugged in unchanged as a bank."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from flwr.client import NumPyClient
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from node.training.horizontal import BankData, FlowerTrainer
from node.training.horizontal.exceptions import TrainerError
from node.training.horizontal.params import flatten

from .conftest import BANKS, run_job, small_spec

# ---- task.py, in the shape of Flower's quickstart (model, get/set weights, train, test) -------


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(23, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x))).squeeze(-1)


def get_weights(net):  # type: ignore[no-untyped-def]
    return [val.cpu().numpy() for _, val in net.state_dict().items()]


def set_weights(net, parameters):  # type: ignore[no-untyped-def]
    params_dict = zip(net.state_dict().keys(), parameters, strict=True)
    state_dict = OrderedDict({k: torch.tensor(v) for k, v in params_dict})
    net.load_state_dict(state_dict, strict=True)


def train(net, trainloader, epochs, device):  # type: ignore[no-untyped-def]
    net.to(device)
    criterion = torch.nn.BCEWithLogitsLoss().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    net.train()
    running_loss = 0.0
    for _ in range(epochs):
        for features, labels in trainloader:
            optimizer.zero_grad()
            loss = criterion(net(features.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return running_loss / len(trainloader)


def test(net, testloader, device):  # type: ignore[no-untyped-def]
    net.to(device)
    criterion = torch.nn.BCEWithLogitsLoss()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for features, labels in testloader:
            outputs = net(features.to(device))
            loss += criterion(outputs, labels.to(device)).item()
            correct += ((outputs > 0).float() == labels.to(device)).sum().item()
    accuracy = correct / len(testloader.dataset)
    loss = loss / len(testloader)
    return loss, accuracy


test.__test__ = False  # the quickstart's name for evaluation; not a pytest test


# ---- client_app.py, as in Flower's quickstart -------------------------------------------------


class FlowerClient(NumPyClient):
    def __init__(self, net, trainloader, valloader, local_epochs):  # type: ignore[no-untyped-def]
        self.net = net
        self.trainloader = trainloader
        self.valloader = valloader
        self.local_epochs = local_epochs
        self.device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        self.net.to(self.device)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        set_weights(self.net, parameters)
        train_loss = train(self.net, self.trainloader, self.local_epochs, self.device)
        return get_weights(self.net), len(self.trainloader.dataset), {"train_loss": train_loss}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        set_weights(self.net, parameters)
        loss, accuracy = test(self.net, self.valloader, self.device)
        return loss, len(self.valloader.dataset), {"accuracy": accuracy}


# ---- the tests -------------------------------------------------------------------------------

# No deadline is under test here: torch rounds of three banks in threads can take 20 s on a
# loaded 2-core machine, which must not fail the round.
LOADED_MACHINE_S = 300.0


def _client(data: BankData) -> FlowerClient:
    torch.manual_seed(0)
    train_set = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val_set = TensorDataset(torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    return FlowerClient(
        Net(), DataLoader(train_set, batch_size=32, shuffle=True), DataLoader(val_set, 64), 1
    )


def _scorer(data: BankData, net: Net):  # type: ignore[no-untyped-def]
    def score(parameters, split):  # type: ignore[no-untyped-def]
        x, y = (data.x_val, data.y_val) if split == "val" else (data.x_test, data.y_test)
        if x is None:
            return None
        set_weights(net, parameters)
        with torch.no_grad():
            return torch.sigmoid(net(torch.from_numpy(x))).numpy().astype(np.float64), y

    return score


@pytest.mark.slow
def test_quickstart_client_trains_as_a_bank_under_paillier(bank_data: dict) -> None:
    # prepare: the quickstart passes initial weights to the strategy; we pass them the same way
    spec = small_spec(round_timeout_s=LOADED_MACHINE_S)
    torch.manual_seed(0)
    initial = get_weights(Net())
    trainers = {
        b: FlowerTrainer(_client(bank_data[b]), initial, _scorer(bank_data[b], Net()))
        for b in BANKS
    }
    # execute
    run = run_job(spec, trainers)
    # assert
    assert not run.errors
    history = run.results["coordinator"].history
    assert [h["banks"] for h in history] == [list(BANKS)] * 3
    assert history[-1]["val_loss"] < history[0]["val_loss"] * 1.05
    assert run.results["coordinator"].final["test_auc"] > 0.6  # for the kept round
    final = [flatten(run.results[b].parameters) for b in BANKS]
    np.testing.assert_array_equal(final[0], final[1])
    assert not np.allclose(final[0], flatten(initial))


def test_without_a_scorer_rounds_report_the_loss_only(bank_data: dict) -> None:
    # prepare
    spec = small_spec(rounds=1, round_timeout_s=LOADED_MACHINE_S)
    torch.manual_seed(0)
    initial = get_weights(Net())
    trainers = {b: FlowerTrainer(_client(bank_data[b]), initial) for b in BANKS}
    # execute
    run = run_job(spec, trainers)
    # assert
    assert not run.errors
    last = run.results["coordinator"].history[-1]
    assert "val_loss" in last and "val_auc" not in last
    assert "test_auc" not in run.results["coordinator"].final


class _NoParameters(NumPyClient):
    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        return parameters, 0, {}


def test_adapter_refuses_client_without_parameters_or_examples() -> None:
    trainer = FlowerTrainer(_NoParameters())
    with pytest.raises(TrainerError, match="no parameters"):
        trainer.get_parameters()
    with pytest.raises(TrainerError, match="num_examples"):
        trainer.fit([np.zeros(2, dtype=np.float32)], {})


def test_adapter_refuses_non_flower_client() -> None:
    with pytest.raises(TypeError, match="NumPyClient"):
        FlowerTrainer(object())  # type: ignore[arg-type]
