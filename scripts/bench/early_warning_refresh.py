"""``refresh_s``: one monitoring refresh of a 100,000-firm federation's book, in one process.

What is timed is the refresh's own work, with the node's code: at the bank, the book's pair
pseudonyms for each holder (``Pseudonyms.many``); at each holder, the pseudonym lookup
(``FirmIndex.rows``), its signals as of the month (``compute_signals``), its deployed part's
partial log-odds and contributions (``LogisticPart``) and its coded flags; at the bank, its
own signals and part, the PD, the rules (``rules.assess``), the watch list's step and cap
(``watchlist.advance``), the level-change alerts and the store's upsert of the whole book
(``MonitoringStore.save_watch``). The panels are pivoted once beforehand, as a node does when
it loads them. Not timed: the relay (sealed envelopes through the coordinator) and the
holders working in parallel, so the figure is the sum of every party's work on one core.
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
from node.models import LogisticPart, PartInfo
from node.models.transform import FrozenTransform
from node.monitoring import rules, watchlist
from node.monitoring.alerts import level_alerts
from node.monitoring.panel import PanelCube, month_key
from node.monitoring.policy import MonitoringPolicy
from node.monitoring.signals import compute_signals
from node.monitoring.store import MonitoringStore
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from scripts.bench.early_warning import FLAGS, HOLDERS, OBS, WALK, book_of, fit, signals_at


def _parts(book: Any, transform: FrozenTransform, model: Any) -> dict[str, LogisticPart]:
    """The fitted model split into each party's part, as ``models deploy`` would hold them."""
    parts = {}
    weights = dict(zip(transform.columns, model.coef_[0], strict=True))
    for holder in HOLDERS:
        names = tuple(c for c in transform.columns if c.startswith(f"{holder}."))
        sub = FrozenTransform.fit(
            signals_at(book, OBS, (holder,))[0], list(names), "log_standardize"
        )
        info = PartInfo("logistic", "bench", holder, holder, "uscc", names)
        head = holder == "bank"
        parts[holder] = LogisticPart(
            info, sub, tuple(float(weights[n]) for n in names),
            float(model.intercept_[0]) if head else 0.0,
        )  # fmt: skip
    return parts


def _one_refresh(book: Any, parts: dict[str, LogisticPart], policy: MonitoringPolicy,
                 store: MonitoringStore, t: int) -> float:  # fmt: skip
    month = book.months[t]
    codes = book.codes
    n = len(codes)
    started = time.perf_counter()
    logit = np.zeros(n)
    flags: list[list[str]] = [[] for _ in range(n)]
    own = pd.DataFrame()
    for holder, (_, kinds) in HOLDERS.items():
        cube: PanelCube = book.cubes[holder]
        if holder == "bank":
            rows = book.index[holder].rows_of_codes(codes)
        else:
            key = holder.encode() * 4
            names = Pseudonyms(key).many(codes)  # the bank names its book to the holder
            rows = book.index[holder].rows(key, names)  # the holder finds its firms
        frame = compute_signals(cube, rows, month, kinds)
        frame.columns = [f"{holder}.{c}" for c in frame.columns]
        part = parts[holder]
        part.contributions(frame)  # the holder's coded reasons come from these
        logit += part.partial_scores(frame)
        for rule in FLAGS[holder]:
            hit = rule.holds(frame[f"{holder}.{rule.column}"].to_numpy(dtype=np.float64))
            for i in np.flatnonzero(hit).tolist():
                flags[i].append(rule.code)
        if holder == "bank":
            own = frame
    pd_now = parts["bank"].probability(logit)
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
    return time.perf_counter() - started


def measure_refresh(n_firms: int, policy: MonitoringPolicy, repeats: int = 3) -> dict[str, Any]:
    """Median seconds of ``repeats`` refreshes (consecutive months) of an ``n_firms`` book."""
    book = book_of(build_federation(SyntheticConfig(n_firms=n_firms, seed=1)))
    tokenizer = FirmTokenizer(b"k" * 32)
    book.index = {h: FirmIndex(book.cubes[h].codes, tokenizer) for h in HOLDERS}  # type: ignore[attr-defined]
    book.tokens = [tokenizer.token(c) for c in book.codes]  # type: ignore[attr-defined]
    transform, model = fit(book, tuple(HOLDERS))
    parts = _parts(book, transform, model)
    with tempfile.TemporaryDirectory() as tmp:
        store = MonitoringStore(Path(tmp) / "watch.sqlite")
        try:
            times = [_one_refresh(book, parts, policy, store, t) for t in WALK[:repeats]]
        finally:
            store.close()
    return {"refresh_s": round(statistics.median(times), 2), "book": len(book.codes),
            "firms": n_firms, "months": [month_key(book.months[t]) for t in WALK[:repeats]],
            "runs_s": [round(x, 2) for x in times]}  # fmt: skip
