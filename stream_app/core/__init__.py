"""The stream processor and its commit, knowing nothing of Faust, Kafka or ClickHouse.

`processor` turns records into an `output` (events, dead letters, alerts, dossier
snapshots), keeping per-partition event time and timers (`timers`), the events that
wait out the lateness window (`waiting`) and the dossiers at rest (`resting`);
`pipeline` commits a batch in numbered steps through the `ports` the adapters implement
(the store, the Kafka publisher, the notifier) before the batch is acknowledged. May
import: `schemas`, `domain`, the utilities.
"""
