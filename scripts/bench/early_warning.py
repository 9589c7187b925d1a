"""Post-loan early warning over the synthetic federation's follow-up year, month by month.

For each setting (seeds 1-5 of the default generator, and seed 1 of the harder setting with
weaker warning signals, ``panel_signal=0.5``) the script:

1. builds the evaluation federation (``--n-firms`` firms, the seed) and, separately, a
   **training cohort**: the same generator settings with seed + 1000, so different firms,
   different health paths and different economy-wide shocks. The early-warning model is
   fitted on the cohort only: no firm and no realisation of any month it is evaluated on.
2. fits the model the way the vertical job would (each party's signals prepared by the frozen
   column transform of ``node.models.transform``, then a logistic regression of "defaults
   within the next 6 months" on every cohort borrower-month of the walk); this is the
   centralised plaintext equivalent of ``vertical_lr`` on the parties' training tables
   (``node.monitoring.tables``), which reaches the same optimum up to fixed-point precision;
3. walks the evaluation book month by month, from three months before the follow-up year to
   its last month but one: every holder computes its signals from its own panel as of the
   month (``node.monitoring.signals``), the PD combines them, the shipped monitoring policy's
   rules and coded flags (``policies/monitoring/sme-watch.yaml``, ``node.monitoring.rules``)
   and the watch-list step (``node.monitoring.watchlist``) give each borrower's level;
4. does the same with the bank's own signals alone, with its PD cut-offs scaled (bisection)
   so that its average watch list has the same size as the federated one (same rules
   otherwise);
5. walks the federated model again with its PD cut-offs raised so that its list is smaller
   (``SMALLER_LISTS``): what precision a shorter list buys, at what recall.

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
  (``early_warning_refresh.py``; ``--skip-refresh`` leaves it out).

``--horizon`` sets the model's label (default within that many months, 6 unless set); the
figures keep their definitions.

Last line: JSON with those keys per setting and their medians over the default seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.config import HARDER_PANEL_SIGNAL, HISTORY_MONTHS
from node.data.synthetic.federation import SyntheticFederation, month_starts
from node.models.transform import FrozenTransform
from node.monitoring import rules, watchlist
from node.monitoring.panel import PanelCube, month_key
from node.monitoring.policy import MonitoringPolicy, load_monitoring_policy
from node.monitoring.signals import compute_signals
from node.scoring.config import parse_flag_rules

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "monitoring" / "sme-watch.yaml"
HORIZON = 6  # the model's label: default within this many months (--horizon)
# Figures per holder and their kinds; flags as the holders of the local federation publish them.
HOLDERS: dict[str, tuple[str, dict[str, str]]] = {
    "government": (
        "government_monthly",
        {"tax_paid": "amount", "ss_headcount": "amount", "electricity_kwh": "amount",
         "new_court_cases": "count"},
    ),
    "third_party": ("third_party_monthly",
                    {"invoice_total": "amount", "ecommerce_sales": "amount"}),
    "bank": ("bank_monthly", {"inflow": "amount", "outflow": "amount", "overdue_days": "days"}),
}  # fmt: skip
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


def book_of(fed: SyntheticFederation) -> Book:
    months = [month_key(d.isoformat()) for d in month_starts(fed.config.observation_month)]
    codes = fed.bank["uscc"].astype(str).tolist()
    cubes, rows = {}, {}
    for holder, (table, kinds) in HOLDERS.items():
        frame = getattr(fed, table)
        cube = PanelCube.from_frame(frame, "uscc", "month", list(kinds))
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
        frame = compute_signals(
            book.cubes[holder], book.rows[holder], book.months[t], HOLDERS[holder][1]
        )
        frame.columns = [f"{holder}.{c}" for c in frame.columns]
        frames.append(frame)
        for rule in FLAGS[holder]:
            hit = rule.holds(frame[f"{holder}.{rule.column}"].to_numpy(dtype=np.float64))
            for i in np.flatnonzero(hit).tolist():
                flags[i].append(rule.code)
    return pd.concat(frames, axis=1), flags


def fit(
    book: Book, holders: tuple[str, ...], horizon: int = HORIZON
) -> tuple[FrozenTransform, Any]:
    """The early-warning model on the training cohort's borrower-months of the walk."""
    from sklearn.linear_model import LogisticRegression

    xs, ys = [], []
    for t in WALK:
        x, _ = signals_at(book, t, holders)
        alive = (book.default_col < 0) | (book.default_col > t)
        y = (book.default_col > t) & (book.default_col <= t + horizon)
        xs.append(x[alive])
        ys.append(y[alive])
    x = pd.concat(xs, ignore_index=True)
    transform = FrozenTransform.fit(x, list(x.columns), "log_standardize")
    z = np.clip(transform.apply(x), -8, 8)
    model = LogisticRegression(C=0.5, max_iter=1000).fit(z, np.concatenate(ys))
    return transform, model


