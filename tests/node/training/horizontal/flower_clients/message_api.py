"""In the shape of Flower's current templates: a ClientApp with ``@app.train()`` and
``@app.evaluate()`` on Messages (arrays and config records); the starting weights come from
``initial_arrays`` as the ServerApp would give them."""

from __future__ import annotations

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from .data import load_data
from .pytorch_quickstart import Net, get_weights, set_weights

app = ClientApp()


def initial_arrays():  # type: ignore[no-untyped-def]
    torch.manual_seed(2)
    return get_weights(Net())


@app.train()
def train(msg: Message, context: Context) -> Message:
    net = Net()
    set_weights(net, msg.content["arrays"].to_numpy_ndarrays())
    x, y, _, _ = load_data(context)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(msg.content["config"]["lr"]))
    criterion = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for start in range(0, len(yt), 64):
        optimizer.zero_grad()
        criterion(net(xt[start : start + 64]), yt[start : start + 64]).backward()
        optimizer.step()
    metrics = MetricRecord({"num-examples": len(y)})
    content = RecordDict({"arrays": ArrayRecord(get_weights(net)), "metrics": metrics})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    net = Net()
    set_weights(net, msg.content["arrays"].to_numpy_ndarrays())
    _, _, xv, yv = load_data(context)
    with torch.no_grad():
        loss = torch.nn.BCEWithLogitsLoss()(net(torch.from_numpy(xv)), torch.from_numpy(yv))
    metrics = MetricRecord({"eval_loss": float(loss), "num-examples": len(yv)})
    return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)
