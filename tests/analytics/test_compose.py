"""docker-compose.yml and the worker's Dockerfile: the production stack as a file.

No Docker engine runs here (PLATFORM.md); `docker-compose config` validates and
normalises the file, which is what these tests check when the binary exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def config() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    done = subprocess.run([binary, "-f", str(COMPOSE), "config"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compose_file_is_valid_and_has_the_four_services(config: str) -> None:
    services = config.split("\nvolumes:")[0]
    for name in ("kafka:", "clickhouse:", "worker:", "grafana:"):
        assert f"\n  {name}\n" in services


def test_kafka_runs_in_kraft_mode(config: str) -> None:
    assert "image: apache/kafka:" in config
    assert "KAFKA_PROCESS_ROLES: broker,controller" in config
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093" in config
    assert "zookeeper" not in config.lower()


def test_worker_talks_to_kafka_and_the_clickhouse_server(config: str) -> None:
    assert "DOSSIER_BROKER: kafka:9092" in config
    assert "DOSSIER_CLICKHOUSE: http://default:change-me@clickhouse:8123/dossier" in config
    assert "dockerfile: Dockerfile" in config


def test_grafana_gets_the_plugin_and_the_provisioning(config: str) -> None:
    assert "GF_INSTALL_PLUGINS: grafana-clickhouse-datasource" in config
    assert f"{ROOT}/grafana/provisioning:/etc/grafana/provisioning:ro" in config
    assert f"{ROOT}/grafana/dashboards:/var/lib/grafana/dashboards:ro" in config


def test_dockerfile_builds_the_worker_image() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("\nFROM python:3.11-slim\n") == 1
    assert "RUN pip install ." in text
    assert 'ENTRYPOINT ["dossier-stream"]' in text and 'CMD ["worker"]' in text
    for package in ("stream_app",):
        assert f"COPY {package} ./{package}" in text
