"""Feeds for replays: what gets sent, not how. Reading JSON Lines files (`source`), a
file, a Parquet export or the store as a selection of records from a position
(`feed`), the pace of a replay (`pace`), its checkpoint (`resume`), the stored events
back in the input format (`export`), and the synthetic province (`generate`, the units'
habits in `province`, the generator's ground truth in `truth`). May import: `store`
(reading the events table), `schemas`, `domain`.
"""
