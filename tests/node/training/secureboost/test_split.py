"""Split finding against brute force, with regularisation and learned missing direction."""

from __future__ import annotations

import itertools

import numpy as np

from node.training.secureboost.split import Histogram, SplitRules, best_split, leaf_weight

RULES = SplitRules(l2=1.0, min_child_weight=1.0, min_gain=0.0, frac_bits=10)


def _hist(party: str, g: list[int], h: list[int]) -> Histogram:
    return Histogram(party, (0,), np.array([len(g)]), np.array(g), np.array(h))


def _brute(g: list[int], h: list[int], rules: SplitRules) -> tuple[float, int, bool] | None:
    scale = float(1 << rules.frac_bits)
    gt, ht = sum(g), sum(h)
    best = None
    values = len(g) - 1
    for missing_left, t in itertools.chain(
        ((False, t) for t in range(values)), ((True, t) for t in range(values - 1))
    ):
        left = [i for i in range(values) if i <= t] + ([values] if missing_left else [])
        gl, hl = sum(g[i] for i in left), sum(h[i] for i in left)
        if hl / scale < rules.min_child_weight or (ht - hl) / scale < rules.min_child_weight:
            continue
        score = lambda a, b: (a / scale) ** 2 / (b / scale + rules.l2)  # noqa: E731
        gain = score(gl, hl) + score(gt - gl, ht - hl) - score(gt, ht)
        if best is None or gain > best[0] + 1e-12:
            best = (gain, t, missing_left)
    return best if best and best[0] > 1e-6 else None


def test_best_split_matches_brute_force_on_random_histograms() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        bins = int(rng.integers(2, 9))
        g = rng.integers(-3000, 3000, bins + 1).tolist()
        h = rng.integers(0, 1500, bins + 1).tolist()
        found = best_split([_hist("a", g, h)], sum(g), sum(h), RULES)
        expected = _brute(g, h, RULES)
        if expected is None:
            assert found is None
            continue
        assert found is not None
        assert abs(found.gain - expected[0]) < 1e-9
        assert (found.threshold_bin, found.missing_left) == expected[1:]


def test_missing_values_go_where_they_help() -> None:
    # defaulters' gradients are negative: the missing bin looks like the low bin
    g = [-9000, -200, 6000, 7000, -8000]
    h = [3000, 3000, 3000, 3000, 3000]
    found = best_split([_hist("a", g, h)], sum(g), sum(h), RULES)
    assert found is not None and found.threshold_bin == 0 and found.missing_left


def test_min_child_weight_and_min_gain_prevent_splits() -> None:
    g, h = [-500, 500, 0], [1500, 1500, 0]
    assert best_split([_hist("a", g, h)], 0, 3000, RULES) is not None
    heavy = SplitRules(1.0, min_child_weight=2.0, min_gain=0.0, frac_bits=10)
    assert best_split([_hist("a", g, h)], 0, 3000, heavy) is None
    picky = SplitRules(1.0, 1.0, min_gain=1e6, frac_bits=10)
    assert best_split([_hist("a", g, h)], 0, 3000, picky) is None


def test_ties_go_to_the_first_party_in_job_order() -> None:
    g, h = [-500, 500, 0], [1500, 1500, 0]
    found = best_split([_hist("bank", g, h), _hist("gov", g, h)], 0, 3000, RULES)
    assert found is not None and found.party == "bank"


def test_leaf_weight_is_the_shrunk_newton_step() -> None:
    assert leaf_weight(-2048, 1024, RULES, 0.1) == -0.1 * (-2.0) / (1.0 + 1.0)
