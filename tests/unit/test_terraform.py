"""terraform/, parsed with python-hcl2 and held against the service: every environment
variable the service reads is set for its roles, every declared variable is used, every role
has probes, limits and a non-root security context; `terraform fmt` finds nothing to change."""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from api.cli import parser

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
PACKAGES = ["api", "domain", "infra", "localization_ext", "projections", "tenants"]
ROLES = {"api", "relay", "projections", "processes", "scans"}
# Read by the service, but not for a deployment to set, and why.
NOT_FOR_DEPLOYMENT = {
    "XDG_DATA_HOME": "only the default of COMMONSHELF_DATA_DIR, which the deployment sets",
}
# Settings the deployment provides ahead of the code that reads them (other work in flight).
AHEAD_OF_CODE = {"COMMONSHELF_KEK_FILE"}
_ENV_READERS = ("environ.get", "getenv", "_from_env")
_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False,
                                strip_string_quotes=True)


@cache
def _parsed() -> dict[str, dict[str, Any]]:
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files, f"no .tf files under {TERRAFORM}"
    return {f.name: hcl2.loads(f.read_text(), serialization_options=_OPTIONS) for f in files}


def _blocks(kind: str) -> list[Any]:
    return [block for module in _parsed().values() for block in module.get(kind, [])]


def _resource(kind: str, name: str) -> dict[str, Any]:
    found = [r[kind][name] for r in _blocks("resource") if kind in r and name in r[kind]]
    assert len(found) == 1, f"expected one {kind}.{name}, found {len(found)}"
    return found[0]


@cache
def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _blocks("locals"):
        merged.update(block)
    return merged


def _variables() -> dict[str, dict[str, Any]]:
    return {name: body for block in _blocks("variable") for name, body in block.items()}


def _resolve(text: str) -> str:
    """A string with its `${local.NAME}` references to plain-string locals filled in."""

    def value(match: re.Match[str]) -> str:
        found = _locals().get(match.group(1))
        return _resolve(found) if isinstance(found, str) else match.group(0)

    return re.sub(r"\$\{local\.(\w+)\}", value, text)


def _deployment() -> dict[str, Any]:
    deployment = _resource("kubernetes_deployment_v1", "role")
    assert deployment["for_each"] == "${local.roles}"  # one Deployment per enabled role
    return deployment


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = deployment["spec"][0]["template"][0]["spec"][0]
    return pod


def _container() -> dict[str, Any]:
    [container] = _pod(_deployment())["container"]
    return dict(container)


