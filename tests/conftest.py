"""Shared fixtures: shipped spaces (loaded once) and the read-only ground-truth folder ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridnas import load_space, shipped_spaces

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SPACES = shipped_spaces()


@pytest.fixture(scope="session", params=SPACES)
def space(request):
    """Each shipped space in turn."""
    return load_space(request.param)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"ground-truth folder {SHARED} is missing")
    return SHARED