@dataclass
class Scored:
    """One model's view of the book at each refresh of the walk: the PD, the bank's days past
    due and the holders' raised flags (computed once, walked under any policy)."""

    pd: list[np.ndarray]
    dpd: list[np.ndarray]
    flags: list[list[list[str]]]


def score(book: Book, holders: tuple[str, ...], transform: FrozenTransform, model: Any) -> Scored:
    scored = Scored([], [], [])
    for t in WALK:
        x, flags = signals_at(book, t, holders)
        scored.pd.append(model.predict_proba(np.clip(transform.apply(x), -8, 8))[:, 1])
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


def setting(
    seed: int, n_firms: int, signal: float, policy: MonitoringPolicy, horizon: int = HORIZON
) -> dict[str, Any]:
    t0 = time.perf_counter()
    config = SyntheticConfig(n_firms=n_firms, seed=seed, panel_signal=signal)
    book = book_of(build_federation(config))
    cohort = book_of(build_federation(SyntheticConfig(n_firms=n_firms, seed=seed + 1000,
                                                      panel_signal=signal)))  # fmt: skip
    everyone = score(book, ("bank", "government", "third_party"),
                     *fit(cohort, ("bank", "government", "third_party"), horizon))  # fmt: skip
    fed = metrics(book, walk(book, everyone, policy))
    # The bank alone at the same watch-list size: its PD cut-offs scaled until its list is,
    # on average, as large as the federated one (its model's PDs sit on another scale).
    bank_alone = score(book, ("bank",), *fit(cohort, ("bank",), horizon))
    levels, factor = at_share(book, bank_alone, policy, fed["watchlist_share"])
    bank = metrics(book, levels)
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
        "bank_only_pd_scale": round(factor, 3),
        "smaller_lists": tradeoff,
        "seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--n-firms", type=int, default=20_000)
    parser.add_argument("--refresh-firms", type=int, default=100_000)
    parser.add_argument("--skip-refresh", action="store_true", help="quality figures only")
    parser.add_argument("--horizon", type=int, default=HORIZON, help="label horizon, months")
    args = parser.parse_args()
    policy = load_monitoring_policy(POLICY)
    rows = []
    settings = [(int(s), 1.0) for s in args.seeds.split(",")] + [(1, HARDER_PANEL_SIGNAL)]
    head = (f"{'seed':>4} {'signal':>6} {'recall_3m':>9} {'bank_only':>9} {'precision':>9} "
            f"{'bank_only':>9} {'prec_6m':>7} {'entries':>7} {'ever':>6} {'share':>6} "
            f"{'bank_sh':>7} {'lead':>5} {'defaults':>8}")  # fmt: skip
    print(head, flush=True)
    for seed, signal in settings:
        r = setting(seed, args.n_firms, signal, policy, args.horizon)
        rows.append(r)
        print(
            f"{seed:>4} {signal:>6} {r['recall_3m']:>9.3f} {r['recall_3m_bank_only']:>9.3f} "
            f"{r['precision']:>9.3f} {r['precision_bank_only']:>9.3f} {r['precision_6m']:>7.3f} "
            f"{r['precision_entries_12m']:>7.3f} {r['precision_ever']:>6.3f} "
            f"{r['watchlist_share']:>6.3f} {r['watchlist_share_bank_only']:>7.3f} "
            f"{r['median_lead_months']:>5.1f} {r['defaults']:>8}",
            flush=True,
        )
        print("      smaller federated lists (share: recall_3m / precision): " + ", ".join(
            f"{x['watchlist_share']:.3f}: {x['recall_3m']:.3f} / {x['precision']:.3f}"
            for x in r["smaller_lists"]), flush=True)  # fmt: skip
    default = [r for r in rows if r["panel_signal"] == 1.0]
    summary: dict[str, Any] = {
        key: round(statistics.median(r[key] for r in default), 4)
        for key in ("recall_3m", "recall_3m_bank_only", "precision", "precision_bank_only",
                    "precision_6m", "precision_entries_12m", "precision_ever",
                    "watchlist_share", "watchlist_share_bank_only", "median_lead_months")
    }  # fmt: skip
    summary["harder"] = {k: v for k, v in rows[-1].items() if k not in ("seconds",)}
    summary["settings"] = rows
    summary["n_firms"] = args.n_firms
    summary["horizon"] = args.horizon
    if not args.skip_refresh:
        from scripts.bench.early_warning_refresh import measure_refresh

        timing = measure_refresh(args.refresh_firms, policy)
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
