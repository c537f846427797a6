"""The input's shape (docs/contract.md §1): the pydantic models of the lifecycle events
(`events`), the total parser that turns raw bytes into an event or a dead letter
(`parse`), and the exported JSON Schema (`export`, `dossier_event.schema.json`).

Validation happens here, at the edge, in our own code: fields outside the contract are
dropped, so no personal data gets further. May import: `domain` (the error codes).
"""