def _constants(tree: ast.Module) -> dict[str, str]:
    """A module's top-level `NAME = "text"` assignments."""
    out: dict[str, str] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _env_name(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _reads_in(tree: ast.Module) -> set[str]:
    constants = _constants(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            if ast.unparse(node.func).endswith(_ENV_READERS):
                names.add(_env_name(node.args[0], constants) or "")
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            names.add(_env_name(node.slice, constants) or "")
    return names - {""}


@cache
def service_env_reads() -> frozenset[str]:
    """Every environment variable the service's code reads, by name."""
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= _reads_in(ast.parse(path.read_text(), filename=str(path)))
    return frozenset(names)


def deployment_env() -> set[str]:
    """The variables every role's container gets: its own `env` and its ConfigMap's keys."""
    container = _container()
    names = {env["name"] for env in container.get("env", [])}
    for source in container.get("env_from", []):
        for ref in source.get("config_map_ref", []):
            kind, name = re.fullmatch(r"\$\{(\w+)\.(\w+)\.metadata\[0\]\.name\}",
                                      ref["name"]).groups()  # type: ignore[union-attr]
            names |= set(_resource(kind, name)["data"])
    return names


def test_the_scan_finds_what_settings_reads() -> None:
    assert {"DATABASE_URL", "NATS_URL", "COMMONSHELF_SIGNING_KEY_FILE",
            "COMMONSHELF_NATS_REPLICAS", "COMMONSHELF_DB_POOL_SIZE"} <= service_env_reads()


def test_every_variable_the_service_reads_is_set_for_every_role() -> None:
    wanted = service_env_reads() - set(NOT_FOR_DEPLOYMENT)
    missing = sorted(wanted - deployment_env())
    assert not missing, f"the deployment does not set {missing} (terraform/main.tf, roles.tf)"


def test_settings_ahead_of_code_are_set_too() -> None:
    assert deployment_env() >= AHEAD_OF_CODE


def test_database_url_comes_from_a_secret() -> None:
    [database] = [e for e in _container()["env"] if e["name"] == "DATABASE_URL"]
    assert "value" not in database
    assert database["value_from"][0]["secret_key_ref"]


def test_key_files_are_mounted_from_the_keys_secret() -> None:
    settings = _resource("kubernetes_config_map_v1", "settings")["data"]
    keys = _resource("kubernetes_secret_v1", "keys")
    mounts = {_resolve(m["mount_path"]): m for m in _container()["volume_mount"]}
    volumes = {v["name"]: v for v in _pod(_deployment())["volume"]}
    for variable in ("COMMONSHELF_SIGNING_KEY_FILE", "COMMONSHELF_KEK_FILE"):
        path = Path(_resolve(settings[variable]))
        mount = mounts[str(path.parent)]
        assert mount["read_only"] is True
        secret = volumes[mount["name"]]["secret"][0]
        assert secret["secret_name"] == "${kubernetes_secret_v1.keys.metadata[0].name}"
        assert path.name in keys["data"], f"{variable}: no {path.name} in the keys Secret"


def test_every_declared_variable_is_used() -> None:
    used_text = json.dumps([{k: v for k, v in module.items() if k != "variable"}
                            for module in _parsed().values()])
    unused = sorted(name for name in _variables()
                    if not re.search(rf"\bvar\.{name}\b", used_text))
    assert not unused, f"declared but never used: {unused}"


def test_every_used_variable_is_declared() -> None:
    text = "\n".join(f.read_text() for f in TERRAFORM.glob("*.tf"))
    undeclared = sorted(set(re.findall(r"\bvar\.(\w+)", text)) - set(_variables()))
    assert not undeclared, f"used but not declared: {undeclared}"


def test_every_role_has_a_liveness_probe_and_the_api_a_readiness_probe() -> None:
    probes = _locals()["probes"]
    assert set(probes) == ROLES
    assert all(probes[role]["liveness"] for role in ROLES)
    assert probes["api"] == {"liveness": "/healthz", "readiness": "/readyz"}
    container = _container()
    [liveness] = container["liveness_probe"]
    assert liveness["http_get"][0]["path"] == "${local.probes[each.key].liveness}"
    [readiness] = container["dynamic"][[next(iter(d)) for d in container["dynamic"]].index(
        "readiness_probe")]["readiness_probe"]["content"]
    assert readiness["http_get"][0]["path"] == "${readiness_probe.value}"


def test_every_role_has_requests_and_limits() -> None:
    resources = _variables()["resources"]["default"]
    assert set(resources) == ROLES
    for role, spec in resources.items():
        assert all(spec[k] for k in ("cpu_request", "memory_request", "cpu_limit",
                                     "memory_limit")), role
    [declared] = _container()["resources"]
    assert set(declared["limits"]) == {"cpu", "memory"}
    assert set(declared["requests"]) == {"cpu", "memory"}


def test_every_role_runs_non_root_without_privileges() -> None:
    pod = _pod(_deployment())
    [pod_context] = pod["security_context"]
    assert pod_context["run_as_non_root"] is True
    assert pod_context["run_as_user"] != 0
    [context] = _container()["security_context"]
    assert context["allow_privilege_escalation"] is False
    assert context["read_only_root_filesystem"] is True
    assert context["capabilities"][0]["drop"] == ["ALL"]
    assert pod["automount_service_account_token"] is False


def test_roles_deployed_by_default_are_roles_the_service_has() -> None:
    serve = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    role = next(a for a in serve.choices["serve"]._actions if a.dest == "role")
    assert set(_variables()["enabled_roles"]["default"]) <= set(role.choices or [])


def test_the_api_is_the_only_role_reachable_from_outside() -> None:
    deny = _resource("kubernetes_network_policy_v1", "default_deny")["spec"][0]
    assert deny["policy_types"] == ["Ingress"]
    assert deny["pod_selector"] == [{}]
    assert "ingress" not in deny
    admitted = _resource("kubernetes_network_policy_v1", "api_from_ingress")["spec"][0]
    assert "api" in admitted["pod_selector"][0]["match_labels"]
    service = _resource("kubernetes_service_v1", "api")["spec"][0]
    assert service["type"] == "ClusterIP"
    ingress = _resource("kubernetes_ingress_v1", "api")["spec"][0]
    assert ingress["tls"][0]["secret_name"] == "${var.tls_secret_name}"


def test_nats_is_clustered_with_persistent_jetstream() -> None:
    nats = _resource("helm_release", "nats")
    assert nats["chart"] == "nats"
    assert "nats-io" in nats["repository"]
    values = nats["values"][0]
    assert "enabled = true, replicas = var.nats_cluster_size" in values.replace("\n", " ")
    assert "pvc" in values
    assert "var.nats_storage_size" in values
    assert _variables()["nats_cluster_size"]["default"] == 3
    assert _variables()["stream_replicas"]["default"] == 3


def test_postgres_clusters_have_three_instances_and_backups() -> None:
    servers = _variables()["database_servers"]["default"]
    assert servers["default"]["instances"] == 3
    values = _resource("helm_release", "postgres")["values"][0]
    assert "instances = each.value.instances" in values
    assert "var.backup_destination_path" in values


def test_terraform_fmt_finds_nothing_to_change() -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not installed here")
    done = subprocess.run([binary, "fmt", "-check", "-recursive", str(TERRAFORM)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"terraform fmt would change: {done.stdout}"


def test_the_image_builds_the_kernel_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    build, runtime = dockerfile.split("AS runtime")
    assert "pip install ." in build
    assert "engines()[0] == 'cython'" in build
    users = re.findall(r"^USER (\S+)", runtime, flags=re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert "gcc" not in runtime
