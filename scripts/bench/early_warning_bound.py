"""The Bayes bound of the early-warning benchmark: what the generator's hidden state allows.

No model sees more than the holders' panels up to the refresh month, and every panel is a
noisy function of the firm's hidden state up to that month. So a watch list ranked by the
probability of default *given the full hidden state* at the refresh is an upper bound on any
list of the same size the panels can give (exactly so for a one-month hit rate such as
``precision``: the expected hits of a top-k list are largest when it is ranked by the finest
posterior; for ``recall_3m``, a union over refreshes, it is the natural oracle rather than a
proven maximum).

The hidden state of a firm at panel month ``t`` (``node.data.synthetic.latent``): its long-run
level (quality, industry risk, age), its AR(1) health component, and whether its distress
episode has begun, with the episode's onset and slope if so. What is *not* known at ``t``:
the future idiosyncratic and industry shocks, whether a firm not yet in distress will enter
it later (the generator draws each onset uniformly over the panel, so given none by ``t`` it
comes with the posterior probability below, uniformly over the remaining months, at a fresh
slope), and the default draws themselves.

The probability is computed by Monte-Carlo forward simulation of the generator's own
transition from that state (``simulate_firms``' constants), with the monthly survival
probabilities multiplied along each path rather than default draws sampled (the same
expectation, less noise). The only piece of hidden state ``LatentFirms`` does not keep, the
distress slope, is read from the generator itself: ``simulate_firms`` runs again on the same
seed with its random generator recorded, and the run is checked to reproduce the
federation's latent health exactly, and the level formula to reproduce its AR(1) recursion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.data.synthetic import identity
from node.data.synthetic.config import FOLLOW_UP_MONTHS, HISTORY_MONTHS, SyntheticConfig
from node.data.synthetic.latent import _AR, _HAZARD_SLOPE, _SHOCK, INDUSTRIES, simulate_firms

MONTHS = HISTORY_MONTHS + FOLLOW_UP_MONTHS
ONSET_FIRST = HISTORY_MONTHS - 12  # the generator's onsets: uniform over [ONSET_FIRST, MONTHS)
MACRO_SD = 0.08  # the industry-wide monthly shock (``simulate_firms``)
SLOPE_RANGE = (0.10, 0.30)  # the distress drift per month (``simulate_firms``)
SHOCK_SD = float(np.hypot(_SHOCK, MACRO_SD))
CHUNK = 2000  # firms simulated at once (memory: CHUNK x paths floats per array)


class _Recorder:
    """A ``numpy`` generator that hands out the same draws and keeps each one by method."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.draws: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._rng, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            out = method(*args, **kwargs)
            self.draws.append((name, out))
            return out

        return call


@dataclass(frozen=True)
class HiddenState:
    """Everything the generator has drawn about each firm that bears on later months."""

    level: NDArray[np.float64]  # (n,) the AR(1) walk's mean
    ar: NDArray[np.float64]  # (n, months) the AR(1) component of health (distress removed)
    onset: NDArray[np.int64]  # (n,) distress onset month, -1 never
    slope: NDArray[np.float64]  # (n,) distress drift per month
    p_distress: NDArray[np.float64]  # (n,) the chance of an episode at all
    default_month: NDArray[np.int64]  # (n,) -1 none


