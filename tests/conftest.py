"""What every test shares."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture(autouse=True)
def _loggers_stay_capturable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product caches each logger on first use (`cache_logger_on_first_use`): a logger
    first used by a command an earlier test ran in-process would then bypass a later test's
    `structlog.testing.capture_logs`. In tests nothing is cached, whatever the order."""
    configure = structlog.configure

    def uncached(*args, **kwargs) -> None:
        configure(*args, **{**kwargs, "cache_logger_on_first_use": False})

    monkeypatch.setattr(structlog, "configure", uncached)
