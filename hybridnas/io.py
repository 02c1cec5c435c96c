"""Atomic file writes: write a temporary file beside the target, then os.replace (never half-written)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

from .errors import HybridNASError

if TYPE_CHECKING:
    import pandas as pd


class FolderNotOwnedError(HybridNASError):
    """A command was asked to replace a folder it did not write, or one that must never move."""


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call `write` on a temporary file beside `path`, fsync it, then rename it over `path`; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically and return the path."""
    data = text.encode()
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """`torch.save(obj)` to `path` atomically (a checkpoint is never half-written, even on a kill)."""
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))


def atomic_write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV atomically."""
    return atomic_write_text(path, frame.to_csv(index=False))


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def protected_folder_reason(folder: str | Path) -> str | None:
    """Why `folder` may never be replaced or renamed by a command, or None when it may.

    The file-system root, the home folder, the working folder and any folder above it are protected:
    renaming one of them aside would move the user's own work (`--out .` or `--out ..`).
    """
    path = Path(folder).expanduser().absolute()
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "is the file-system root"
    if resolved == Path.home().resolve():
        return "is your home folder"
    if cwd == resolved or resolved in cwd.parents:
        return "is the working folder or one above it"
    if path.is_symlink():
        return "is a symbolic link"
    return None


def check_replaceable(folder: str | Path, *, marker: str, written: frozenset[str] | set[str], what: str) -> None:
    """Refuse to replace `folder` unless the tool itself wrote it.

    A folder may be replaced only if it holds `marker` (the file the tool writes to recognise its own
    output) and nothing outside `written` (the names the tool writes there), and is not protected
    (see `protected_folder_reason`).

    Raises:
        FolderNotOwnedError: naming the folder, what is wrong and what to do instead.
    """
    path = Path(folder)
    reason = protected_folder_reason(path)
    if reason is not None:
        raise FolderNotOwnedError(f"{path} {reason}; hybridnas never replaces it. Give a new folder")
    if not path.is_dir():
        return
    names = {entry.name for entry in path.iterdir()}
    if marker not in names:
        raise FolderNotOwnedError(f"{path} holds no {marker}, so it is not {what} hybridnas wrote; --force replaces "
                                  f"only such folders. Give a new folder")
    foreign = sorted(names - set(written))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FolderNotOwnedError(f"{path} holds files hybridnas did not write ({shown}); --force replaces only "
                                  f"{what} it wrote whole. Move them, or give a new folder")


class BusyError(HybridNASError):
    """Another hybridnas process is writing the same output."""


@contextmanager
def exclusive_lock(target: str | Path, what: str = "output", *, beside: bool = False) -> Iterator[None]:
    """Hold the one-writer lock of `target`: `DIR/.lock` for a folder a command writes into, or `.NAME.lock`
    beside it with `beside` (a file, or a folder that must stay empty until it is swapped in whole).

    Every command that writes an output takes it, so a second writer of the same output is refused at once
    with a one-line error instead of both running and one losing the other's rows.
    """
    import fcntl

    target = Path(target)
    if beside:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = target.parent / f".{target.name}.lock"
    else:
        target.mkdir(parents=True, exist_ok=True)
        lock = target / ".lock"
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(f"{target} is being written by another hybridnas process; wait for it to finish (or "
                            f"stop it), or give this {what} another --out") from None
        try:
            yield
        finally:
            if beside:  # a lock beside the user's files leaves nothing behind (removed while still held)
                lock.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
