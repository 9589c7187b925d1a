"""Post-loan early warning over the synthetic federation's follow-up year, month by month.

For each setting (seeds of the default generator, ``--seeds``, and of the harder setting with
weaker warning signals, ``panel_signal=0.5``, ``--harder-seeds``) the script:

1. builds the evaluation federation (``--n-firms`` firms, the seed) and, separately, the
   **training cohorts**: the same generator settings with seeds + 1000, + 2000, ...
   (``--cohorts``, 2 unless set: a bank's two years of history; the generator draws defaults
   in one follow-up year only, so each year of history is a cohort of its own), so different
   firms, different health paths and different economy-wide shocks. The early-warning model
   is fitted on the cohorts only: no firm and no realisation of any month it is evaluated on.
2. fits the model on every cohort borrower-month of the walk (label: defaults within the
   next ``--horizon`` months), from every party's signals (``node.monitoring.signals``, the
   holders' ratios included), the way the vertical job would on the parties' training tables
   (``node.monitoring.tables``). ``--model secureboost`` (the default): LightGBM with the
   SecureBoost job's defaults (100 trees, depth 5, learning rate 0.1, 32 bins, L2 1, row and
   column sampling 0.8, early stopping on a validation share), the job's centralised
   plaintext equivalent as in ``secureboost.py`` (the protocol is lossless), then split into
   each party's ``TreePart`` (a split goes to the party whose column it reads) and scored the
   way a refresh scores: each holder's directions through ``trees.holder_answer`` and the
   bank's ``trees.walk`` (checked against LightGBM's own log-odds). ``--model lr``: each
   party's signals through the frozen column transform, one logistic regression, the
   plaintext equivalent of ``vertical_lr`` (same optimum up to fixed-point precision);
3. walks the evaluation book month by month, from three months before the follow-up year to
   its last month but one: every holder computes its signals from its own panel as of the
   month (``node.monitoring.signals``), the PD combines them, the shipped monitoring policy's
   rules and coded flags (``policies/monitoring/sme-watch.yaml``, ``node.monitoring.rules``)
   and the watch-list step (``node.monitoring.watchlist``) give each borrower's level;
4. does the same with the bank's own signals alone: the same model family, settings and
   training rows on the bank's signals (its ratio included), its PD cut-offs scaled
   (bisection) so that its average watch list has the same size as the federated one (same
   rules otherwise);
5. walks the federated model again with its PD cut-offs raised so that its list is smaller
   (``SMALLER_LISTS``): what precision a shorter list buys, at what recall;
6. computes the Bayes bound (``early_warning_bound``): lists of the same size ranked by each
   borrower's probability of default given the generator's full hidden state at each
   refresh (Monte-Carlo forward simulation of the generator's own process), as plain top
   lists and through the same rules and list mechanics; ``*_bayes_bound`` is the best of
   them per figure, ``lead_bayes_bound`` its recall_3m above the bank alone's.

Figures (the watch list = borrowers at yellow or above):

- ``recall_3m``: share of the book's defaults that were on the watch list at a refresh at
  least 3 months before their default month (``recall_3m_bank_only``: bank signals alone);
- ``precision``: the list's 12-month hit rate: of the borrowers on it at the refresh of the
  observation month, the share that default within the 12 months after it (alternatives
  beside it: ``precision_6m``, ``precision_entries_12m``, ``precision_ever``; see
  docs/early-warning.md);
- ``watchlist_share``: the watch list as a share of the performing book, averaged over refreshes;
- ``median_lead_months``: default month minus the first month on the list, over the defaults
  flagged in time;
- ``refresh_s``: one refresh of the book of a ``--refresh-firms`` federation, every party's
  work with the node's code in this one process, the relay not included
  (``early_warning_refresh.py``), measured in the same run after the settings, so the last
  line carries it beside the quality figures (``--skip-refresh`` leaves it out).

``--horizon`` sets the model's label (default within that many months, 6 unless set); the
figures keep their definitions.

Last line: JSON with those keys per setting (``settings``), their medians over the default
seeds and, under ``harder``, over the harder setting's seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.config import FOLLOW_UP_MONTHS, HARDER_PANEL_SIGNAL, HISTORY_MONTHS
from node.data.synthetic.federation import SyntheticFederation, month_starts
from node.models import PartInfo, TreePart
from node.models.transform import FrozenTransform
from node.monitoring import rules, trees, watchlist
from node.monitoring.deployment import beats_bank_alone
from node.monitoring.flag_record import FlagRecord
from node.monitoring.flag_record import flag_record as track_record
from node.monitoring.flag_review import proposed_soft_flags, review_flags
from node.monitoring.panel import PanelCube, month_key
from node.monitoring.policy import MonitoringPolicy, load_monitoring_policy
from node.monitoring.signals import compute_signals, with_ratios
from node.scoring.config import parse_flag_rules
from node.training.secureboost.model import Ensemble, PartyPart, SplitRule, TreeNode, record_id
from scripts.bench.early_warning_bound import default_probabilities, hidden_state

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "monitoring" / "sme-watch.yaml"
HORIZON = 6  # the model's label: default within this many months (--horizon)
# Figures per holder and their kinds, and the ratios of its own figures each holder watches
# (``monitoring.ratios``); flags as the holders of the local federation publish them.
HOLDERS: dict[str, tuple[str, dict[str, str], dict[str, tuple[str, str]]]] = {
    "government": (
        "government_monthly",
        {"tax_paid": "amount", "ss_headcount": "amount", "electricity_kwh": "amount",
         "new_court_cases": "count"},
        {"tax_paid_per_ss_headcount": ("tax_paid", "ss_headcount"),
         "electricity_kwh_per_ss_headcount": ("electricity_kwh", "ss_headcount"),
         "tax_paid_per_electricity_kwh": ("tax_paid", "electricity_kwh")},
    ),
    "third_party": ("third_party_monthly",
                    {"invoice_total": "amount", "ecommerce_sales": "amount"},
                    {"ecommerce_sales_per_invoice_total": ("ecommerce_sales", "invoice_total")}),
    "bank": ("bank_monthly", {"inflow": "amount", "outflow": "amount", "overdue_days": "days"},
             {"outflow_per_inflow": ("outflow", "inflow")}),
}  # fmt: skip
PREFIX = {"government": "GOV", "third_party": "TP", "bank": "BANK"}
ALL = ("bank", "government", "third_party")
FLAGS = {
    "government": parse_flag_rules(
        {"GOV-TAX-ARREARS": "tax_paid__zero3m >= 2",
         "GOV-COURT-ENFORCEMENT": "new_court_cases__sum3m >= 2"}, "flags"),
    "third_party": parse_flag_rules({"TP-SALES-COLLAPSE": "invoice_total__chg3m <= -0.7"}, "flags"),
    "bank": (),
}  # fmt: skip
OBS = HISTORY_MONTHS - 1
WALK = list(range(OBS - 2, OBS + 12))
# How close the bank-only list's average share must come to the federated one's.
SHARE_TOLERANCE = 0.001
# Smaller federated lists, for the trade-off of precision against recall (the rules that do
# not read the PD keep about 5 % of the book listed, so the list cannot get much smaller).
SMALLER_LISTS = (0.06, 0.07, 0.08)


@dataclass
class Book:
    """One federation seen from the bank's book: each holder's cube rows, default months."""

    fed: SyntheticFederation
    months: list[str]
    codes: list[str]
    cubes: dict[str, PanelCube]
    rows: dict[str, np.ndarray]
    default_col: np.ndarray  # panel column of the default month, -1 none
    # each holder's signals by (panel column, holder), computed once per walk month: the
    # federated and the bank-only model read the same bank signals
    signals: dict[tuple[int, str], pd.DataFrame] = field(default_factory=dict)


def kinds_of(holder: str) -> dict[str, str]:
    """A holder's figures and ratios with their kinds (what its signals are computed from)."""
    _, kinds, ratios = HOLDERS[holder]
    return {**kinds, **dict.fromkeys(ratios, "ratio")}


