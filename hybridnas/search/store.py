"""RunStore: a run directory whose evaluation table is an append-only JSON-lines journal.

Each finished evaluation is appended as one line and fsynced, so a run killed at any moment keeps
every evaluation that completed; a line cut short by the kill is ignored when reading. The resolved
config is written atomically; the Optuna study lives beside it (SQLite by default).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import yaml

from ..errors import HybridNASError
from ..configfile import read_yaml_mapping
from ..io import atomic_write, atomic_write_text, exclusive_lock
from .record import JournalRecord

EVALUATIONS = "evaluations.jsonl"
CONFIG = "config.yaml"
LOCK = ".lock"
IDENTITY = "run.json"  # the run's study name and the space it searched, pinned
PINNED_SPACE = "space.yaml"
LEGACY_STUDY = "hybridnas"  # the one study name of runs made before study names were per run
# what `--resume` may change: how many trials and training epochs (only more) and where and how wide the work runs
# (device and GPU shares too: scores on a GPU agree with the CPU's to rounding)
RESUMABLE = {"trials", "epoch_budget", "workers", "ray_address", "ray_dashboard", "device", "gpus_per_worker"}


def check_resume_config(stored: dict[str, Any], new: dict[str, Any], root: Path, change_budget: bool = False) -> None:
    """Refuse a resume whose settings differ from the run's (anything but more trials or training epochs and where
    it runs; with `change_budget`, the budget too)."""
    allowed = RESUMABLE | ({"budget"} if change_budget else set())
    changed = sorted(k for k in set(stored) | set(new) if k not in allowed and stored.get(k) != new.get(k))
    if changed:
        detail = "; ".join(f"{k}: {stored.get(k)!r} -> {new.get(k)!r}" for k in changed[:4])
        hint = " (pass --change-budget to change the budget)" if "budget" in changed and not change_budget else ""
        raise HybridNASError(f"--resume {root}: the run was made with other settings ({detail}); a resume may only "
                             f"add trials or training epochs, or change --workers/--ray-address{hint}. Start a new --out for other "
                             "settings")
    if (new.get("trials") or 0) < (stored.get("trials") or 0):
        raise HybridNASError(f"--resume {root}: --trials {new.get('trials')} is fewer than the run's "
                             f"{stored.get('trials')}; a resume can only add trials")
    if stored.get("epoch_budget") is not None and (new.get("epoch_budget") or 0) < stored["epoch_budget"]:
        raise HybridNASError(f"--resume {root}: --epoch-budget {new.get('epoch_budget')} is fewer than the run's "
                             f"{stored['epoch_budget']}; a resume can only add training epochs")


class JournalBackend:
    """The whole storage backend: read every complete record, append one record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damaged: list[int] = []  # numbers of complete lines that held no record, from the last read
        self.torn = False  # whether the last read found a final line cut short (a kill mid-write)

    def read(self) -> Iterator[JournalRecord]:
        """Every complete record; a complete line that is not a record is skipped and noted in `damaged`."""
        self.damaged, self.torn = [], False
        if not self.path.is_file():
            return
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.endswith(b"\n"):
                    self.torn = True  # a record cut short by a kill: not committed
                    break
                try:
                    record = JournalRecord.from_json(json.loads(line))
                except (ValueError, RecursionError, TypeError, KeyError, AttributeError, HybridNASError):
                    self.damaged.append(number)
                else:
                    yield record

    def append(self, record: JournalRecord) -> None:
        data = (json.dumps(record.to_json(), sort_keys=True, default=float) + "\n").encode()
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
        return read_yaml_mapping(self.root / CONFIG, "run's config.yaml")

    def append(self, record: JournalRecord) -> None:
        """Journal one record (fsynced before this returns)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.journal.append(record)

    # ---- identity: the study name and the pinned space --------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """{'study': name, 'space_sha256': ...} of this run; a run older than the file has the legacy name."""
        path = self.root / IDENTITY
        if not path.is_file():
            return {"study": LEGACY_STUDY}
        try:
            identity = json.loads(path.read_text())
        except ValueError:
            identity = None
        if not isinstance(identity, dict) or not isinstance(identity.get("study"), str):
            raise HybridNASError(f"{path} is damaged; it names the run's study. Restore it, or start a new run")
        return identity

    @property
    def study_name(self) -> str:
        return self.identity()["study"]

    def create_identity(self, space_source: str) -> dict[str, Any]:
        """Give a new run its own study name and pin the space it searches (a copy and its hash)."""
        import hashlib
        import uuid

        text = Path(space_source).read_bytes() if Path(space_source).is_file() else None
        identity = {"study": f"hybridnas-{uuid.uuid4().hex[:12]}"}
        if text is not None:
            identity["space_sha256"] = hashlib.sha256(text).hexdigest()
            atomic_write(self.root / PINNED_SPACE, lambda handle: handle.write(text))
        atomic_write_text(self.root / IDENTITY, json.dumps(identity, indent=1))
        return identity

    def check_space_unchanged(self, space_source: str) -> None:
        """Refuse a space file that changed since the run searched it: an arch id would mean another network."""
        import hashlib

        pinned = self.identity().get("space_sha256")
        if pinned is None or not Path(space_source).is_file():
            return
        if hashlib.sha256(Path(space_source).read_bytes()).hexdigest() != pinned:
            raise HybridNASError(f"{space_source} changed since {self.root} searched it, so its architecture "
                                 f"strings may now build other networks; restore the file, or use the copy the "
                                 f"run pinned: {self.root / PINNED_SPACE}")

    def space_source(self, configured: str) -> str:
        """The space file to read this run's architectures with: the pinned copy when the run has one."""
        pinned = self.root / PINNED_SPACE
        return str(pinned) if pinned.is_file() and "space_sha256" in self.identity() else configured

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's exclusive writer lock; a second writer gets a HybridNASError at once."""
        with exclusive_lock(self.root, "run"):
            yield

    def damaged_note(self) -> str | None:
        """A sentence naming the journal lines the last read skipped, or None."""
        lines, torn = self.journal.damaged, self.journal.torn
        if not lines and not torn:
            return None
        parts = []
        if lines:
            shown = ", ".join(map(str, lines[:10])) + (" ..." if len(lines) > 10 else "")
            parts.append(f"skipped {len(lines)} damaged line(s) ({shown})")
        if torn:
            parts.append("the last line was cut short (a kill while writing)")
        return (f"note: {self.root / EVALUATIONS}: {'; '.join(parts)}; the architectures they held count as not "
                "evaluated (a resume restores them from study.db or evaluates them again)")

    def records(self) -> list[JournalRecord]:
        """Every record of the journal, in the order written."""
        return list(self.journal.read())

    def table(self) -> pd.DataFrame:
        """Every evaluated architecture with all its metrics (one row per record)."""
        frame = pd.DataFrame([r.to_json() for r in self.records()])
        return frame if not frame.empty else pd.DataFrame(columns=["trial", "arch", "id", "status"])
