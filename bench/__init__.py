"""The benchmark harness (`make bench`, `python -m bench.run`).

One command measures, in one run on one embedded broker, the end-to-end `run`
against two baselines on the same data (a bare aiokafka consumer, the ceiling;
a naive Faust agent with a Table entry per event, the peer), the live worker's
latencies, and the memory, restore and report figures; `bench.run` writes the
results as JSON and as the table in docs/performance.md. Each measurement is a
plain function returning a dict, run in a fresh process (`bench.proc`) so that
its peak RSS is its own.
"""