def book_of(fed: SyntheticFederation) -> Book:
    months = [month_key(d.isoformat()) for d in month_starts(fed.config.observation_month)]
    codes = fed.bank["uscc"].astype(str).tolist()
    cubes, rows = {}, {}
    for holder, (table, kinds, ratios) in HOLDERS.items():
        frame = getattr(fed, table)
        cube = with_ratios(PanelCube.from_frame(frame, "uscc", "month", list(kinds)), ratios)
        index = {c: i for i, c in enumerate(cube.codes)}
        cubes[holder] = cube
        rows[holder] = np.array([index.get(c, -1) for c in codes], np.int64)
    default = dict(zip(fed.bank_defaults["uscc"], fed.bank_defaults["default_month"], strict=True))
    col = np.array([months.index(month_key(default[c])) if c in default else -1 for c in codes])
    return Book(fed, months, codes, cubes, rows, col)


def signals_at(
    book: Book, t: int, holders: tuple[str, ...]
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Every holder's signals of the book at panel column ``t``, and the raised flags."""
    frames, flags = [], [[] for _ in book.codes]
    for holder in holders:
        frame = book.signals.get((t, holder))
        if frame is None:
            frame = compute_signals(book.cubes[holder], book.rows[holder], book.months[t],
                                    kinds_of(holder))  # fmt: skip
            frame.columns = [f"{holder}.{c}" for c in frame.columns]
            book.signals[(t, holder)] = frame
        frames.append(frame)
        for rule in FLAGS[holder]:
            hit = rule.holds(frame[f"{holder}.{rule.column}"].to_numpy(dtype=np.float64))
            for i in np.flatnonzero(hit).tolist():
                flags[i].append(rule.code)
    return pd.concat(frames, axis=1), flags


class Model(Protocol):
    """A fitted early-warning model: the PD of every row of the parties' signals, and its AUC
    on the training cohort's validation rows."""

    validation_auc: float

    def pd(self, x: pd.DataFrame) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class Linear:
    """``vertical_lr``'s plaintext equivalent: each party's signals through the frozen column
    transform, one logistic regression (the job reaches the same optimum up to fixed point)."""

    transform: FrozenTransform
    model: Any
    validation_auc: float

    def pd(self, x: pd.DataFrame) -> NDArray[np.float64]:
        z = np.clip(self.transform.apply(x), -8, 8)
        return np.asarray(self.model.predict_proba(z)[:, 1], dtype=np.float64)


@dataclass(frozen=True)
class Boosted:
    """``secureboost``'s model as each party deploys it (``TreePart``): the holders route the
    rows down their own splits (``trees.holder_answer``, the refresh's wire form) and the bank
    walks the trees (``trees.walk``), exactly as a refresh does."""

    parts: dict[str, TreePart]  # the bank's holds the ensemble
    validation_auc: float = float("nan")

    def margin(self, x: pd.DataFrame) -> NDArray[np.float64]:
        n, everyone = len(x), np.arange(len(x))
        splits = {}
        for holder, part in self.parts.items():
            if holder != "bank":
                splits[holder] = trees.HolderSplits.empty(n)
                answer = trees.holder_answer(part, x, everyone, n, PREFIX[holder])
                splits[holder].add(answer, 0, np.ones(n, np.bool_))
        return trees.walk(self.parts["bank"], x, splits, PREFIX["bank"]).margin

    def pd(self, x: pd.DataFrame) -> NDArray[np.float64]:
        return self.parts["bank"].head.probability(self.margin(x))


# SecureBoost's job defaults (``node.training.secureboost.spec``), as LightGBM settings: the
# job's centralised plaintext equivalent, as in ``secureboost.py``; early stopping on a
# validation share of the rows, patience 10, as the job does.
BOOSTING = {
    "objective": "binary", "max_depth": 5, "num_leaves": 32, "learning_rate": 0.1,
    "max_bin": 32, "lambda_l2": 1.0, "min_sum_hessian_in_leaf": 1.0, "min_data_in_leaf": 1,
    "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "metric": "auc",
    "num_threads": 2, "seed": 0, "verbose": -1,
}  # fmt: skip
TREES, PATIENCE, VALIDATION = 100, 10, 0.15
# Training cohorts (years of the bank's history) the model is fitted on (--cohorts).
COHORTS = 2


def _tree_parts(dump: dict[str, Any], columns: list[str]) -> dict[str, TreePart]:
    """A LightGBM model as each party's ``TreePart``: a split belongs to the party whose
    column it reads (``<party>.<signal>``); a value ``<= threshold`` goes left, a missing one
    the side LightGBM sends it (its default side, or that of 0 for a column that had none)."""
    rules: dict[str, dict[int, SplitRule]] = {h: {} for h in HOLDERS}
    trees = []
    for t, info in enumerate(dump["tree_info"]):
        nodes: list[TreeNode] = []

        def add(raw: dict[str, Any], t: int = t, nodes: list[TreeNode] = nodes) -> int:
            at = len(nodes)
            nodes.append(TreeNode())
            if "leaf_value" in raw:
                nodes[at] = TreeNode(weight=float(raw["leaf_value"]))
                return at
            column = columns[raw["split_feature"]]
            threshold = float(raw["threshold"])
            missing_left = (
                bool(raw["default_left"]) if raw["missing_type"] == "NaN" else threshold >= 0.0
            )
            party = column.split(".", 1)[0]
            rules[party][record_id(t, at)] = SplitRule(column, threshold, missing_left)
            left, right = add(raw["left_child"]), add(raw["right_child"])
            nodes[at] = TreeNode(left, right, party, record_id(t, at), float(raw["split_gain"]))
            return at

        add(info["tree_structure"])
        trees.append(tuple(nodes))
    ensemble = Ensemble(0.0, tuple(trees))
    parts = {}
    for holder in HOLDERS:
        own = PartyPart(holder, rules[holder])
        info = PartInfo("secureboost", "bench", holder, holder, "uscc", own.features)
        parts[holder] = TreePart(info, own, ensemble if holder == "bank" else None)
    return parts


def training_rows(
    book: Book, holders: tuple[str, ...], horizon: int = HORIZON
) -> tuple[pd.DataFrame, np.ndarray]:
    """The training table's rows of one cohort: its borrower-months of the walk whose label
    window the cohort's default months cover (a bank's training table can only hold cutoffs
    whose following ``horizon`` months it has seen: a later cutoff's label would call a
    borrower that defaults after the data ends a good one)."""
    xs, ys = [], []
    for t in (t for t in WALK if t + horizon <= OBS + FOLLOW_UP_MONTHS):
        x, _ = signals_at(book, t, holders)
        alive = (book.default_col < 0) | (book.default_col > t)
        y = (book.default_col > t) & (book.default_col <= t + horizon)
        xs.append(x[alive])
        ys.append(y[alive])
    return pd.concat(xs, ignore_index=True), np.concatenate(ys)


def fit(
    cohorts: list[Book], holders: tuple[str, ...], horizon: int = HORIZON,
    family: str = "secureboost",
) -> Model:  # fmt: skip
    """The early-warning model on the training cohorts' rows (``training_rows``)."""
    rows = [training_rows(book, holders, horizon) for book in cohorts]
    x = pd.concat([r[0] for r in rows], ignore_index=True)
    y = np.concatenate([r[1] for r in rows])
    valid = np.random.default_rng(0).random(len(y)) < VALIDATION
    if family == "lr":
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score

        transform = FrozenTransform.fit(x, list(x.columns), "log_standardize")
        z = np.clip(transform.apply(x), -8, 8)
        lr = LogisticRegression(C=0.5, max_iter=2000).fit(z[~valid], y[~valid])
        auc = float(roc_auc_score(y[valid], lr.predict_proba(z[valid])[:, 1]))
        return Linear(transform, lr, auc)
    import lightgbm as lgb

    values = x.to_numpy(dtype=np.float64)
    booster = lgb.train(
        BOOSTING,
        lgb.Dataset(values[~valid], y[~valid]),
        num_boost_round=TREES,
        valid_sets=[lgb.Dataset(values[valid], y[valid])],
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
    )
    best = booster.best_iteration
    model = Boosted(
        _tree_parts(booster.dump_model(num_iteration=best), list(x.columns)),
        float(booster.best_score["valid_0"]["auc"]),
    )
    # the parties' walk must give LightGBM's own log-odds: a check of the conversion
    sample = x.iloc[:2000]
    expected = booster.predict(sample.to_numpy(dtype=np.float64), raw_score=True,
                               num_iteration=best)  # fmt: skip
    assert np.allclose(model.margin(sample), expected, atol=1e-6), "tree conversion differs"
    return model


@dataclass
class Scored:
    """One model's view of the book at each refresh of the walk: the PD, the bank's days past
    due and the holders' raised flags (computed once, walked under any policy)."""

    pd: list[np.ndarray]
    dpd: list[np.ndarray]
    flags: list[list[list[str]]]


def score(book: Book, holders: tuple[str, ...], model: Model) -> Scored:
    scored = Scored([], [], [])
    for t in WALK:
        x, flags = signals_at(book, t, holders)
        scored.pd.append(model.pd(x))
        scored.dpd.append(x["bank.overdue_days__now"].to_numpy(dtype=np.float64))
        scored.flags.append(flags)
    return scored


def walk(book: Book, scored: Scored, policy: MonitoringPolicy) -> np.ndarray:
    """Levels (refreshes x borrowers) over the walk; -1 once a borrower has defaulted.

    Each refresh runs the service's own steps: ``rules.assess``, then ``watchlist.advance``
    (step up at once, down after ``release_after`` calm refreshes, capped at ``capacity``).
    """
    n = len(book.codes)
    level = np.full(n, -1, np.int8)
    below = np.zeros(n, np.int16)
    origination = scored.pd[0]
    no_reasons: list[list[str]] = [[] for _ in range(n)]
    out = []
    for k, t in enumerate(WALK):
        pd_now = scored.pd[k]
        assessed = rules.assess(policy, pd_now, origination, scored.dpd[k], scored.flags[k],
                                no_reasons)  # fmt: skip
        alive = (book.default_col < 0) | (book.default_col > t)
        stepped = watchlist.advance(
            level, below, assessed.level, assessed.hard, pd_now,
            release_after=policy.release_after, capacity=policy.capacity, alive=alive,
        )  # fmt: skip
        level, below = stepped.level, stepped.below
        out.append(np.where(alive, level, -1))
    return np.array(out)


def list_share(levels: np.ndarray) -> float:
    """The watch list (yellow or above) as a share of the performing book, over refreshes."""
    return float(np.mean((levels >= 1).sum(1) / np.maximum((levels >= 0).sum(1), 1)))


def scaled(policy: MonitoringPolicy, factor: float) -> MonitoringPolicy:
    """The policy with its PD cut-offs (the levels' and the SICR floor) times ``factor``."""
    return replace(
        policy,
        pd_levels=tuple(min(p * factor, 1.0) for p in policy.pd_levels),  # type: ignore[arg-type]
        sicr_min_pd=min(policy.sicr_min_pd * factor, 1.0),
    )


def at_share(
    book: Book, scored: Scored, policy: MonitoringPolicy, share: float
) -> tuple[np.ndarray, float]:
    """The walk with the PD cut-offs scaled so the list's average share is ``share`` (within
    SHARE_TOLERANCE, or as close as 16 halvings get), and the factor used. The rules that do
    not read the PD (backstop, classification, flags) stay as they are; so does the capacity.
    """
    lo, hi = -5.0, 5.0  # log2 of the factor: the list shrinks as the cut-offs rise
    best: tuple[float, np.ndarray, float] | None = None
    for _ in range(16):
        mid = (lo + hi) / 2
        levels = walk(book, scored, scaled(policy, 2.0**mid))
        got = list_share(levels)
        if best is None or abs(got - share) < best[0]:
            best = (abs(got - share), levels, 2.0**mid)
        if abs(got - share) <= SHARE_TOLERANCE:
            break
        lo, hi = (mid, hi) if got > share else (lo, mid)
    assert best is not None
    return best[1], best[2]


def _hit_rate(book: Book, listed: np.ndarray, t: int, horizon: int) -> float:
    """Share of the borrowers ``listed`` at panel column ``t`` that default in (t, t+horizon]."""
    d = book.default_col[listed]
    return float(((d > t) & (d <= t + horizon)).mean()) if listed.any() else 0.0


def metrics(book: Book, levels: np.ndarray) -> dict[str, float]:
    """The figures of one walk (see the module docstring for each definition)."""
    watched = levels >= 1
    share = list_share(levels)
    follow = book.default_col >= OBS + 1
    hits, leads = [], []
    for i in np.flatnonzero(follow).tolist():
        d = book.default_col[i]
        on = [t for k, t in enumerate(WALK) if watched[k, i] and t < d]
        hits.append(any(t <= d - 3 for t in on))
        if on and min(on) <= d - 3:
            leads.append(d - min(on))
    last = book.default_col.max()
    six = [_hit_rate(book, watched[k], t, 6) for k, t in enumerate(WALK) if t + 6 <= last]
    entries: list[bool] = []
    before = np.zeros(watched.shape[1], np.bool_)
    for k, t in enumerate(WALK):
        new = watched[k] & ~before
        before = watched[k]
        if t <= OBS:  # an entry whose following 12 months the panels cover
            d = book.default_col[new]
            entries += ((d > t) & (d <= t + 12)).tolist()
    ever = watched.any(0)
    return {
        "recall_3m": float(np.mean(hits)) if hits else 0.0,
        "precision": _hit_rate(book, watched[WALK.index(OBS)], OBS, 12),
        "precision_6m": float(np.mean(six)),
        "precision_entries_12m": float(np.mean(entries)) if entries else 0.0,
        "precision_ever": float(follow[ever].mean()) if ever.any() else 0.0,
        "watchlist_share": share,
        "ever_watched_share": float(ever.mean()),
        "median_lead_months": float(np.median(leads)) if leads else 0.0,
        "defaults": int(follow.sum()),
        "book": len(book.codes),
    }


def flag_record(book: Book, horizon: int = HORIZON) -> dict[str, FlagRecord]:
    """Each holder flag's track record on ``book``'s borrower-months of the walk whose label
    window it covers (``node.monitoring.flag_record``, as ``fedcredit monitor review-flags``
    judges a bank's kept flags and default records)."""
    end = OBS + FOLLOW_UP_MONTHS
    raised = (
        (i, t, code)
        for t in WALK
        if t + horizon <= end
        for i, codes in enumerate(signals_at(book, t, ALL)[1])
        for code in codes
    )
    defaults = {i: d for i, d in enumerate(book.default_col.tolist()) if d >= 0}
    return track_record(raised, defaults, horizon, end)


def _top_share(book: Book, score: list[np.ndarray], share: float) -> np.ndarray:
    """Levels of a plain list: at each refresh the ``share`` of the performing book with the
    highest ``score`` is listed (1), the rest not (0); -1 once defaulted."""
    out = []
    for k, t in enumerate(WALK):
        alive = (book.default_col < 0) | (book.default_col > t)
        listed = np.zeros(len(alive), np.bool_)
        order = np.flatnonzero(alive)[np.argsort(-score[k][alive], kind="stable")]
        listed[order[: round(share * int(alive.sum()))]] = True
        out.append(np.where(alive, listed.astype(np.int8), -1))
    return np.array(out)


def bayes_bound(
    book: Book, scored: Scored, policy: MonitoringPolicy, share: float, paths: int = 1000
) -> dict[str, Any]:
    """The oracle lists of ``early_warning_bound``: ranked by the probability of default
    given the generator's full hidden state at each refresh, at the federated list's size.

    Variants: the plain top of the book by P(default within 12 months) (the precision's
    horizon), within 6 (the label's) and within months 3-12 (the defaults ``recall_3m`` can
    still count); and the shipped list mechanics (rules, flags, capacity, step-down) with
    the 6-month probability as the PD, its cut-offs scaled to the same size. Each figure's
    bound is its best variant."""
    config = book.fed.config
    state = hidden_state(config, book.fed.latent.health)
    index = {c: i for i, c in enumerate(book.fed.ids)}
    rows = np.array([index[c] for c in book.codes], np.int64)
    probs = [default_probabilities(state, rows, t, (2, 6, 12), config, paths) for t in WALK]
    scores = {
        "top_12m": [p[12] for p in probs],
        "top_6m": [p[6] for p in probs],
        "top_3to12m": [p[12] - p[2] for p in probs],
    }
    variants = {name: metrics(book, _top_share(book, s, share)) for name, s in scores.items()}
    oracle = Scored(scores["top_6m"], scored.dpd, scored.flags)
    variants["rules_6m"] = metrics(book, at_share(book, oracle, policy, share)[0])
    keep = ("recall_3m", "precision", "watchlist_share", "median_lead_months")
    return {name: {k: round(m[k], 4) for k in keep} for name, m in variants.items()}


def setting(
    seed: int, signal: float, n_firms: int, policy: MonitoringPolicy, horizon: int = HORIZON,
    family: str = "secureboost", threads: int = 2, cohorts: int = COHORTS,
) -> dict[str, Any]:  # fmt: skip
    t0, cpu0 = time.perf_counter(), time.process_time()
    BOOSTING["num_threads"] = threads
    config = SyntheticConfig(n_firms=n_firms, seed=seed, panel_signal=signal)
    book = book_of(build_federation(config))
    history = [
        book_of(build_federation(SyntheticConfig(n_firms=n_firms, seed=seed + 1000 * (k + 1),
                                                 panel_signal=signal)))
        for k in range(cohorts)
    ]  # fmt: skip
    # The bank deploys the federated model only where it beats its own on the cohorts'
    # validation rows (the job reports that yardstick beside its own figures; the rule of
    # ``fedcredit models deploy``, ``node.monitoring.deployment``); otherwise the
    # holders add their flags to the bank's own model.
    # The flags the bank's history does not bear out compete by PD (``soft_flags``).
    record = flag_record(history[0], horizon)
    policy = replace(policy, soft_flags=proposed_soft_flags(review_flags(policy, record)))
    federated = fit(history, ALL, horizon, family)
    own = fit(history, ("bank",), horizon, family)
    deployed = federated if beats_bank_alone(federated.validation_auc, own.validation_auc) else own
    everyone = score(book, ALL, deployed)
    fed = metrics(book, walk(book, everyone, policy))
    # The bank alone at the same watch-list size: the same model family and effort on its
    # own signals, its PD cut-offs scaled until its list is, on average, as large as the
    # federated one (its model's PDs sit on another scale).
    bank_alone = score(book, ("bank",), own)
    levels, factor = at_share(book, bank_alone, policy, fed["watchlist_share"])
    bank = metrics(book, levels)
    oracle = bayes_bound(book, everyone, policy, fed["watchlist_share"])
    tradeoff = []
    for share in SMALLER_LISTS:
        smaller = metrics(book, at_share(book, everyone, policy, share)[0])
        tradeoff.append({k: round(smaller[k], 4)
                         for k in ("watchlist_share", "recall_3m", "precision")})  # fmt: skip
    return {
        "seed": seed,
        "panel_signal": signal,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in fed.items()},
        **{f"{k}_bank_only": round(bank[k], 4)
           for k in ("recall_3m", "precision", "precision_6m", "watchlist_share")},
        "lead": round(fed["recall_3m"] - bank["recall_3m"], 4),
        "bank_only_pd_scale": round(factor, 3),
        "deployed": "federated" if deployed is federated else "bank_only",
        "flag_record": {code: {"raised": r.raised, "default_rate": round(r.default_rate, 4)}
                        for code, r in record.items()},
        "soft_flags": sorted(policy.soft_flags),
        "validation_auc": round(federated.validation_auc, 4),
        "validation_auc_bank_only": round(own.validation_auc, 4),
        "recall_3m_bayes_bound": max(v["recall_3m"] for v in oracle.values()),
        "precision_bayes_bound": max(v["precision"] for v in oracle.values()),
        "lead_bayes_bound": round(max(v["recall_3m"] for v in oracle.values())
                                  - bank["recall_3m"], 4),
        "bayes_bound": oracle,
        "smaller_lists": tradeoff,
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),
    }  # fmt: skip


