"""A config naming every provider of Plano's table: each well-known endpoint gets its own
verified TLS cluster with the right SNI, and the real Envoy accepts the whole config."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from plano_extproc.cli.main import main
from plano_extproc.config import Config, load_config
from plano_extproc.envoy.render import build_bootstrap, render_envoy_yaml
from plano_extproc.providers.registry import FAMILIES
from tests.envoy.support import ENVOY, validate
from tests.envoy.test_render import clusters, endpoints, tls_context

EVERY_PROVIDER = Path(__file__).resolve().parents[1] / "config" / "fixtures" / "every_provider.yaml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(EVERY_PROVIDER, {}, require_keys=False)


def test_every_well_known_endpoint_is_reached_over_tls_with_its_sni(config: Config) -> None:
    by_host = {
        endpoints(cluster)[0][0]: cluster
        for cluster in clusters(build_bootstrap(config)).values()
        if cluster.name.startswith("upstream_")
    }
    hosts = {urlsplit(f.endpoint).hostname for f in FAMILIES.values() if f.endpoint}
    assert len(hosts) == 16
    for host in hosts:
        cluster = by_host[host]
        assert endpoints(cluster) == [(host, 443)]
        assert tls_context(cluster).sni == host


def test_check_config_accepts_every_provider(capsys: pytest.CaptureFixture[str]) -> None:
    variables = set(re.findall(r"\$([A-Z_]+)", EVERY_PROVIDER.read_text()))
    env = {name: "k" for name in variables}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert main(["check-config", str(EVERY_PROVIDER)]) == 0
    assert "ok (" in capsys.readouterr().out


@pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")
def test_envoy_accepts_the_config_of_every_provider(config: Config, tmp_path: Path) -> None:
    config_file = tmp_path / "envoy.yaml"
    config_file.write_text(render_envoy_yaml(config))
    result = validate(config_file)
    assert result.returncode == 0, result.stdout + result.stderr
