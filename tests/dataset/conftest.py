"""Fixtures for dataset tests."""

import pytest
from _dataset_helpers import FakeDecoder

from bofan_analytics.dataset import _convert


@pytest.fixture
def fake_decoder(monkeypatch) -> FakeDecoder:
    decoder = FakeDecoder()
    monkeypatch.setattr(_convert, "_decoder_for", decoder)
    return decoder
