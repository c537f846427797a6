"""The pure domain core: the working-time calendar, the procedure catalog, the dossier
state machine, the SLA rules and the alert decisions, every code the tables hold
(`codes`), the causes of lateness and the dossier's snapshot for its state row, as plain
functions and dataclasses. Nothing here imports Faust, Kafka or ClickHouse or reads the
wall clock: feed it events and a clock, read its decisions. May import: nothing of the
product outside `domain/`.
"""
