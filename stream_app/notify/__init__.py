"""Delivering alerts to people: webhooks signed by the Standard Webhooks convention
(`webhooks`), and e-mail — who receives what (`recipients`), the letters in Vietnamese
(`letters`), the SMTP channel (`mail`) and the morning digest's figures read from the store
(`digest`). Each is a `core.ports.Channel` whose deliveries go through the store's outbox
(`store.outbox`), which makes them survive a crash. May import: `store` (identifiers),
`core` (the delivery records), `domain`, the utilities."""
