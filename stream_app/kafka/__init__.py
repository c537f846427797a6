"""Kafka and Faust: the embedded broker (`broker`), topics and liveness (`admin`),
security options (`security`), the Faust app (`app`), the agent that feeds the
pipeline (`agent`) through a transport that delivers a chunk per partition fetch
(`transport`, `monitor`), the one producer recipe and Kafka's partitioner
(`producer`), and the pipeline's publisher of alerts and dead letters (`publisher`).
May import: `core`, `schemas`, `domain`, the utilities.
"""
