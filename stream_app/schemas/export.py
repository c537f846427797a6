"""Write the JSON Schema of `Event` for the provincial system's developers.

`python -m stream_app.schemas.export [--out PATH]` (or `make schema`) regenerates
`stream_app/schemas/dossier_event.schema.json`, which is kept in the repository; a test fails
when the committed file and a fresh export differ, so the published schema cannot
drift from the models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from stream_app.schemas.events import Event

SCHEMA_PATH = Path(__file__).with_name("dossier_event.schema.json")


def event_json_schema() -> dict[str, Any]:
    """The validation-mode JSON Schema of the event union, with a header."""
    body = TypeAdapter(Event).json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Dossier lifecycle event",
        "description": (
            "One event on the Kafka topic dossier.events (key: dossier_id, UTF-8) or one "
            "line of a JSON Lines replay file. Fields not listed here are ignored and "
            "never stored."
        ),
        **body,
    }


def render() -> str:
    """The file's exact text: stable key order, UTF-8, trailing newline."""
    return json.dumps(event_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stream_app.schemas.export", description=__doc__)
    parser.add_argument("--out", type=Path, default=SCHEMA_PATH,
                        help=f"where to write the schema (default: {SCHEMA_PATH})")
    args = parser.parse_args(argv)
    args.out.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