def hidden_state(config: SyntheticConfig, health: NDArray[np.float64]) -> HiddenState:
    """The firms' hidden state, from the generator rerun on ``config``'s seed (checked against
    the federation's own latent ``health``)."""
    rng = np.random.default_rng(config.seed)
    identity.uscc_codes(rng, config.n_firms)  # the draws ``build_federation`` makes first
    recorder = _Recorder(rng)
    firms = simulate_firms(recorder, config)  # type: ignore[arg-type]
    if not np.array_equal(firms.health, health):
        raise AssertionError("the generator no longer reproduces the federation's health")
    n = firms.n
    uniform = [out for name, out in recorder.draws if name == "uniform"]
    normal = [out for name, out in recorder.draws if name == "normal"]
    if len(uniform) != 1 or np.shape(uniform[0]) != (n,):
        raise AssertionError("simulate_firms changed: expected one uniform draw, the slope")
    slope = np.asarray(uniform[0], dtype=np.float64)
    risk = np.array([row[2] for row in INDUSTRIES])[firms.industry]
    level = firms.quality + risk + 0.15 * (np.log(firms.age_years) - 1.5)
    # the level must be what the AR(1) walk reverts to: month 1 from month 0 (no distress yet)
    eps = next(out for out in normal if np.shape(out) == (n, MONTHS))
    macro = next(out for out in normal if np.shape(out) == (len(INDUSTRIES), MONTHS))
    step = firms.health[:, 1] - _AR * firms.health[:, 0] - eps[:, 1] - macro[firms.industry, 1]
    if not np.allclose(step, (1.0 - _AR) * level, atol=1e-9):
        raise AssertionError("simulate_firms changed: the level formula no longer holds")
    t_idx = np.arange(MONTHS)[None, :]
    since = np.where(firms.distress_onset[:, None] >= 0,
                     np.maximum(t_idx - firms.distress_onset[:, None], 0), 0)  # fmt: skip
    ar = firms.health + slope[:, None] * since  # before any default, where it is used
    p = np.clip(config.distress_rate * 2.0 / (1.0 + np.exp(0.9 * firms.quality)), 0.0, 0.95)
    return HiddenState(level, ar, firms.distress_onset.astype(np.int64), slope, p,
                       firms.default_month.astype(np.int64))  # fmt: skip


def default_probabilities(
    state: HiddenState,
    rows: NDArray[np.int64],
    t: int,
    horizons: tuple[int, ...],
    config: SyntheticConfig,
    paths: int = 2000,
    seed: int = 0,
) -> dict[int, NDArray[np.float64]]:
    """P(default in months (t, t+h]) of each firm ``rows`` given its hidden state at month
    ``t``, for each ``h`` of ``horizons``; firms already defaulted by ``t`` get 0."""
    rng = np.random.default_rng([seed, t])
    parts = [_chunk(state, rows[i : i + CHUNK], t, horizons, config, paths, rng)
             for i in range(0, len(rows), CHUNK)]  # fmt: skip
    gone = (state.default_month[rows] >= 0) & (state.default_month[rows] <= t)
    return {h: np.where(gone, 0.0, np.concatenate([p[h] for p in parts])) for h in horizons}


def _chunk(
    state: HiddenState,
    rows: NDArray[np.int64],
    t: int,
    horizons: tuple[int, ...],
    config: SyntheticConfig,
    paths: int,
    rng: np.random.Generator,
) -> dict[int, NDArray[np.float64]]:
    n = len(rows)
    level = state.level[rows][:, None]
    ar = np.repeat(state.ar[rows, t][:, None], paths, axis=1)
    onset = state.onset[rows]
    begun = (onset >= 0) & (onset <= t)
    # a firm without an episode by t: one comes with this chance, in a month uniform over
    # (t, MONTHS), at a fresh slope (Bayes on the generator's uniform onset)
    p = state.p_distress[rows]
    left = MONTHS - 1 - t
    before = (t - ONSET_FIRST + 1) / (MONTHS - ONSET_FIRST)
    later = p * left / (MONTHS - ONSET_FIRST) / (1.0 - p * before)
    comes = (~begun)[:, None] & (rng.random((n, paths)) < later[:, None])
    new_onset = t + 1 + rng.integers(0, max(left, 1), (n, paths))
    on = np.where(begun[:, None], onset[:, None], np.where(comes, new_onset, MONTHS))
    slope = np.where(begun[:, None], state.slope[rows][:, None],
                     rng.uniform(*SLOPE_RANGE, (n, paths)))  # fmt: skip
    survive = np.ones((n, paths))
    out: dict[int, NDArray[np.float64]] = {}
    for m in range(t + 1, t + 1 + max(horizons)):
        if m < MONTHS:
            # the firm's own shock and its industry's, independent normals: one of their sum
            ar = level + _AR * (ar - level) + rng.normal(0.0, SHOCK_SD, (n, paths))
            if m >= HISTORY_MONTHS:  # defaults are drawn in the follow-up year only
                health = ar - slope * np.maximum(m - on, 0)
                hazard = 1.0 / (1.0 + np.exp(-(config.default_intercept - _HAZARD_SLOPE * health)))
                survive *= 1.0 - hazard
        if m - t in horizons:
            out[m - t] = 1.0 - survive.mean(axis=1)
    return out
