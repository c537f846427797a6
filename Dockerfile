# The dossier-stream worker image: `docker build -t dossier-stream .`
# Runs `dossier-stream worker` by default; any other subcommand works too
# (`docker run --rm dossier-stream report --month 2023-11`). Configuration comes from
# DOSSIER_* environment variables (docker-compose.yml sets the broker and ClickHouse).
# /home/dossier/var (the user file of the live page) is the worker's own, mode 0700: a
# volume mounted there starts with that owner.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOSSIER_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md ./
COPY stream_app ./stream_app
RUN pip install . \
    && useradd --create-home --uid 10001 dossier \
    && install -d -o dossier -m 0700 /home/dossier/var

USER dossier
WORKDIR /home/dossier
ENTRYPOINT ["dossier-stream"]
CMD ["worker"]
