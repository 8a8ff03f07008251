"""The Helm chart's client authentication: the `auth` value as the config's section, a JWKS
given as `authJwks` where Envoy and the ext_proc read it, and the notes' warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from plano_extproc.auth.keys import KeyTable, hash_key
from plano_extproc.config import Config, config_schema, load_config_text
from tests.deploy.helm import CHART, KEYS, Rendered, container, helm, rendered_notes, values

JWKS_FILE = "/etc/plano/jwks.json"
JWKS = {"keys": [{"kty": "oct", "kid": "test", "k": "c2VjcmV0"}]}
JWT = {"issuer": "https://idp.example.com", "audiences": ["plano"]}
# Every container that reads the JWKS: the generator (it loads the config), Envoy (jwt_authn
# reads jwks_file) and the ext_proc (it loads the config).
JWKS_READERS = (("envoy", "envoy-config"), ("envoy", "envoy"), ("extproc", "extproc"))
AUTH_VALUES = CHART / "ci" / "auth-values.yaml"


def loaded(rendered: Rendered, *, jwks: Path | None = None) -> Config:
    text = rendered.plano_config()
    if jwks is not None:
        text = text.replace(JWKS_FILE, str(jwks))
    return load_config_text(text, {**KEYS, "PLANO_REDIS_URL": "redis://x"})


def with_jwks(directory: Path, jwks: dict[str, Any] = JWKS) -> Rendered:
    """Rendered with auth.jwt and `jwks` given as a file, as users give it."""
    directory.mkdir(parents=True, exist_ok=True)
    document = directory / "jwks.json"
    document.write_text(json.dumps(jwks))
    auth = json.dumps({"jwt": JWT})
    return Rendered.of("--set-json", f"auth={auth}", "--set-file", f"authJwks={document}")


def file_in(rendered: Rendered, component: str, name: str, path: str) -> str | None:
    """The text a container finds at `path`, from the ConfigMap mounted over it; None: none."""
    pod = rendered.one("Deployment", component)["spec"]["template"]["spec"]
    mounts = [
        mount
        for mount in container(pod, name).get("volumeMounts", [])
        if path.startswith(mount["mountPath"].rstrip("/") + "/")
    ]
    if not mounts:
        return None
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    if "configMap" not in volume:
        return None
    configmap = next(
        c for c in rendered.all("ConfigMap") if c["metadata"]["name"] == volume["configMap"]["name"]
    )
    return configmap["data"].get(path.removeprefix(mount["mountPath"].rstrip("/") + "/"))


def test_the_auth_value_becomes_the_configs_auth_section() -> None:
    config = loaded(Rendered.of(*values(AUTH_VALUES)))
    assert config.auth is not None
    assert [entry.name for entry in config.auth.api_keys] == ["team-a", "batch"]
    assert config.auth.max_failures_per_minute == 20
    known = KeyTable(config.auth.api_keys).lookup("pk-ci-a")
    assert known is not None
    assert known.entry.team == "platform"
    assert known.entry.expires is not None
    assert known.entry.expires.isoformat() == "2099-12-31"


def test_by_default_there_is_no_auth_and_no_jwks() -> None:
    rendered = Rendered.of()
    assert loaded(rendered).auth is None
    assert set(rendered.one("ConfigMap", "config")["data"]) == {"config.yaml"}
    assert file_in(rendered, "envoy", "envoy", "/etc/plano/config.yaml") is None


def test_the_configs_own_auth_is_kept_unless_the_value_replaces_it() -> None:
    own = {"api_keys": [{"name": "own", "key_sha256": hash_key("pk-own")}]}
    config = yaml.safe_load((CHART / "files" / "config.yaml").read_text())
    given = ("--set-json", f"config={json.dumps({**config, 'auth': own})}")
    kept = loaded(Rendered.of(*given)).auth
    assert kept is not None
    assert [entry.name for entry in kept.api_keys] == ["own"]
    replaced = loaded(Rendered.of(*given, *values(AUTH_VALUES))).auth
    assert replaced is not None
    assert [entry.name for entry in replaced.api_keys] == ["team-a", "batch"]


def test_a_jwks_is_mounted_where_envoy_and_the_ext_proc_read_it(tmp_path: Path) -> None:
    rendered = with_jwks(tmp_path)
    assert yaml.safe_load(rendered.plano_config())["auth"]["jwt"]["jwks_file"] == JWKS_FILE
    for component, name in JWKS_READERS:
        text = file_in(rendered, component, name, JWKS_FILE)
        assert text is not None, f"{component}/{name} has no {JWKS_FILE}"
        assert json.loads(text) == JWKS
    config = loaded(rendered, jwks=tmp_path / "jwks.json")
    assert config.auth is not None
    assert config.auth.jwt is not None
    assert (config.auth.jwt.issuer, config.auth.jwt.audiences) == (JWT["issuer"], ("plano",))


def test_a_jwks_render_is_valid_kubernetes_and_rolls_envoy_when_the_keys_change(
    tmp_path: Path,
) -> None:
    rendered = with_jwks(tmp_path)
    for document in rendered.documents:
        if document["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(document, "1.30.0", strict=True)
    next_key = {"kty": "oct", "kid": "next", "k": "bmV4dA"}
    rotated = with_jwks(tmp_path / "rotated", {"keys": [*JWKS["keys"], next_key]})

    def checksum(of: Rendered) -> str:
        template = of.one("Deployment", "envoy")["spec"]["template"]
        return template["metadata"]["annotations"]["checksum/config"]

    assert checksum(rotated) != checksum(rendered)


def test_the_values_schema_types_auth_as_the_config_format_does() -> None:
    chart = json.loads((CHART / "values.schema.json").read_text())
    assert chart["properties"]["auth"]["$ref"] == "#/$defs/client_auth"
    assert chart["properties"]["authJwks"]["type"] == "string"
    own = config_schema()["$defs"]
    assert chart["$defs"] == {name: own[name] for name in chart["$defs"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--set", "auth.api_keys=3"), "auth.api_keys: Invalid type"),
        (("--set-json", 'auth={"apikeys": []}'), "apikeys"),
        (
            ("--set-json", 'auth={"api_keys": [{"name": "a", "key_sha256": "pk-the-key"}]}'),
            "key_sha256: Does not match pattern",
        ),
        (
            (
                "--set-json",
                f'auth={{"api_keys": [{{"name": "a", "key_sha256": "{"0" * 64}", '
                '"expires": "30/06/2027"}]}',
            ),
            "expires: Does not match format 'date'",
        ),
        (("--set-json", 'authJwks={"keys": []}'), "authJwks: Invalid type"),
        (("--set", "authJwks=x"), "authJwks: set auth.jwt too"),
        (
            ("--set-json", f"auth={json.dumps({'jwt': JWT})}", "--set", "authJwks=[1]"),
            "authJwks: not a JSON Web Key Set",
        ),
        (
            (
                "--set-json",
                f"auth={json.dumps({'jwt': {**JWT, 'jwks_uri': 'https://idp/jwks'}})}",
                "--set-json",
                f"authJwks={json.dumps(json.dumps(JWKS))}",
            ),
            "authJwks and auth.jwt.jwks_uri",
        ),
        (
            ("--set-json", f"auth={json.dumps({'jwt': {**JWT, 'jwks_file': '/keys/jwks.json'}})}"),
            "auth.jwt.jwks_file: no pod has that file",
        ),
    ],
)
def test_bad_auth_values_fail_the_render_with_a_reason(
    options: tuple[str, ...], message: str
) -> None:
    result = helm("template", "gw", str(CHART), *options)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("service", ["LoadBalancer", "NodePort"])
def test_notes_warn_when_envoy_is_exposed_without_auth(tmp_path: Path, service: str) -> None:
    notes = rendered_notes(tmp_path, "--set", f"envoy.service.type={service}")
    assert f"WARNING: the Envoy Service is a {service} and no auth is set" in notes
    assert "plano-extproc keys --name team-a" in notes


def test_notes_do_not_warn_on_a_cluster_ip_or_with_auth(tmp_path: Path) -> None:
    assert "no auth is set" not in rendered_notes(tmp_path / "default")
    with_auth = rendered_notes(tmp_path / "auth", *values(AUTH_VALUES))
    assert "no auth is set" not in with_auth
    assert 'add -H "Authorization: Bearer <key>"' in with_auth
