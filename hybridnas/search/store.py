"""RunStore: a run directory whose evaluation table is an append-only JSON-lines journal.

Each finished evaluation is appended as one line and fsynced, so a run killed at any moment keeps
every evaluation that completed; a line cut short by the kill is ignored when reading. The resolved
config is written atomically; the Optuna study lives beside it (SQLite by default).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import yaml

from ..errors import HybridNASError
from ..io import atomic_write_text

EVALUATIONS = "evaluations.jsonl"
CONFIG = "config.yaml"


class JournalBackend:
    """The whole storage backend: read every complete record, append one record."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Iterator[dict[str, Any]]:
        if not self.path.is_file():
            return
        with self.path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a record cut short by a kill: not committed
                yield json.loads(line)

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, sort_keys=True, default=float) + "\n").encode()
        self._truncate_torn_tail()
        with self.path.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _truncate_torn_tail(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
            content = self.path.read_bytes()
            handle.seek(0)
            handle.truncate(content.rfind(b"\n") + 1)


class RunStore:
    """A search run's folder: config.yaml, evaluations.jsonl, and the Optuna study (study.db)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.journal = JournalBackend(self.root / EVALUATIONS)

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{(self.root / 'study.db').resolve()}"

    def exists(self) -> bool:
        return (self.root / CONFIG).is_file()

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.root / CONFIG, yaml.safe_dump(config, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        if not self.exists():
            raise HybridNASError(f"{self.root} is not a search run (no {CONFIG}); start one with 'hybridnas search'")
        return yaml.safe_load((self.root / CONFIG).read_text())

    def append(self, record: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.journal.append(record)

    def records(self) -> list[dict[str, Any]]:
        return list(self.journal.read())

    def table(self) -> pd.DataFrame:
        """Every evaluated architecture with all its metrics (one row per record)."""
        frame = pd.DataFrame(self.records())
        return frame if not frame.empty else pd.DataFrame(columns=["trial", "arch", "id", "status"])
