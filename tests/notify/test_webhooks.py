"""Webhooks follow the Standard Webhooks convention: a receiver verifies them with the
convention's library and refuses a captured request replayed later (issue 22, item 2)."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from stream_app.core.ports import Batch
from stream_app.notify.webhooks import WebhookNotifier, signature, signing_key
from tests.reliability.helpers import SECRET, Receiver

BREACH = {"alert_id": "a1", "kind": "sla_breach", "dossier_id": "004.22.31.H53-231020-0012",
          "unit": "004.22.31.H53", "receiving_unit": "004.22.31.H53", "procedure_code": "1.012711",
          "fires_at": "2023-12-01T00:00:00.000+07:00", "emitted_at": "2023-12-01T00:00:00.200+07:00",
          "due_at": "2023-11-30T17:00:00.000+07:00", "message": "Quá hạn: …", "retracted": False, "version": 1}


def post(messages: list[dict], secret: str = SECRET, **kw: object) -> Receiver:
    with Receiver() as receiver:
        asyncio.run(WebhookNotifier([receiver.url], secret, attempts=1, **kw).deliver(messages))  # type: ignore[arg-type]
    return receiver


def test_a_post_carries_the_convention_headers_and_verifies_with_its_library():
    (p,) = post([BREACH]).posts
    headers = dict(p.headers)
    assert headers["webhook-id"] == "a1"
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(timezone.utc).timestamp()) < 5
    assert Webhook(SECRET).verify(p.body, headers) == BREACH
    assert "X-Dossier-Signature" not in headers  # a whsec_ secret: the old header is gone


def test_a_request_captured_and_replayed_ten_minutes_later_is_refused():
    """Signed ten minutes ago (a notifier whose clock is ten minutes behind): what a replay sends."""
    def ten_minutes_ago() -> datetime:
        return datetime.now(timezone.utc) - timedelta(minutes=10)

    (p,) = post([BREACH], now=ten_minutes_ago).posts
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(p.body, dict(p.headers))


def test_a_replayed_request_with_a_fresh_timestamp_fails_the_signature():
    (p,) = post([BREACH]).posts
    headers = dict(p.headers)
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 60)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(p.body, headers)


def test_a_tampered_body_fails_the_signature():
    (p,) = post([BREACH]).posts
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(p.body.replace(b"sla_breach", b"sla_warning"), dict(p.headers))


def test_an_earlier_release_secret_keys_the_new_signature_and_keeps_the_old_header():
    (p,) = post([BREACH], secret="HookS3cret").posts
    headers = dict(p.headers)
    assert Webhook(b"HookS3cret").verify(p.body, headers) == BREACH
    same_key = "whsec_" + base64.b64encode(b"HookS3cret").decode()
    assert Webhook(same_key).verify(p.body, headers) == BREACH
    assert headers["X-Dossier-Signature"] == signature(b"HookS3cret", p.body)


def test_a_whsec_secret_is_its_base64_key_and_a_broken_one_is_a_clear_error_without_the_value():
    assert signing_key("whsec_" + base64.b64encode(b"k" * 24).decode()) == (b"k" * 24, False)
    assert signing_key("plain") == (b"plain", True)
    with pytest.raises(ValueError, match="not base64") as err:
        signing_key("whsec_not*base64!")
    assert "not*base64" not in str(err.value)


def test_a_retraction_and_a_reissue_each_have_their_own_webhook_id():
    retracted = {**BREACH, "retracted": True, "version": 2}
    again = {**BREACH, "version": 3}
    assert sorted(p.key for p in post([BREACH, retracted, again]).posts) == ["a1", "a1:retracted", "a1:v3"]


def test_a_digest_is_one_signed_post_with_its_alerts_in_the_order_they_came_due():
    notifier = WebhookNotifier(["http://127.0.0.1:9/unused"], SECRET)
    later = {**BREACH, "alert_id": "a2", "fires_at": "2023-12-01T07:00:00.000+07:00"}
    waiting = [(d, datetime.now(timezone.utc)) for d in notifier.deliveries([later, BREACH], catch_up=True)]
    assert all(d.batch == "" for d, _ in waiting)  # they wait for the dispatcher
    (digest,) = notifier.digests(waiting, datetime.now(timezone.utc))
    with Receiver() as receiver:
        notifier = WebhookNotifier([receiver.url], SECRET)
        pending = notifier.deliveries([later, BREACH], catch_up=True)
        outcomes = asyncio.run(notifier.send([Batch(digest.batch_id, "webhook", pending[0].endpoint,
                                                    tuple(pending))]))
    (p,) = receiver.posts
    body = Webhook(SECRET).verify(p.body, dict(p.headers))
    assert p.key == digest.batch_id and p.key.startswith("digest-")
    assert (body["type"], body["unit"], body["count"]) == ("alert.digest", "004.22.31.H53", 2)
    assert [a["alert_id"] for a in body["alerts"]] == ["a1", "a2"]
    assert [o.ok for o in outcomes] == [True, True]
    assert orjson.loads(orjson.dumps(body["alerts"][0])) == BREACH