# The figures whose median over seeds the last line carries, per setting.
MEDIANS = (
    "recall_3m", "recall_3m_bank_only", "precision", "precision_bank_only", "lead",
    "watchlist_share", "watchlist_share_bank_only", "median_lead_months",
    "recall_3m_bayes_bound", "precision_bayes_bound", "lead_bayes_bound",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--n-firms", type=int, default=20_000)
    parser.add_argument("--refresh-firms", type=int, default=100_000)
    parser.add_argument("--skip-refresh", action="store_true", help="quality figures only")
    parser.add_argument(
        "--cohorts", type=int, default=COHORTS, help="training cohorts (years of history)"
    )
    parser.add_argument("--horizon", type=int, default=HORIZON, help="label horizon, months")
    parser.add_argument(
        "--model",
        choices=("secureboost", "lr"),
        default="secureboost",
        help="model family of both sides (default secureboost)",
    )
    parser.add_argument("--harder-seeds", default="1", help="seeds of the harder setting")
    parser.add_argument("--workers", type=int, default=1, help="settings run in parallel")
    args = parser.parse_args()
    policy = load_monitoring_policy(POLICY)
    settings = [(int(s), 1.0) for s in args.seeds.split(",")] + [
        (int(s), HARDER_PANEL_SIGNAL) for s in args.harder_seeds.split(",") if s
    ]
    head = (f"{'seed':>4} {'signal':>6} {'recall_3m':>9} {'bank_only':>9} {'precision':>9} "
            f"{'bank_only':>9} {'prec_6m':>7} {'entries':>7} {'ever':>6} {'share':>6} "
            f"{'bank_sh':>7} {'lead':>5} {'defaults':>8} {'bound_rec':>9} "
            f"{'bound_prec':>10}")  # fmt: skip
    print(head, flush=True)
    run = partial(setting, n_firms=args.n_firms, policy=policy, horizon=args.horizon,
                  family=args.model, threads=max(1, 2 // args.workers),
                  cohorts=args.cohorts)  # fmt: skip
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run, seed, signal) for seed, signal in settings]
        for done in as_completed(futures):  # each as it comes: a long run shows progress
            print("setting: " + json.dumps(done.result(), sort_keys=True), flush=True)
        rows = [f.result() for f in futures]
    for r in rows:
        print(
            f"{r['seed']:>4} {r['panel_signal']:>6} {r['recall_3m']:>9.3f} "
            f"{r['recall_3m_bank_only']:>9.3f} "
            f"{r['precision']:>9.3f} {r['precision_bank_only']:>9.3f} {r['precision_6m']:>7.3f} "
            f"{r['precision_entries_12m']:>7.3f} {r['precision_ever']:>6.3f} "
            f"{r['watchlist_share']:>6.3f} {r['watchlist_share_bank_only']:>7.3f} "
            f"{r['median_lead_months']:>5.1f} {r['defaults']:>8} "
            f"{r['recall_3m_bayes_bound']:>9.3f} {r['precision_bayes_bound']:>10.3f}",
            flush=True,
        )
        print("      smaller federated lists (share: recall_3m / precision): " + ", ".join(
            f"{x['watchlist_share']:.3f}: {x['recall_3m']:.3f} / {x['precision']:.3f}"
            for x in r["smaller_lists"]), flush=True)  # fmt: skip
    default = [r for r in rows if r["panel_signal"] == 1.0]
    summary: dict[str, Any] = {
        key: round(statistics.median(r[key] for r in default), 4)
        for key in (*MEDIANS, "precision_6m", "precision_entries_12m", "precision_ever")
    }
    harder = [r for r in rows if r["panel_signal"] != 1.0]
    summary["harder"] = {
        key: round(statistics.median(r[key] for r in harder), 4) for key in MEDIANS
    } if harder else {}  # fmt: skip
    summary["settings"] = rows
    summary["n_firms"] = args.n_firms
    summary["horizon"] = args.horizon
    summary["cohorts"] = args.cohorts
    summary["model"] = args.model
    # every party's work, in this process and the settings' workers
    summary["cpu_s"] = round(time.process_time() + sum(r["cpu_s"] for r in rows), 1)
    if not args.skip_refresh:
        from scripts.bench.early_warning_refresh import measure_refresh

        timing = measure_refresh(args.refresh_firms, policy, args.model)
        summary["refresh_s"] = timing["refresh_s"]
        summary["refresh"] = timing
        print(
            f"refresh of the {timing['book']}-borrower book of a {args.refresh_firms}-firm "
            f"federation: {timing['refresh_s']} s (median of {timing['runs_s']})",
            flush=True,
        )
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
