"""Deployment: the serve-only install answers from a built index without torch, and deploy/ is valid Kubernetes.

The fresh-venv test runs the Dockerfile's runtime stage step by step (no container runtime exists on these
machines): install the project without extras, copy a built index/, serve with --serve-only, ask over HTTP.
Select these with `pytest -m deploy`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
K8S_VERSION = "1.33.0"  # the schemas kubernetes-validate ships for a recent Kubernetes release

pytestmark = pytest.mark.deploy


def _manifests() -> list[dict]:
    files = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    docs: list[dict] = []
    for name in files:
        docs += [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    return docs


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    import kubernetes_validate

    docs = _manifests()
    assert {d["kind"] for d in docs} >= {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap",
    }  # fmt: skip
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any schema error or unknown field


def test_the_deployment_probes_health_and_reads_its_settings_from_the_config_map() -> None:
    docs = {d["kind"]: d for d in _manifests()}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    config = docs["ConfigMap"]["data"]
    assert config["ROADMAP_QA_SERVE_ONLY"] == "true" and config["ROADMAP_QA_HOST"] == "0.0.0.0"
    assert all(k.startswith("ROADMAP_QA_") for k in config)
    from dataclasses import fields

    from qa.settings import Settings

    assert set(config) <= {f"ROADMAP_QA_{f.name.upper()}" for f in fields(Settings)}, "every key is a real setting"
    assert Settings.from_env(env=config).chat is False  # the replicas serve the widget, API and MCP (README)
    assert container["envFrom"] == [{"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}}]
    labels = docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert docs["Service"]["spec"]["selector"] == labels
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]


@pytest.fixture(scope="module")
def serve_only_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed without extras, from this checkout (pip's cache makes it ~1 min).

    The first test asks for the session's built index before this, so both come from the same kb and training
    questions."""
    venv = tmp_path_factory.mktemp("serve-venv")
    # Installed from a copy without setuptools' build/ folder, which keeps files deleted from the checkout.
    source = tmp_path_factory.mktemp("serve-src") / "roadmap-qa"
    skip = shutil.ignore_patterns("build", "*.egg-info", ".venv", ".git", "index", "artifacts", "__pycache__")
    shutil.copytree(REPO, source, ignore=skip)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return venv


def test_the_serve_only_install_answers_from_a_copied_index(bot, index_dir: Path, serve_only_venv: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    shutil.copytree(index_dir, index, ignore=shutil.ignore_patterns("*.tmp"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADMAP_QA_")}
    env.update(ROADMAP_QA_INDEX_DIR=str(index), ROADMAP_QA_PORT=str(port), ROADMAP_QA_WORKERS="1")
    cmd = [str(serve_only_venv / "bin" / "roadmap-qa"), "serve", "--serve-only"]
    # cwd is a temp folder, so the venv's installed copy is served, never this checkout's.
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "the server exited"
            try:
                if httpx.get(url + "/api/health", timeout=2).json()["ready"]:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the serve-only server was not ready within 120 s"
            time.sleep(0.3)
        ans = httpx.get(url + "/api/ask", params={"q": "What is a CNN?"}, timeout=30).json()
        assert ans["confident"] and ans["topic"]["id"] == "cnn"
        assert httpx.get(url + "/api/health", timeout=5).json()["index"] == "loaded"  # never built here
        pid = proc.pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libtorch" not in maps and "sklearn" not in maps
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_serve_only_install_has_neither_torch_nor_sentence_transformers(serve_only_venv: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('torch', 'sentence_transformers', 'sklearn') if u.find_spec(m)])"
    out = subprocess.run([str(serve_only_venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_only_refuses_a_missing_index_naming_the_command(serve_only_venv: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADMAP_QA_")}
    env.update(ROADMAP_QA_INDEX_DIR=str(tmp_path / "none"), ROADMAP_QA_PORT=str(free_port()))
    cmd = [str(serve_only_venv / "bin" / "roadmap-qa"), "serve", "--serve-only"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "roadmap-qa build-index" in done.stderr and "Traceback" not in done.stderr
