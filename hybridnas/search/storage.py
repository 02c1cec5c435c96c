"""Opening a run's Optuna storage: one-line errors for URLs that cannot work, and one study per run.

Every run gets its own study name (`RunStore.identity`), so a `--storage` shared by mistake never mixes two
runs' trials; a new run refuses a storage that already holds another run's study.
"""

from __future__ import annotations

from typing import Any

import optuna

from ..errors import HybridNASError

HINT = "use sqlite:///PATH (the default is the run folder's own study.db) or a reachable database URL"


def open_storage(url: str) -> Any:
    """Optuna's storage for `url`, or a HybridNASError saying why it cannot be opened and what to use."""
    try:
        return optuna.storages.get_storage(url)
    except (ImportError, ModuleNotFoundError) as exc:
        raise HybridNASError(f"--storage {url}: its database driver is not installed ({exc}); {HINT}") from None
    except Exception as exc:  # sqlalchemy's errors for a bad scheme, an unreachable path, a garbage file
        reason = str(exc).splitlines()[0][:200]
        raise HybridNASError(f"--storage {url}: cannot be opened ({type(exc).__name__}: {reason}); {HINT}") from None


def refuse_shared_storage(storage: Any, url: str) -> None:
    """A new run may not write into a storage that already holds a hybridnas run's study."""
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    except Exception as exc:
        raise HybridNASError(f"--storage {url}: cannot be read ({type(exc).__name__}); {HINT}") from None
    taken = [n for n in names if n.startswith("hybridnas")]
    if taken:
        raise HybridNASError(f"--storage {url} already holds the study of another run ({taken[0]}); give each run "
                             "its own storage (or leave --storage out: the run folder keeps its own study.db)")


def create_study(name: str, storage: Any, directions: list[str], sampler: Any, pruner: Any) -> optuna.Study:
    """Create (or load, on resume) the run's study; a damaged study database is a one-line error."""
    try:
        return optuna.create_study(study_name=name, storage=storage, directions=directions, sampler=sampler,
                                   load_if_exists=True, pruner=pruner)
    except HybridNASError:
        raise
    except Exception as exc:
        if storage is None:
            raise
        reason = str(exc).splitlines()[0][:200]
        raise HybridNASError(f"the run's study cannot be opened ({type(exc).__name__}: {reason}); if study.db "
                             "was damaged, restore it from a copy, or start a new run") from None
