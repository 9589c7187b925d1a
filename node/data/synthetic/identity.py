"""Identity fields of synthetic firms: codes, names, ID numbers, phones, account numbers.

These are the columns the masking policies protect (C3/C2), so they must look and validate like
the real thing: USCCs with a correct GB 32100-2015 check character, 18-character resident ID
numbers with a correct ISO 7064 MOD 11-2 check digit (GB 11643-1999), 11-digit mobile numbers,
and 19-digit account numbers with a Luhn check digit. All values are invented.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Final

import numpy as np

from node.data import uscc

_CITY: Final = {
    "110105": "北京",
    "310115": "上海",
    "440305": "深圳",
    "330106": "杭州",
    "320102": "南京",
    "510107": "成都",
    "420106": "武汉",
    "370102": "济南",
    "500103": "重庆",
    "610113": "西安",
    "350203": "厦门",
    "430104": "长沙",
}
_SURNAMES: Final = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
_GIVEN: Final = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力国庆春晓宇浩然"
)
_BRAND: Final = tuple("华盛鑫源恒泰宏达兴隆瑞丰嘉德联创新锦程博远众诚永安金辉")
_ID_WEIGHTS: Final = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK: Final = np.array(list("10X98765432"))
_MOBILE_PREFIXES: Final = np.array(["135", "136", "138", "139", "150", "158", "186", "188", "199"])


def uscc_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid unified social credit codes, drawn with ``uscc.generate``."""
    py_rng = random.Random(int(rng.integers(0, 2**63)))
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen[uscc.generate(py_rng)] = None
    return np.array(list(seen), dtype=object)


def city_of(division: np.ndarray) -> np.ndarray:
    """City name for each 6-digit division code (codes come from ``uscc.DIVISIONS``)."""
    return np.array([_CITY.get(d, "") for d in division], dtype=object)


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese personal names: one surname and one or two given-name characters."""
    sur = np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), n)]
    g1 = np.array(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), n)]
    g2 = np.array(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), n)]
    two = rng.random(n) < 0.6
    return np.asarray(sur + g1 + np.where(two, g2, ""))


def firm_names(rng: np.random.Generator, city: np.ndarray, trade: np.ndarray) -> np.ndarray:
    """Firm names: city, a two-character brand, the trade word and ``有限公司``."""
    n = len(city)
    brand = np.array(_BRAND, dtype=object)
    b = brand[rng.integers(0, len(brand), n)] + brand[rng.integers(0, len(brand), n)]
    return np.asarray(city + b + trade + "有限公司")


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return rng.integers(0, 10, size=(n, width))


def _join(digits: np.ndarray) -> np.ndarray:
    """Rows of digits 0-9 as strings, without a Python loop per character."""
    raw = np.ascontiguousarray(digits.astype(np.uint8) + ord("0"))
    return raw.view(f"S{digits.shape[1]}").ravel().astype(str).astype(object)


def resident_ids(rng: np.random.Generator, division: np.ndarray, birth: list[date]) -> np.ndarray:
    """18-character resident ID numbers with a valid MOD 11-2 check character."""
    n = len(division)
    body = np.empty((n, 17), dtype=np.int64)
    body[:, :6] = np.array([[int(c) for c in d] for d in division])
    body[:, 6:14] = np.array([[int(c) for c in b.strftime("%Y%m%d")] for b in birth])
    body[:, 14:] = _digits(rng, n, 3)
    check = _ID_CHECK[(body @ _ID_WEIGHTS) % 11]
    return np.asarray(_join(body) + check.astype(object))


def id_check_character(first17: str) -> str:
    """The GB 11643-1999 check character of a resident ID number's first 17 digits."""
    total = sum(int(c) * int(w) for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return str(_ID_CHECK[total % 11])


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """11-digit mainland mobile numbers."""
    prefix = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), n)].astype(object)
    return np.asarray(prefix + _join(_digits(rng, n, 8)))


def luhn_check_digit(payload: np.ndarray) -> np.ndarray:
    """Luhn check digit for each row of digits (payload without the check digit)."""
    rev = payload[:, ::-1].copy()
    doubled = rev[:, 0::2] * 2
    rev[:, 0::2] = np.where(doubled > 9, doubled - 9, doubled)
    return np.asarray((10 - rev.sum(axis=1) % 10) % 10)


def account_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """19-digit account numbers (bank prefix ``6222``) with a Luhn check digit."""
    payload = np.concatenate([np.tile([6, 2, 2, 2], (n, 1)), _digits(rng, n, 14)], axis=1)
    full = np.concatenate([payload, luhn_check_digit(payload)[:, None]], axis=1)
    return _join(full)
