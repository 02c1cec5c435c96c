"""Atomic writes replace whole files and leave the usual permissions."""

import os
import stat

from hybridnas.io import atomic_write_text


def test_atomic_write_replaces_and_keeps_normal_permissions(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
