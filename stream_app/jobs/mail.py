"""The live worker's dispatcher rounds and the morning digest (issue 22).

Once its partitions are caught up, one worker — the one holding partition 0 of
the events topic, so that workers sharing the partitions never send the same
mail twice — runs a round every `every_s` (2 s): the pipeline's `dispatch`
sends what a dispatched channel left unsent and forms the digests that are due
(e-mail per unit after its minute; webhooks' catch-up digests), and, on a
working day once the local time has passed `DOSSIER_MAIL_DIGEST_AT`, the
morning digest goes out: the figures of `notify.digest`, read from the store,
one letter per recipient group, recorded in the outbox as `digest:<day>` before
it is sent. So it goes once a day, and a worker that was down at 07:00 sends
it when it is back and caught up, if the office has not closed yet (17:00, the
end of the last office period) — one digest, never one per day missed.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any, Callable

import structlog

from stream_app.clock import Clock, utc_now
from stream_app.core.pipeline import Pipeline
from stream_app.core.ports import Batch
from stream_app.domain.calendar import TZ, WorkingCalendar
from stream_app.notify.digest import digest_rows, for_group
from stream_app.notify.mail import DIGEST_PREFIX, MailNotifier

log = structlog.get_logger(__name__)


class Dispatch:
    """The live worker's rounds: digests and letters through `Pipeline.dispatch`, and the
    morning digest; built once per worker, ticked by its live loop once caught up."""

    def __init__(self, pipeline: Pipeline, *, mail: MailNotifier | None, calendar: WorkingCalendar,
                 digest_at: str, read: Callable[..., Any], leader: Callable[[], bool], every_s: float = 2.0,
                 wall: Clock = utc_now) -> None:
        self.pipeline = pipeline
        self.mail = mail
        self.calendar = calendar
        self.digest_at = time.fromisoformat(digest_at)
        self.read = read  # a store query in the pipeline's executor: read(fn, *args) -> fn(client, db, *args)
        self.leader = leader
        self.every_s = every_s
        self.wall = wall
        self._last = 0.0
        self._round: asyncio.Task[None] | None = None
        self._digest_day: date | None = None  # the day whose morning digest is known to be sent

    async def tick(self, now: datetime) -> None:
        """A live tick, caught up: start a round if one is due. `now` is the worker's clock (a
        drill's). A round runs as its own task, so a slow mail server never holds the timers
        back; a round that failed (a store error that is not an outage) stops the job here."""
        if self._round is not None:
            if not self._round.done():
                return
            failed, self._round = self._round.exception(), None
            if failed is not None:
                raise failed
        if monotonic() - self._last < self.every_s or not self.leader():
            return
        self._last = monotonic()
        self._round = asyncio.create_task(self.round(now))

    async def round(self, now: datetime) -> None:
        await self.pipeline.dispatch(self.wall())
        if self.mail is not None:
            await self.morning(now)

    async def close(self) -> None:
        """Stop a round in flight (a letter it was sending is sent again by the next start)."""
        if self._round is not None and not self._round.done():
            self._round.cancel()
            await asyncio.gather(self._round, return_exceptions=True)

    async def morning(self, now: datetime) -> bool:
        """Send today's morning digest if it is due and not sent yet; True if it went now."""
        local = now.astimezone(TZ)
        day = local.date()
        closes = self.calendar.office_hours.periods[-1][1]
        if (self._digest_day == day or not self.digest_at <= local.time() < max(closes, self.digest_at)
                or not self.calendar.is_working_day(day)):
            return False  # not the time, or a worker back after the office closed: tomorrow's will come
        key = f"{DIGEST_PREFIX}{day.isoformat()}"
        store = self.pipeline.store
        if await self.pipeline.until_done(store.has, "mail", key):
            self._digest_day = day
            return False
        assert self.mail is not None
        next_day = day + timedelta(days=1)
        while not self.calendar.is_working_day(next_day):
            next_day += timedelta(days=1)
        rows = await self.read(digest_rows, day, next_day)
        groups = self.mail.recipients.digest_groups()
        deliveries = [self.mail.morning(day.isoformat(), g, for_group(rows, g, day, now)) for g in groups]
        claimed = await self.pipeline.until_done(
            store.claim, [Batch(d.batch, d.channel, d.endpoint, (d,)) for d in deliveries])
        await self.pipeline.send([d for b in claimed for d in b.deliveries])
        self._digest_day = day
        log.info("mail.digest", day=day.isoformat(), groups=len(groups),
                 dossiers=sum(len(v) for v in rows.values()))
        return True
