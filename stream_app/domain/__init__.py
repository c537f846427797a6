"""The pure domain core of dossier-stream: the working-time calendar, the procedure
catalog, the dossier state machine, the SLA rules and the alert decisions, as plain
functions and dataclasses. Nothing here imports Faust, Kafka or ClickHouse or reads
the wall clock: feed it events and a clock, read its decisions.
"""
