"""One frozen settings object for the whole product.

Read from `DOSSIER_*` environment variables once, in the entry point
(`stream_app.cli`), and passed down; nothing else reads the environment.
Secrets (DSN passwords, SASL passwords) are `SecretStr` so that they never
appear in a repr, a log line or an error message.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable, with the defaults that ship."""

    model_config = SettingsConfigDict(env_prefix="DOSSIER_", frozen=True, extra="ignore")

    # --- where things are -------------------------------------------------
    broker: str | None = Field(
        default=None,
        description="Kafka bootstrap servers; unset starts the embedded broker",
    )
    clickhouse: SecretStr = Field(
        default=SecretStr("chdb://./var/clickhouse"),
        description="clickhouse-connect DSN: chdb:///path (embedded) or http://user:pw@host:8123/db",
    )
    database: str = Field(default="dossier", description="ClickHouse database")
    catalog: Path | None = Field(default=None, description="procedure catalog CSV (unset: shipped)")
    calendar: Path | None = Field(
        default=None, description="extra days off / make-up working days TOML (added to the shipped table)"
    )
    topic_prefix: str = Field(default="", description="prefix of every Kafka topic name")
    partitions: int = Field(default=4, ge=1, description="partitions of the events topic")
    app_id: str = Field(default="dossier-stream", description="Faust app id / consumer group")

    # --- Kafka security (production) ------------------------------------
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None

    # --- the rules --------------------------------------------------------
    office_hours: str = Field(
        default="07:00-11:30,13:30-17:00", description="office periods, Asia/Ho_Chi_Minh"
    )
    supplement_mode: Literal["restart", "shift"] = Field(
        default="restart", description="after a supplement: restart the limit from zero, or shift it"
    )
    warning_working_hours: float = Field(
        default=8.0, gt=0, description="sla_warning fires when this much working time remains"
    )
    allowed_lateness_s: float = Field(
        default=600.0, ge=0, description="how far behind stream time an event may arrive (seconds)"
    )

    # --- the worker -------------------------------------------------------
    batch_size: int = Field(default=10000, ge=1, description="most records per fetch, hence per live processing batch")
    replay_window: int = Field(
        default=10_000, ge=1,
        description="records a replay folds into one write (whole fetches; fewer when the stream pauses, more "
                    "for a worker owning some of the partitions): one dossier_state row per dossier per window, "
                    "fewer and larger inserts; the live worker writes every fetch",
    )
    hot_dossiers: int = Field(
        default=20_000, ge=1,
        description="dossiers kept as live objects; the least recently used others rest compactly as their "
                    "events (~0.3 KB instead of ~2.3 KB) and are rebuilt on their next event or timer",
    )
    session_timeout_s: float = Field(default=6.0, description="consumer group session timeout")
    heartbeat_interval_s: float = Field(default=2.0)
    web_enabled: bool = Field(default=False, description="serve the live page (worker)")
    web_port: int = Field(default=6066, ge=1, le=65535, description="port of the live page")
    web_bind: str = Field(default="127.0.0.1", description="address the live page listens on (0.0.0.0 in a container)")
    tick_s: float = Field(default=0.2, gt=0, description="live timer tick: how often due timers are checked (seconds)")
    broker_wait_s: float = Field(default=15.0, gt=0, description="how long to wait for the broker at start (seconds)")
    broker_give_up_s: float = Field(
        default=30.0, gt=0, description="stop when the broker has not answered for this long (seconds)"
    )
    stop_timeout_s: float = Field(default=10.0, gt=0, description="longest wait for Faust to stop (seconds)")
    live_clock_start: datetime | Literal["store"] | None = Field(
        default=None,
        description="run the live worker as if the wall clock started at this time, or at the store's own "
                    "clock with `store` (demos, drills, looking at replayed data)",
    )
    catch_up: bool = Field(
        default=False,
        description="let a live worker move a store's clock on to now when it is far behind (after real downtime)",
    )
    catch_up_max_days: float = Field(
        default=7.0, gt=0,
        description="how far behind the wall clock a store's clock may be for a worker to move it on by itself (days)",
    )
    workers: int = Field(
        default=1, ge=1,
        description="run: worker processes sharing the partitions (more than 1 serves an embedded store to them)",
    )
    max_dead_letters: str | None = Field(
        default=None,
        description="run: exit 3 when more lines than this were dead letters: a count (100) or a share (5%)",
    )
    alert_webhooks: str = Field(default="", description="comma-separated URLs that receive alerts")
    # --- the monthly report (#20) ----------------------------------------
    report_config: Path | None = Field(
        default=None,
        description="the report letter's TOML (issuing body, place, recipients, signer, remedy texts), laid over "
                    "the shipped stream_app/data/report.toml; unset: the shipped one",
    )
    # --- the provincial systems' sync records (issue 21; docs/ingest.md) --------
    units: Path | None = Field(
        default=None,
        description="unit directory CSV unit_code,name[,kind,district,aliases] (unset: the shipped units)",
    )
    sync_enabled: bool = Field(
        default=False,
        description="the worker converts sync envelopes: POST /sync on its web server and the dossier.sync topic",
    )
    sync_secret: SecretStr | None = Field(
        default=None, description="shared secret a sync sender gives (X-Sync-Secret header or the envelope's session)"
    )
    sync_mapping: Path | None = Field(
        default=None, description="TOML overriding the shipped sync status mapping (stream_app/data/dvcqg.toml)"
    )
    # --- end of the sync records' group -------------------------------------
    # --- access to the live page (issue 18, docs/security.md) ------------
    users: Path = Field(
        default=Path("var/users.json"),
        description="the user file of the live page, written by `dossier-stream users`, read by the worker",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="key that signs session cookies, 32+ characters, the same for every worker; unset: a random "
                    "key per worker process (sessions end when it stops)",
    )
    session_hours: float = Field(default=10.0, gt=0, description="how long a sign-in lasts (hours)")
    web_secure_cookies: bool = Field(
        default=False, description="mark cookies Secure: set when the page is reached over HTTPS (the TLS proxy)",
    )
    web_trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the client",
    )
    login_failures_per_user: int = Field(default=5, ge=1, description="failed sign-ins of one user name per window")
    login_failures_per_address: int = Field(default=20, ge=1, description="failed sign-ins from one address per window")
    login_window_min: float = Field(default=15.0, gt=0, description="the window of those limits (minutes)")

    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks signing secret: whsec_<base64 key> (any other value: its UTF-8 bytes are "
                    "the key, and the old X-Dossier-Signature header is sent too)",
    )

    # --- alerts by e-mail (the live worker; issue 22, docs/alerts.md) ----------
    smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mail; unset: no e-mail")
    smtp_port: int | None = Field(default=None, description="SMTP port (default: 465 for ssl, 587 for starttls, 25)")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls, ssl (implicit TLS) or none (loopback relays only)"
    )
    smtp_username: str | None = Field(default=None, description="SMTP login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password (never logged)")
    smtp_from: str = Field(default="dossier-stream@localhost", description="From: address of alert e-mail")
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="longest wait for the SMTP server (seconds)")
    smtp_cafile: Path | None = Field(default=None, description="CA bundle for the SMTP server's certificate")
    mail_recipients: Path | None = Field(
        default=None, description="TOML: unit code -> addresses, and the task force's addresses (every unit)"
    )
    mail_batch_s: float = Field(
        default=60.0, ge=0, description="immediate alert e-mail waits this long for more alerts of its unit"
    )
    mail_digest_at: str = Field(default="07:00", description="local time of the morning digest on working days")
    public_url: str = Field(
        default="http://127.0.0.1:6066", description="base URL of the live page, for links in e-mail"
    )
    catch_up_after_s: float = Field(
        default=300.0, gt=0,
        description="live worker: an alert emitted this long after it came due (downtime, a backlog) goes "
                    "into one digest per unit instead of a message of its own",
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return v.strip()

    @field_validator("mail_digest_at")
    @classmethod
    def _digest_at(cls, v: str) -> str:
        try:
            time.fromisoformat(v.strip())
        except ValueError:
            raise ValueError(f"DOSSIER_MAIL_DIGEST_AT must be a local time HH:MM, e.g. 07:00 (got {v!r})") from None
        return v.strip()

    # --- derived names ----------------------------------------------------
    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}dossier.events"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}dossier.events.dlq"

    @property
    def alerts_topic(self) -> str:
        return f"{self.topic_prefix}dossier.alerts"

    @property
    def sync_topic(self) -> str:
        return f"{self.topic_prefix}dossier.sync"

    @property
    def allowed_lateness(self) -> timedelta:
        return timedelta(seconds=self.allowed_lateness_s)

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_in_use(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"ssl": 465, "starttls": 587}.get(self.smtp_security, 25)

    @property
    def webhook_urls(self) -> tuple[str, ...]:
        return tuple(u.strip() for u in self.alert_webhooks.split(",") if u.strip())

    def env_var(self, field: str) -> str:
        return f"DOSSIER_{field.upper()}"
