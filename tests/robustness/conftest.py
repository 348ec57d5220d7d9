"""Shared fixtures of the robustness tests."""

from pathlib import Path

import pytest
from robustness_helpers import constant_classifier


@pytest.fixture(scope="session")
def predicts_ten(tmp_path_factory) -> Path:
    """A 1000-class classifier that predicts class 10 for every image (class 2 second)."""
    return constant_classifier(tmp_path_factory.mktemp("classifiers") / "predicts_ten.pth", {10: 2.0, 2: 1.0})
