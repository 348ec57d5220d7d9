"""The fixture that lets graph nodes run the fast stand-in `stand_in_lut`."""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def stand_in(tmp_path, monkeypatch) -> Path:
    """Processes find `stand_in_lut`; returns the file its calls are noted in."""
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("STAND_IN_CALLS", str(calls))
    return calls
