"""The synthetic province the generator plays: its units and their habits.

The units (codes, Vietnamese names, kinds, districts) are data, shipped in
``stream_app/data/units.csv``; this module loads them and adds what a generator needs
and no CSV should hold: how much each unit receives, how it works (pace, supplement
requests, dossiers left open, results never attached, apology letters) and which tax
office serves it, and when people file. The numbers are calibrated, not observed:
together they reproduce what is known of a ~1 M-people province in late 2023
(docs/domain.md, Scale) — 17.8-20.7 % of finished land dossiers late, most of them in the
district branches. In units.csv a tax office's district is its seat; which districts
it serves is the ``tax_office`` of each land unit here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

OFFICE, BRANCH, TAX = "office", "branch", "tax"


@dataclass(frozen=True)
class Unit:
    """One row of units.csv; ``district`` is empty for province-wide units."""

    code: str
    name: str
    kind: str
    district: str


@dataclass(frozen=True)
class Habits:
    """How one land unit receives and works.

    ``pace`` is the median working time a dossier takes there, as a fraction of its
    limit, and ``spread`` the log-normal sigma around it: the share above 1 is roughly
    the share finished late. The other fields are probabilities per dossier.
    """

    share: float  # of the province's intake
    online: float  # filed online (any hour, any day)
    postal: float  # arrived by post
    pace: float
    spread: float
    supplement: float  # asked for a supplement (clock restarts from zero)
    left_open: float  # result attached/returned, but the dossier concluded days later
    no_result: float  # concluded without an electronic result attached
    apology: float  # a dossier running late gets an apology letter (extended)
    late_apology: float  # ... and the letter comes too late
    tax_office: str  # where its information slips go


@dataclass(frozen=True)
class TaxHabits:
    """How a tax office answers an information slip."""

    late: float  # share of payment notices issued after the tax limit


# Branches are slower and leave more dossiers open than the provincial office; Trảng
# Bàng (industrial parks, the largest land market) and Tân Châu (large rubber estates,
# few staff) are the two the task force singles out. Columns in Habits' field order;
# tax offices: 000 the provincial department (organisations), 001-004 the areas.
HABITS: dict[str, Habits] = {
    #                       share onlin post  pace  sprd  suppl open  nores apol  late  tax_office
    "000.22.31.H53": Habits(0.09, 0.30, 0.03, 0.56, 0.38, 0.08, 0.02, 0.04, 0.55, 0.25, "000.53.10.G12"),
    "001.22.31.H53": Habits(0.15, 0.28, 0.02, 0.62, 0.45, 0.12, 0.05, 0.06, 0.45, 0.35, "001.53.10.G12"),
    "002.22.31.H53": Habits(0.11, 0.22, 0.02, 0.60, 0.44, 0.12, 0.04, 0.05, 0.45, 0.35, "002.53.10.G12"),
    "003.22.31.H53": Habits(0.14, 0.18, 0.02, 0.78, 0.50, 0.16, 0.08, 0.10, 0.35, 0.45, "003.53.10.G12"),
    "004.22.31.H53": Habits(0.07, 0.15, 0.01, 0.64, 0.45, 0.13, 0.04, 0.06, 0.40, 0.35, "004.53.10.G12"),
    "005.22.31.H53": Habits(0.09, 0.14, 0.01, 0.76, 0.50, 0.15, 0.07, 0.09, 0.35, 0.45, "004.53.10.G12"),
    "006.22.31.H53": Habits(0.09, 0.18, 0.01, 0.63, 0.46, 0.12, 0.05, 0.06, 0.40, 0.35, "002.53.10.G12"),
    "007.22.31.H53": Habits(0.09, 0.17, 0.01, 0.64, 0.45, 0.12, 0.05, 0.06, 0.40, 0.35, "001.53.10.G12"),
    "008.22.31.H53": Habits(0.10, 0.20, 0.02, 0.64, 0.46, 0.13, 0.05, 0.06, 0.40, 0.35, "003.53.10.G12"),
    "009.22.31.H53": Habits(0.07, 0.14, 0.01, 0.65, 0.47, 0.13, 0.05, 0.07, 0.40, 0.35, "003.53.10.G12"),
}

TAX_HABITS: dict[str, TaxHabits] = {
    "000.53.10.G12": TaxHabits(0.05),
    "001.53.10.G12": TaxHabits(0.08),
    "002.53.10.G12": TaxHabits(0.08),
    "003.53.10.G12": TaxHabits(0.16),
    "004.53.10.G12": TaxHabits(0.12),
}

# Procedure mixes by catalog code. Branches serve households: transfers, inheritance
# and gifts dominate. The office serves organisations and projects: more first
# registrations, corrections and revocations.
BRANCH_MIX: dict[str, float] = {
    "1.012711": 0.56, "1.012712": 0.07, "1.012713": 0.10, "1.012714": 0.05,
    "1.012715": 0.13, "1.012716": 0.04, "1.012717": 0.04, "1.012718": 0.01,
}
OFFICE_MIX: dict[str, float] = {
    "1.012711": 0.38, "1.012712": 0.18, "1.012713": 0.10, "1.012714": 0.05,
    "1.012715": 0.08, "1.012716": 0.04, "1.012717": 0.12, "1.012718": 0.05,
}
# A local procedure with no limit in the catalog (a local variant carries the unit
# code): tracked without a due time, counted on time when finished.
UNLISTED_PROCEDURE = "2.001234.000.00.00.H53"
UNLISTED_SHARE = 0.003

# Share of each procedure's dossiers interlinked with tax (transfer tax, registration
# fee, land-use fee); exempt family transfers and gifts make up the rest.
TAX_SHARE: dict[str, float] = {"1.012711": 0.50, "1.012712": 0.60}

# A branch's dossier goes to the provincial office, which signs new certificates (about
# half the transfers, nearly every first registration), and back; an office dossier
# goes to the branch of the parcel's district (field check, measurement) and back.
TO_OFFICE: dict[str, float] = {"1.012712": 0.85, "1.012714": 0.50, "1.012718": 0.60, "1.012711": 0.50}
TO_BRANCH: dict[str, float] = {"1.012712": 0.50, "1.012715": 0.60, "1.012714": 0.40}
DEFAULT_TRANSFER = 0.05
SENT_BACK = 0.2  # of those visits: sent back once for correction, then again

REJECTED = 0.015  # refused: concluded with outcome rejected
WITHDRAWN = 0.008  # the citizen withdrew
SUPPLEMENT_ABANDONED = 0.05  # of supplement requests never answered
SECOND_APOLOGY = 0.08  # of apology letters followed by a second one
ONLINE_PAYMENT = 0.35  # obligations paid online rather than at the counter

# When people file: Monday queues, quiet Fridays (a make-up Saturday is quieter still),
# the year-end and pre-Tết rush, the month of Tết itself.
WEEKDAY = (1.15, 1.05, 1.0, 0.98, 0.88, 0.6, 0.6)
SEASON = {1: 1.15, 2: 0.85, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.0,
          7: 0.95, 8: 0.95, 9: 0.95, 10: 1.0, 11: 1.0, 12: 1.1}
# Online filing by hour of day (relative), and the weight of a day the offices are closed.
ONLINE_HOUR = (0.04, 0.02, 0.02, 0.02, 0.03, 0.08, 0.25, 0.6, 0.9, 1.0, 1.0, 0.9,
               0.6, 0.7, 0.9, 1.0, 0.9, 0.7, 0.5, 0.55, 0.6, 0.5, 0.3, 0.12)
ONLINE_DAY_OFF = 0.45

# Personal data some source systems put in the feed (the pipeline must drop it).
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô")
MIDDLE_NAMES = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hoàng", "Quốc", "Thu", "Kim")
GIVEN_NAMES = ("An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long",
               "Mai", "Nam", "Ngân", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến")
PERSONAL_SHARE = 0.12  # received events that carry the applicant's name and phone


def load_units() -> dict[str, Unit]:
    """The shipped units, keyed by code, in file order."""
    text = (files("stream_app") / "data" / "units.csv").read_text("utf-8")
    units = {row["unit_code"]: Unit(row["unit_code"], row["name"], row["kind"], row["district"])
             for row in csv.DictReader(io.StringIO(text))}
    missing = [code for code in HABITS if code not in units]
    missing += [code for code in TAX_HABITS if code not in units]
    if missing:
        raise ValueError(f"units.csv lacks units the generator plays: {missing}")
    return units
