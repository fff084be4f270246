"""A local stand-in for the Hugging Face Hub, just enough for the real huggingface_hub client to push a model.

It serves `whoami-v2`, `repos/create`, `validate-yaml` (the client sends a README's metadata there before uploading
it), `preupload` and `commit` (ndjson, base64 content) for model repos, keeps what was committed in memory for tests
to inspect, and answers 401 like the Hub when the bearer token is not the one it was started with. Every file is
declared "regular" at preupload, so nothing goes through LFS or Xet.

    with LocalHub(token="hf_test") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        ...
        hub.repos["tester/policy"].files["config.json"]
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

_WHOAMI = re.compile(r"^/api/whoami-v2$")
_CREATE = re.compile(r"^/api/repos/create$")
_VALIDATE_YAML = re.compile(r"^/api/validate-yaml$")
_PREUPLOAD = re.compile(r"^/api/models/(?P<repo_id>[^/]+/[^/]+)/preupload/(?P<revision>[^/]+)$")
_COMMIT = re.compile(r"^/api/models/(?P<repo_id>[^/]+/[^/]+)/commit/(?P<revision>[^/]+)$")


@dataclass
class HubRepo:
    """One model repo as the local Hub holds it."""

    private: bool
    files: dict[str, bytes] = field(default_factory=dict)  # path in repo -> content, as of the last commit
    commits: list[str] = field(default_factory=list)  # commit summaries, oldest first


class LocalHub:
    """The local Hub: bound to 127.0.0.1 on a free port, served from a thread while the context is open."""

    def __init__(self, token: str, user: str = "tester", orgs: tuple[str, ...] = ("robot-lab",),
                 role: str = "write"):
        self.token = token
        self.user = user
        self.orgs = orgs
        self.role = role  # the token's role reported by whoami: "write", "read" or "fineGrained"
        self.repos: dict[str, HubRepo] = {}  # repo_id -> repo
        self.calls: list[str] = []  # "METHOD /path" of every request, in arrival order
        self._lock = threading.Lock()
        self._routes = {("GET", _WHOAMI): self._whoami, ("POST", _CREATE): self._create_repo,
                        ("POST", _VALIDATE_YAML): self._validate_yaml, ("POST", _PREUPLOAD): self._preupload,
                        ("POST", _COMMIT): self._commit}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-hub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "LocalHub":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def handle(self, method: str, path: str, authorization: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON reply)."""
        with self._lock:
            self.calls.append(f"{method} {path}")
            for (route_method, pattern), answer in self._routes.items():
                match = pattern.match(path)
                if match and method == route_method:
                    if authorization != f"Bearer {self.token}":
                        return 401, {"error": "Invalid credentials in Authorization header"}
                    return answer(body=body, **match.groupdict())
            return 404, {"error": f"{method} {path} is not served by the local Hub"}

    def _whoami(self, body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"type": "user", "name": self.user, "fullname": self.user.title(),
                     "orgs": [{"type": "org", "name": org} for org in self.orgs],
                     "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": self.role}}}

    def _create_repo(self, body: bytes) -> tuple[int, dict[str, Any]]:
        payload = json.loads(body)
        if payload.get("type", "model") != "model":
            return 400, {"error": "the local Hub holds model repos only"}
        namespace = payload.get("organization") or self.user
        repo_id = f"{namespace}/{payload['name']}"
        url = f"{self.url}/{repo_id}"
        if namespace not in (self.user, *self.orgs) or self.role == "read":
            return 403, {"error": f"You don't have the rights to create a model under the namespace {namespace}"}
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": url}
        self.repos[repo_id] = HubRepo(private=payload.get("visibility") == "private")
        return 200, {"url": url, "name": repo_id, "id": repo_id}

    def _validate_yaml(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Parse the README's front matter and check the model-index fields the Hub requires."""
        content = json.loads(body)["content"]
        try:
            meta = yaml.safe_load(content.split("---\n", 2)[1]) if content.startswith("---\n") else None
        except yaml.YAMLError as err:
            return 400, {"errors": [{"message": f"invalid YAML: {err}"}]}
        errors = [{"message": message} for message in _model_index_errors((meta or {}).get("model-index", []))]
        return (400 if errors else 200), {"errors": errors, "warnings": []}

    def _preupload(self, body: bytes, repo_id: str, revision: str) -> tuple[int, dict[str, Any]]:
        if repo_id not in self.repos:
            return 404, {"error": "Repository not found"}
        files = json.loads(body)["files"]
        return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}

    def _commit(self, body: bytes, repo_id: str, revision: str) -> tuple[int, dict[str, Any]]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return 404, {"error": "Repository not found"}
        summary, files = "", {}
        for line in body.splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                summary = item["value"]["summary"]
            elif item["key"] == "file" and item["value"]["encoding"] == "base64":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            else:
                return 400, {"error": f"the local Hub does not accept {item['key']!r} operations"}
        repo.files.update(files)
        repo.commits.append(summary)
        oid = hashlib.sha1(f"{repo_id}:{len(repo.commits)}".encode()).hexdigest()
        return 200, {"commitUrl": f"{self.url}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}


def _model_index_errors(model_index: list[dict[str, Any]]) -> list[str]:
    """What the Hub would reject in a model-index: missing names, task types, dataset ids or metric values."""
    errors = []
    for model in model_index:
        if not model.get("name"):
            errors.append("model-index[].name is required")
        for result in model.get("results", []):
            if not result.get("task", {}).get("type"):
                errors.append("model-index[].results[].task.type is required")
            if not {"name", "type"} <= set(result.get("dataset", {})):
                errors.append("model-index[].results[].dataset needs name and type")
            for metric in result.get("metrics", []):
                if not {"type", "value"} <= set(metric):
                    errors.append("model-index[].results[].metrics[] needs type and value")
    return errors


def _handler_for(hub: LocalHub) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `hub`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path.split("?", 1)[0]
            status, reply = hub.handle(self.command, path, self.headers.get("Authorization"), body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if "error" in reply:
                self.send_header("X-Error-Message", reply["error"])
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests read `hub.calls` instead of the server's stderr."""

    return Handler
