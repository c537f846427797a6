"""Every code the product writes into its tables, defined once.

Dead-letter codes (`dead_letters.error_code`, docs/contract.md §1), alert kinds
(`alerts.kind`, §2), and the classifications of `dossier_state` (§3). The
parser, the state machine, the processor, the messages and the views all take
their words from here, so a code cannot be spelled two ways.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# -- dead letters --------------------------------------------------------------------
ErrorCode = Literal[
    "invalid_json",
    "schema_error",
    "unknown_event_type",
    "naive_timestamp",
    "key_mismatch",
    "unknown_dossier",
    "invalid_transition",
    "processing_error",
    "unmapped_record",
]
ERROR_CODES: tuple[ErrorCode, ...] = get_args(ErrorCode)
# Decided by the parser (schemas.parse):
INVALID_JSON: Final = "invalid_json"
SCHEMA_ERROR: Final = "schema_error"
UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
NAIVE_TIMESTAMP: Final = "naive_timestamp"
KEY_MISMATCH: Final = "key_mismatch"
# Decided by the state machine once an event has waited out the lateness window:
UNKNOWN_DOSSIER: Final = "unknown_dossier"  # no `received` for its dossier
INVALID_TRANSITION: Final = "invalid_transition"  # impossible at its place in the dossier's life
# Decided by the processor: a valid event whose processing raised (a bug, an unforeseen
# combination); its dossier's later events follow it until an operator rebuilds.
PROCESSING_ERROR: Final = "processing_error"
# Decided by the sync converter (`sync/`): a provincial system's sync record that is well
# formed but says something the deployment's configuration cannot place (a status code
# the mapping lacks, a unit name the directory lacks, a step without the time it needs).
# Its own code because the fix is on our side (DOSSIER_UNITS, DOSSIER_SYNC_MAPPING), not
# the sender's, which a `schema_error` would suggest.
UNMAPPED_RECORD: Final = "unmapped_record"

# -- alerts --------------------------------------------------------------------------
AlertKind = Literal[
    "sla_warning",
    "sla_breach",
    "tax_overdue",
    "open_after_completion",
    "missing_result",
    "late_extension",
]
KINDS: tuple[AlertKind, ...] = get_args(AlertKind)

# -- dossier_state.classification ----------------------------------------------------
Classification = Literal["early", "on_time", "overdue", "open", "open_overdue"]
CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
