"""The house rules of the package's layout: each concept defined once, no import circle, no private name imported
across modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganprior import data

ROOT = Path(__file__).resolve().parents[1]


def test_data_root_rule(monkeypatch, tmp_path):
    """$GANPRIOR_DATA, else ../shared/data beside the checkout; installed (no checkout) without it: an error."""
    monkeypatch.setenv("GANPRIOR_DATA", str(tmp_path))
    assert data.default_data_root() == tmp_path
    monkeypatch.delenv("GANPRIOR_DATA")
    assert data.default_data_root() == ROOT.parent / "shared" / "data"
    monkeypatch.setattr(data, "_checkout", lambda: None)
    with pytest.raises(FileNotFoundError, match="GANPRIOR_DATA"):
        data.default_data_root()
