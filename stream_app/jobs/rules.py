"""The rules in force and the names of things, read from the settings' files once per job.

The calendar (the shipped table of swapped days plus `DOSSIER_CALENDAR`), the
office hours, the catalog (`DOSSIER_CATALOG`, else the shipped one), the
supplement mode and the warning time make the domain's `Rules`; the catalog and
the unit directory (`DOSSIER_UNITS`) make the `Directory` that messages, the page and the report name
things by.
"""

from __future__ import annotations

from datetime import timedelta

from stream_app.domain.calendar import OfficeHours, WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.settings import Settings


def load_rules(settings: Settings) -> Rules:
    calendar = WorkingCalendar.load(settings.calendar, OfficeHours.parse(settings.office_hours))
    return Rules(
        calendar=calendar,
        catalog=Catalog.load(settings.catalog),
        supplement_mode=settings.supplement_mode,
        warning=timedelta(hours=settings.warning_working_hours),
    )


def load_directory(rules: Rules, settings: Settings | None = None) -> Directory:
    """The catalog's names and the unit directory (`DOSSIER_UNITS`, else the shipped units)."""
    return Directory.load(rules.catalog, settings.units if settings is not None else None)
