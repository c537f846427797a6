"""docker-compose.yml and the worker's Dockerfile: the production stack as a file.

No Docker engine runs here (docs/platform.md); `docker-compose config` validates and
normalises the file, which is what these tests check when the binary exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {"CLICKHOUSE_PASSWORD": "ch-test-pw", "GRAFANA_ADMIN_PASSWORD": "gf-test-pw",
           "DOSSIER_SESSION_SECRET": "a-session-key-of-thirty-two-chars-or-more"}


def compose_config(**env: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    return subprocess.run([binary, "-f", str(COMPOSE), "config"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", **env})


@pytest.fixture(scope="module")
def config() -> str:
    done = compose_config(**SECRETS)
    assert done.returncode == 0, done.stderr
    return done.stdout


def service(config: str, name: str) -> str:
    """The normalised text of one service."""
    body = config.split("\nservices:", 1)[1].split(f"\n  {name}:\n", 1)[1]
    return re.split(r"\n(?=  \S|\S)", body, maxsplit=1)[0]


def test_compose_file_is_valid_and_has_the_five_services(config: str) -> None:
    services = config.split("\nvolumes:")[0]
    for name in ("kafka:", "clickhouse:", "worker:", "grafana:", "proxy:"):
        assert f"\n  {name}\n" in services


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_the_stack_refuses_to_start_without_each_secret(missing: str) -> None:
    done = compose_config(**{k: v for k, v in SECRETS.items() if k != missing})
    assert done.returncode != 0 and f"set {missing}" in done.stderr


def test_no_default_password_is_left_in_the_file() -> None:
    assert "change-me" not in COMPOSE.read_text(encoding="utf-8")


def test_only_the_proxy_publishes_ports_and_grafana_only_on_loopback(config: str) -> None:
    for name in ("kafka", "clickhouse", "worker"):
        assert "ports:" not in service(config, name), name
    assert "- 127.0.0.1:3000:3000/tcp" in service(config, "grafana")
    proxy = service(config, "proxy")
    assert "published: 443" in proxy and "image: caddy:" in proxy
    assert f"{ROOT}/deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy


def test_the_worker_serves_the_page_to_the_proxy_with_secure_cookies(config: str) -> None:
    worker = service(config, "worker")
    assert 'DOSSIER_WEB_SECURE_COOKIES: "true"' in worker
    assert f"DOSSIER_SESSION_SECRET: {SECRETS['DOSSIER_SESSION_SECRET']}" in worker
    assert "DOSSIER_WEB_TRUSTED_PROXIES: 172.30.66.10" in worker and "ipv4_address: 172.30.66.10" in config
    assert "DOSSIER_USERS: /home/dossier/var/users.json" in worker and "worker-var:/home/dossier/var" in worker


def test_the_caddyfile_proxies_the_site_to_the_worker() -> None:
    text = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "{$DOSSIER_SITE:localhost} {" in text and "reverse_proxy worker:6066" in text
    assert "Strict-Transport-Security" in text


def test_kafka_runs_in_kraft_mode(config: str) -> None:
    assert "image: apache/kafka:" in config
    assert "KAFKA_PROCESS_ROLES: broker,controller" in config
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093" in config
    assert "zookeeper" not in config.lower()


def test_worker_talks_to_kafka_and_the_clickhouse_server(config: str) -> None:
    assert "DOSSIER_BROKER: kafka:9092" in config
    assert "DOSSIER_CLICKHOUSE: http://default:ch-test-pw@clickhouse:8123/dossier" in config
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


def test_worker_replicas_share_the_partitions_on_the_server_and_serve_no_page(config: str) -> None:
    workers = service(config, "workers")
    assert "replicas: 2" in workers and "image: dossier-stream:latest" in workers
    assert "DOSSIER_BROKER: kafka:9092" in workers and "@clickhouse:8123/dossier" in workers
    assert 'DOSSIER_WEB_ENABLED: "false"' in workers and "ports:" not in workers
