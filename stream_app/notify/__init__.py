"""Delivering alerts to people's systems: webhooks signed with HMAC (the outbox that makes
it exactly once per alert lives in `store.outbox`). May import: `core` (the delivery
records), `domain`."""
