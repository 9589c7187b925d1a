"""The node's datasets, loaded and validated once at start-up (a monthly panel may be re-read
when its file changes: ``reload_if_changed``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from node.data.loader import LoadedDataset, load_dataset


@dataclass(frozen=True)
class DatasetConfig:
    """A dataset the node serves: its file, its schema, and the id field PSI may use."""

    name: str
    path: Path
    schema: Path
    psi_id_field: str | None = None


class UnknownDataset(KeyError):
    """A job or request named a dataset this node does not serve."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = sorted(known)

    def __str__(self) -> str:
        return (
            f"this node serves no dataset {self.name!r}; it serves: {', '.join(self.known)}. "
            "Fix the job file or declare the dataset in the node config"
        )


class NodeDatasets:
    """Validated datasets by name. Loading raises the loader's positional errors, so a node
    with a broken file refuses to start and says which file, column and row."""

    def __init__(self, configs: Iterable[DatasetConfig]) -> None:
        self._configs = {c.name: c for c in configs}
        self._loaded: dict[str, LoadedDataset] = {
            name: load_dataset(c.path, c.schema) for name, c in self._configs.items()
        }

    def stamp(self, name: str) -> tuple[int, int]:
        """The dataset file's (modification time in ns, size): changes when it is rewritten."""
        self.get(name)
        st = self._configs[name].path.stat()
        return st.st_mtime_ns, st.st_size

    def reload_if_changed(self, name: str, seen: tuple[int, int]) -> LoadedDataset | None:
        """Load ``name`` again if its file's ``stamp`` is no longer ``seen``; else None.

        The new version replaces the old only once it has loaded and validated in full, so a
        half-written or broken file leaves the node serving the last good one.

        Raises
        ------
        node.data.exceptions.DatasetError
            The changed file does not load (the message names file, column and row).
        """
        if self.stamp(name) == seen:
            return None
        config = self._configs[name]
        self._loaded[name] = load_dataset(config.path, config.schema)
        return self._loaded[name]

    def names(self) -> list[str]:
        return sorted(self._loaded)

    def get(self, name: str) -> LoadedDataset:
        try:
            return self._loaded[name]
        except KeyError:
            raise UnknownDataset(name, self._loaded) from None

    def frame(self, name: str) -> pd.DataFrame:
        return self.get(name).frame

    def id_column(self, name: str) -> str:
        return self.get(name).schema.id_column

    def psi_id_field(self, name: str) -> str | None:
        """The id field the node config allows for alignment, or None if PSI is not allowed."""
        self.get(name)
        return self._configs[name].psi_id_field
