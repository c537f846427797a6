"""The provincial systems' sync records to the national public-service portal (Cổng Dịch vụ
công quốc gia), turned into the product's lifecycle events (docs/contract.md §5, docs/ingest.md).

`records` holds the envelope, dossier-record and progress-entry models that drop every
personal field at the edge; `times` reads the senders' local times; `mapping` the status
mapping an administrator may override (shipped `data/dvcqg.toml`); `tax` the portal's
base64 XML tax notices; `seen` what the converter has seen of a dossier; `convert` the
pure conversion (what was seen + a new record → lifecycle events + what is seen now);
`gate` one envelope's bytes into records or dead letters; `ingest` a run of envelopes
through the converter with the seen snapshots read from and written to the store;
`endpoint` the worker's `POST /sync` (a Faust web view, publishing through a function the
job gives it). May import: `store`, `schemas` (dead letters), `domain`, Faust's web views;
never `kafka` or another adapter: the jobs wire them.
"""
