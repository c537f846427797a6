"""Kafka security from settings, for every client the product builds.

`client_config` gives the kafka-python/aiokafka options (SASL/TLS for a production
cluster); `faust_credentials` the same for the Faust app. One TLS context recipe
serves both.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from stream_app.settings import Settings


def _tls(settings: Settings) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(settings.ssl_cafile)) if settings.ssl_cafile else None


def _password(settings: Settings) -> str | None:
    return settings.sasl_password.get_secret_value() if settings.sasl_password else None


def client_config(settings: Settings) -> dict[str, Any]:
    """Security options shared by kafka-python and aiokafka clients."""
    cfg: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.sasl_mechanism:
        cfg["sasl_mechanism"] = settings.sasl_mechanism
        cfg["sasl_plain_username"] = settings.sasl_username
        cfg["sasl_plain_password"] = _password(settings)
    context = _tls(settings)
    if context is not None:
        cfg["ssl_context"] = context
    return cfg


def faust_credentials(settings: Settings) -> Any | None:
    """The Faust app's `broker_credentials`, or None on a plaintext broker."""
    if not settings.sasl_mechanism and settings.security_protocol == "PLAINTEXT":
        return None
    if settings.sasl_mechanism:
        return faust.SASLCredentials(username=settings.sasl_username, password=_password(settings) or "",
                                     mechanism=settings.sasl_mechanism, ssl_context=_tls(settings))
    return faust.SSLCredentials(_tls(settings))
