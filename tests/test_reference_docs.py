"""The committed reference pages of the file formats say what the validating models say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    path = REPO / "scripts" / "gen_reference_docs.py"
    spec = importlib.util.spec_from_file_location("gen_reference_docs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_reference_pages_are_fresh() -> None:
    # execute
    stale = _script().stale()
    # assert
    assert not stale, f"stale pages {stale}: run `python scripts/gen_reference_docs.py` and commit"


def test_a_changed_model_makes_its_page_stale(tmp_path: Path) -> None:
    # prepare: the committed pages, one of them edited by hand
    gen = _script()
    for name, text in gen.pages().items():
        (tmp_path / name).write_text(text)
    page = tmp_path / "psi.md"
    page.write_text(page.read_text().replace("`32768`", "`1000`"))
    # execute / assert
    assert gen.stale(tmp_path) == ["psi.md"]
    assert gen.main(["--check"]) == 0


def test_every_page_documents_each_key_with_its_default() -> None:
    # the psi page lists each key the model accepts, with the default the validator applies
    text = _script().pages()["psi.md"]
    assert "| `batch_size` | integer | `32768` | >= 1; <= 131070 |" in text
    assert "| `strict` | boolean | `false` |" in text
