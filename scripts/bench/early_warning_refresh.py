"""``refresh_s``: one monitoring refresh of a 100,000-firm federation's book, in one process.

What is timed is the refresh's own work, with the node's code: at the bank, the book's pair
pseudonyms for each holder (``Pseudonyms.many``); at each holder, the pseudonym lookup
(``FirmIndex.rows``), its signals as of the month (``compute_signals``, ratios included), its
deployed part's answer and its coded flags; at the bank, its own signals and part, the PD, the
rules (``rules.assess``), the watch list's step and cap
(``watchlist.advance``), the level-change alerts, the store's upsert of the whole book
(``MonitoringStore.save_watch``) and its record of the flags received (``record_flags``).
The panels are pivoted once beforehand, as a node does when it loads them. Not timed: the
relay (sealed envelopes through the coordinator) and the holders working in parallel, so the
figure is the sum of every party's work on one core.

The model is the one the quality benchmark evaluates (``--model``): SecureBoost parts (each
holder's split directions, packed as on the wire, ``trees.holder_answer``; the bank's walk of
the trees with everyone's directions and the reasons from its credits, ``trees.walk``) or
logistic parts (partial log-odds and their contributions, ``LogisticPart``). It is fitted on
a 20,000-firm training cohort (seed 1001): what the refresh costs depends on the model's
shape (trees, depth, columns), not on the cohort it was fitted on.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from node.audit.tokens import FirmTokenizer
from node.data.synthetic import SyntheticConfig, build_federation
from node.models import LogisticPart, PartInfo, TreePart
from node.models.transform import FrozenTransform
from node.monitoring import rules, trees, watchlist
from node.monitoring.alerts import level_alerts
from node.monitoring.panel import PanelCube, month_key
from node.monitoring.policy import MonitoringPolicy
from node.monitoring.signals import compute_signals
from node.monitoring.store import MonitoringStore
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from scripts.bench.early_warning import (
    FLAGS,
    HOLDERS,
    OBS,
    PREFIX,
    WALK,
    Boosted,
    Linear,
    book_of,
    fit,
    kinds_of,
    signals_at,
)


def _logistic_parts(book: Any, model: Linear) -> dict[str, LogisticPart]:
    """The fitted logistic model split into each party's part, as ``models deploy`` holds
    them."""
    parts = {}
    weights = dict(zip(model.transform.columns, model.model.coef_[0], strict=True))
    for holder in HOLDERS:
        names = tuple(c for c in model.transform.columns if c.startswith(f"{holder}."))
        sub = FrozenTransform.fit(
            signals_at(book, OBS, (holder,))[0], list(names), "log_standardize"
        )
        info = PartInfo("logistic", "bench", holder, holder, "uscc", names)
        head = holder == "bank"
        parts[holder] = LogisticPart(
            info, sub, tuple(float(weights[n]) for n in names),
            float(model.model.intercept_[0]) if head else 0.0,
        )  # fmt: skip
    return parts


def _one_refresh(book: Any, parts: dict[str, Any], policy: MonitoringPolicy,
                 store: MonitoringStore, t: int) -> float:  # fmt: skip
    month = book.months[t]
    codes = book.codes
    n = len(codes)
    started = time.perf_counter()
    logit = np.zeros(n)
    flags: list[list[str]] = [[] for _ in range(n)]
    splits: dict[str, trees.HolderSplits] = {}
    own = pd.DataFrame()
    for holder in HOLDERS:
        cube: PanelCube = book.cubes[holder]
        if holder == "bank":
            rows = book.index[holder].rows_of_codes(codes)
        else:
            key = holder.encode() * 4
            names = Pseudonyms(key).many(codes)  # the bank names its book to the holder
            rows = book.index[holder].rows(key, names)  # the holder finds its firms
        frame = compute_signals(cube, rows, month, kinds_of(holder))
        frame.columns = [f"{holder}.{c}" for c in frame.columns]
        part = parts[holder]
        if holder == "bank":
            own = frame
        elif isinstance(part, TreePart):  # directions, packed for the wire and unpacked
            answer = trees.holder_answer(part, frame, np.arange(n), n, PREFIX[holder])
            splits[holder] = trees.HolderSplits.empty(n)
            splits[holder].add(answer, 0, np.ones(n, np.bool_))
        else:
            part.contributions(frame)  # the holder's coded reasons come from these
            logit += part.partial_scores(frame)
        for rule in FLAGS[holder]:
            hit = rule.holds(frame[f"{holder}.{rule.column}"].to_numpy(dtype=np.float64))
            for i in np.flatnonzero(hit).tolist():
                flags[i].append(rule.code)
    bank = parts["bank"]
    if isinstance(bank, TreePart):
        logit = trees.walk(bank, own, splits, PREFIX["bank"]).margin
        pd_now = bank.head.probability(logit)
    else:
        bank.contributions(own)
        pd_now = bank.probability(logit + bank.partial_scores(own))
    state = store.state(book.tokens)
    origination = np.where(np.isnan(state.origination_pd), pd_now, state.origination_pd)
    dpd = own["bank.overdue_days__now"].to_numpy(dtype=np.float64)
    assessed = rules.assess(policy, pd_now, origination, dpd, flags, [[] for _ in range(n)])
    stepped = watchlist.advance(
        state.level, state.below, assessed.level, assessed.hard, pd_now,
        release_after=policy.release_after, capacity=policy.capacity,
    )  # fmt: skip
    refs = [f"book-{i}" for i in range(n)]
    level_alerts("r", month, book.tokens, refs, state.level, stepped.level, assessed.reasons)
    store.save_watch(
        [(book.tokens[i], refs[i], int(stepped.level[i]), int(stepped.below[i]), "[]",
          float(pd_now[i]), float(origination[i]), int(assessed.category[i]), month, month)
         for i in range(n)]
    )  # fmt: skip
    store.record_flags(month, book.tokens, flags)
    return time.perf_counter() - started


def measure_refresh(
    n_firms: int, policy: MonitoringPolicy, family: str = "secureboost", repeats: int = 3
) -> dict[str, Any]:
    """Median seconds of ``repeats`` refreshes (consecutive months) of an ``n_firms`` book."""
    cohort = book_of(build_federation(SyntheticConfig(n_firms=20_000, seed=1001)))
    model = fit([cohort], tuple(HOLDERS), family=family)
    book = book_of(build_federation(SyntheticConfig(n_firms=n_firms, seed=1)))
    tokenizer = FirmTokenizer(b"k" * 32)
    book.index = {h: FirmIndex(book.cubes[h].codes, tokenizer) for h in HOLDERS}  # type: ignore[attr-defined]
    book.tokens = [tokenizer.token(c) for c in book.codes]  # type: ignore[attr-defined]
    parts = model.parts if isinstance(model, Boosted) else _logistic_parts(book, model)  # type: ignore[arg-type]
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        store = MonitoringStore(Path(tmp) / "watch.sqlite")
        try:
            times = [_one_refresh(book, parts, policy, store, t) for t in WALK[:repeats]]
        finally:
            store.close()
    return {"refresh_s": round(statistics.median(times), 2), "book": len(book.codes),
            "firms": n_firms, "model": family,
            "months": [month_key(book.months[t]) for t in WALK[:repeats]],
            "runs_s": [round(x, 2) for x in times],
            "cpu_s_per_refresh": round((time.process_time() - cpu0) / repeats, 2)}  # fmt: skip
