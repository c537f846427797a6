"""Alert e-mail (the live worker's): the mail `Channel` and the SMTP client.

Each `sla_breach`, `tax_overdue` and `late_extension` message (and its
retraction) owes one delivery per recipient group (`notify.recipients`). They
wait in the outbox; the live worker's dispatcher asks `digests()` which are
due — a group's waiting alerts once its oldest has waited `batch_s` (60 s), so
a busy minute is one message, and after downtime everything that came due
meanwhile is one message per group, not a flood — and `send()` mails each
batch as one letter (`notify.letters`), with a Message-ID made from the batch's
id. The morning digest travels the same way (its outbox row holds its figures).

SMTP runs in a thread, off the event loop, one connection per round, with
STARTTLS, implicit TLS or neither (a relay on loopback) and a login when a user
is set; the password is handed to the server's login and nowhere else. A
server that is down, slow, says "try later" (4xx) or refuses the login delays
the mail, never loses it: the batch stays in the outbox, and is tried again
with backoff (5 s doubling to 5 min), the outage logged once when it starts and
once when it ends. A message the server refuses for good (5xx, every recipient
refused) is marked `failed` and logged. Logs name groups and ids, never an address.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from hashlib import blake2b
from pathlib import Path
from typing import Any, Sequence

import orjson
import structlog
from pydantic import SecretStr

from stream_app.clock import Clock, utc_now
from stream_app.core.output import message_key
from stream_app.core.ports import Batch, Delivery, Outcome
from stream_app.notify.letters import Letters, wire
from stream_app.notify.recipients import Recipients
from stream_app.notify.webhooks import digest_messages, fires_at

log = structlog.get_logger(__name__)

IMMEDIATE = frozenset({"sla_breach", "tax_overdue", "late_extension"})
DIGEST_PREFIX = "digest:"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None = None
    password: SecretStr | None = None  # read only at login
    timeout_s: float = 30.0
    cafile: Path | None = None


class Refused(Exception):
    """The server refused this message for good (5xx): retrying will not help."""


class SmtpClient:
    """Sends a round of messages over one connection (blocking: run in a thread)."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def _connect(self) -> smtplib.SMTP:
        s = self.server
        context = ssl.create_default_context(cafile=str(s.cafile) if s.cafile else None)
        if s.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                conn.starttls(context=context)
        if s.username:
            conn.login(s.username, s.password.get_secret_value() if s.password is not None else "")
        return conn

    def send(self, messages: Sequence[EmailMessage]) -> tuple[list[bool], Exception | None]:
        """One outcome per message, in order, as far as the round got (True accepted, False
        refused for good), and what stopped it early: the server gone, a "try later", a
        refused login or sender (the rest are tried later, nothing of what went is lost)."""
        out: list[bool] = []
        try:
            conn = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            return out, exc
        try:
            for msg in messages:
                try:
                    to = [a.strip() for a in str(msg["To"]).split(",") if a.strip()]
                    refused = conn.sendmail(str(msg["From"]), to, wire(msg))
                except smtplib.SMTPRecipientsRefused as exc:
                    log.error("mail.refused", message_id=msg["Message-ID"], recipients=len(exc.recipients))
                    out.append(False)
                    continue
                except smtplib.SMTPSenderRefused:
                    raise  # DOSSIER_SMTP_FROM refused: a setting to fix, not this letter's fault
                except smtplib.SMTPResponseException as exc:
                    if 500 <= exc.smtp_code < 600:
                        log.error("mail.refused", message_id=msg["Message-ID"], code=exc.smtp_code)
                        out.append(False)
                        conn.rset()
                        continue
                    raise
                if refused:
                    log.warning("mail.recipients_refused", message_id=msg["Message-ID"], recipients=len(refused))
                out.append(True)
        except (smtplib.SMTPException, OSError) as exc:
            return out, exc
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
        return out, None


class MailNotifier:
    """The e-mail `Channel`: sent only by the live worker's dispatcher."""

    name = "mail"
    dispatched = True

    def __init__(self, client: SmtpClient, recipients: Recipients, letters: Letters, *, batch_s: float = 60.0,
                 now: Clock = utc_now) -> None:
        self.client = client
        self.recipients = recipients
        self.letters = letters
        self.batch = timedelta(seconds=batch_s)
        self.now = now  # the real wall clock: the outbox's enqueue times and the Date header
        self.sent = 0
        self._retry_at = 0.0  # monotonic: no attempt before this (a server that was down)
        self._delay = 0.0
        self._failing_since: float | None = None

    def deliveries(self, messages: Sequence[dict[str, Any]], *, catch_up: bool = False) -> list[Delivery]:
        out = []
        for m in messages:
            if m.get("kind") not in IMMEDIATE:
                continue
            body, key = orjson.dumps(m), message_key(m)
            out += [Delivery(key, group, str(m["alert_id"]), body, self.name, group, fires_at(m), "")
                    for group in self.recipients.groups(m)]
        return out

    def digests(self, waiting: Sequence[tuple[Delivery, datetime]], now: datetime) -> list[Batch]:
        """Each group's waiting alerts as one letter, once the oldest has waited the batch window."""
        groups: dict[str, list[tuple[Delivery, datetime]]] = {}
        for d, at in waiting:
            groups.setdefault(d.endpoint, []).append((d, at))
        out = []
        for group, items in sorted(groups.items()):
            if min(at for _, at in items) > now - self.batch:
                continue
            keys = sorted(d.delivery_id for d, _ in items)
            raw = "\x1f".join([self.name, group, *keys]).encode()
            out.append(Batch(f"alerts-{blake2b(raw, digest_size=12).hexdigest()}", self.name, group,
                             tuple(d for d, _ in items)))
        return out

    def morning(self, day: str, group: str, figures: dict[str, Any]) -> Delivery:
        """The morning digest of one group, as an outbox delivery (its own batch)."""
        key = f"{DIGEST_PREFIX}{day}"
        return Delivery(key, group, "", orjson.dumps(figures), self.name, group, None, f"morning-{day}-{group}")

    def letter(self, batch: Batch) -> EmailMessage:
        to = self.recipients.addresses(batch.endpoint)
        first = batch.deliveries[0]
        if first.delivery_id.startswith(DIGEST_PREFIX):
            return self.letters.digest_letter(batch.batch_id, batch.endpoint, to, orjson.loads(first.body),
                                              self.now())
        return self.letters.alert_letter(batch.batch_id, batch.endpoint, to, digest_messages(batch), self.now())

    async def send(self, sends: Sequence[Batch]) -> list[Outcome]:
        todo = [b for b in sends if self.recipients.addresses(b.endpoint)]
        if not todo or time.monotonic() < self._retry_at:
            return []  # nobody to write to any more (they stay in the outbox), or backing off
        letters = [self.letter(b) for b in todo]
        accepted, error = await asyncio.to_thread(self.client.send, letters)
        out: list[Outcome] = []
        for b, ok in zip(todo, accepted):
            out += [Outcome(d, ok, 1) for d in b.deliveries]
            self.sent += ok
        if error is None:
            if self._failing_since is not None:
                log.warning("mail.recovered", outage_s=round(time.monotonic() - self._failing_since, 1))
            self._failing_since, self._delay = None, 0.0
        else:
            self._backoff(error, len(todo) - len(accepted))
        return out

    def _backoff(self, error: Exception, waiting: int) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            code = getattr(error, "smtp_code", None)
            log.error("mail.outage", error=type(error).__name__, code=code, letters_waiting=waiting)
        self._delay = min(max(self._delay * 2, 5.0), 300.0)
        self._retry_at = time.monotonic() + self._delay
