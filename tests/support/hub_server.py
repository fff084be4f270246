"""A local stand-in for the Hugging Face Hub, just enough for the real huggingface_hub client to push a model and
to download model and dataset repos.

Pushing: it serves `whoami-v2`, `repos/create`, `validate-yaml` (the client sends a README's metadata there before
uploading it), `preupload` and `commit` (ndjson, base64 content) for model repos, keeps what was committed in memory
for tests to inspect, and answers 401 like the Hub when the bearer token is not the one it was started with. Every
file is declared "regular" at preupload, so nothing goes through LFS or Xet.

Downloading (`snapshot_download`, `hf_hub_download`, `from_pretrained`): `serve(repo_id, folder, repo_type,
revision)` publishes a folder's files as one commit at a branch or tag; pushed model repos are served at "main"
too. It answers what huggingface_hub 2.x asks: `GET /api/{models|datasets}/<repo>[/revision/<rev>]` (sha and
siblings), `GET /api/{models|datasets}/<repo>/tree/<rev>[/<path>]` (the file listing, recursive or not), and
`HEAD|GET /[datasets/]<repo>/resolve/<rev>/<path>` with X-Repo-Commit, ETag (the git blob id), Content-Length and
byte ranges. Unknown repos, revisions and files get the Hub's 404s (X-Error-Code RepoNotFound, RevisionNotFound,
EntryNotFound), so the client raises its usual errors. Served repos are public unless `private=True` (then only the
token reads them, and others get the Hub's 401).

    with LocalHub(token="hf_test") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        ...
        hub.repos["tester/policy"].files["config.json"]
        sha = hub.serve("lerobot/pusht", dataset_folder, repo_type="dataset", revision="v3.0")
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import yaml

_WHOAMI = re.compile(r"^/api/whoami-v2$")
_CREATE = re.compile(r"^/api/repos/create$")
_VALIDATE_YAML = re.compile(r"^/api/validate-yaml$")
_PREUPLOAD = re.compile(r"^/api/models/(?P<repo_id>[^/]+/[^/]+)/preupload/(?P<revision>[^/]+)$")
_COMMIT = re.compile(r"^/api/models/(?P<repo_id>[^/]+/[^/]+)/commit/(?P<revision>[^/]+)$")
_INFO = re.compile(r"^/api/(?P<kind>models|datasets)/(?P<repo_id>[^/]+/[^/]+)(?:/revision/(?P<revision>[^/]+))?$")
_TREE = re.compile(
    r"^/api/(?P<kind>models|datasets)/(?P<repo_id>[^/]+/[^/]+)/tree/(?P<revision>[^/]+)"
    r"(?:/(?P<path>.+))?$"
)
_RESOLVE = re.compile(r"^/(?:(?P<kind>datasets)/)?(?P<repo_id>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<path>.+)$")
REPO_TYPES = {"models": "model", "datasets": "dataset"}


@dataclass
class HubRepo:
    """One model repo as the local Hub holds it."""

    private: bool
    files: dict[str, bytes] = field(default_factory=dict)  # path in repo -> content, as of the last commit
    commits: list[str] = field(default_factory=list)  # commit summaries, oldest first


@dataclass
class ServedRepo:
    """A repo the local Hub serves for download: commits (sha -> files) and the refs (branches, tags) naming them."""

    private: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit sha -> path in repo -> content
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit sha


@dataclass
class Reply:
    """One HTTP answer: a JSON document or raw bytes, with extra headers."""

    status: int
    body: Any  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


def git_blob_id(content: bytes) -> str:
    """The id git (and the Hub's ETag of a regular file) gives this content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class LocalHub:
    """The local Hub: bound to 127.0.0.1 on a free port, served from a thread while the context is open."""

    def __init__(self, token: str, user: str = "tester", orgs: tuple[str, ...] = ("robot-lab",), role: str = "write"):
        self.token = token
        self.user = user
        self.orgs = orgs
        self.role = role  # the token's role reported by whoami: "write", "read" or "fineGrained"
        self.repos: dict[str, HubRepo] = {}  # repo_id -> repo
        self.calls: list[str] = []  # "METHOD /path" of every request, in arrival order
        self.served: dict[tuple[str, str], ServedRepo] = {}  # (repo type, repo_id) -> what `serve` published
        self._lock = threading.Lock()
        self._routes = {
            ("GET", _WHOAMI): self._whoami,
            ("POST", _CREATE): self._create_repo,
            ("POST", _VALIDATE_YAML): self._validate_yaml,
            ("POST", _PREUPLOAD): self._preupload,
            ("POST", _COMMIT): self._commit,
        }
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-hub", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def serve(
        self,
        repo_id: str,
        folder: Path | str,
        repo_type: str = "dataset",
        revision: str = "main",
        private: bool = False,
    ) -> str:
        """Serve every file under `folder` as one commit of `repo_id` (a "dataset" or "model" repo) at `revision` (a
        branch or tag name); return the commit's sha, which is a valid revision too. Serving again at another
        revision adds a commit: each revision keeps its own files."""
        if repo_type not in REPO_TYPES.values():
            raise ValueError(f"repo_type must be one of {sorted(REPO_TYPES.values())}, got {repo_type!r}")
        folder = Path(folder)
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        if not files:
            raise ValueError(f"{folder} holds no file to serve")
        listing = json.dumps([repo_type, repo_id, {path: git_blob_id(data) for path, data in files.items()}])
        sha = hashlib.sha1(listing.encode()).hexdigest()
        with self._lock:
            repo = self.served.setdefault((repo_type, repo_id), ServedRepo())
            repo.private = private
            repo.commits[sha] = files
            repo.refs[revision] = sha
        return sha

    def handle(
        self,
        method: str,
        path: str,
        authorization: str | None,
        body: bytes,
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Answer one request."""
        with self._lock:
            self.calls.append(f"{method} {path}")
            for (route_method, pattern), answer in self._routes.items():
                match = pattern.match(path)
                if match and method == route_method:
                    if authorization != f"Bearer {self.token}":
                        return Reply(401, {"error": "Invalid credentials in Authorization header"})
                    return Reply(*answer(body=body, **match.groupdict()))
            if method in ("GET", "HEAD"):
                for pattern, answer in ((_INFO, self._repo_info), (_TREE, self._tree), (_RESOLVE, self._resolve)):
                    match = pattern.match(path)
                    if match:
                        fields = {k: unquote(v) if v is not None else None for k, v in match.groupdict().items()}
                        return answer(
                            authorization=authorization,
                            query=parse_qs(query),
                            headers=headers or {},
                            method=method,
                            **fields,
                        )
            return Reply(404, {"error": f"{method} {path} is not served by the local Hub"})

    def _snapshot(
        self, kind: str | None, repo_id: str, revision: str | None, authorization: str | None
    ) -> tuple[str, dict[str, bytes]] | Reply:
        """(commit sha, files) of a served (or pushed) repo at `revision`, or the Hub's error reply."""
        repo_type = REPO_TYPES.get(kind or "models")
        repo = self.served.get((repo_type, repo_id))
        pushed = self.repos.get(repo_id) if repo_type == "model" else None
        if repo is None and pushed is not None and pushed.commits:  # what was pushed is served at main
            oid = hashlib.sha1(f"{repo_id}:{len(pushed.commits)}".encode()).hexdigest()
            repo = ServedRepo(private=pushed.private, commits={oid: dict(pushed.files)}, refs={"main": oid})
        if repo is None or (repo.private and authorization != f"Bearer {self.token}"):
            return Reply(
                401 if repo is not None else 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            )
        revision = revision or "main"
        sha = repo.refs.get(revision) or (revision if revision in repo.commits else None)
        if sha is None:
            return Reply(404, {"error": f"Invalid rev id: {revision}"}, {"X-Error-Code": "RevisionNotFound"})
        return sha, repo.commits[sha]

    def _repo_info(self, kind: str, repo_id: str, revision: str | None, **_: Any) -> Reply:
        found = self._snapshot(kind, repo_id, revision, _["authorization"])
        if isinstance(found, Reply):
            return found
        sha, files = found
        repo_type = REPO_TYPES[kind]
        return Reply(
            200,
            {
                "_id": sha[:24],
                "id": repo_id,
                "author": repo_id.split("/")[0],
                "sha": sha,
                "private": self.served.get((repo_type, repo_id), ServedRepo()).private,
                "gated": False,
                "disabled": False,
                "lastModified": "2026-01-01T00:00:00.000Z",
                "tags": [],
                "siblings": [{"rfilename": path} for path in sorted(files)],
            },
        )

    def _tree(self, kind: str, repo_id: str, revision: str, path: str | None, query: dict, **_: Any) -> Reply:
        found = self._snapshot(kind, repo_id, revision, _["authorization"])
        if isinstance(found, Reply):
            return found
        _, files = found
        prefix = f"{path.strip('/')}/" if path else ""
        folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
        recursive = query.get("recursive", ["False"])[0].lower() in ("true", "1")
        entries = [
            {"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0, "path": f}
            for f in sorted(folders)
        ]
        entries += [
            {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": p}
            for p, data in sorted(files.items())
        ]
        entries = [
            e for e in entries if e["path"].startswith(prefix) and (recursive or "/" not in e["path"][len(prefix) :])
        ]
        if path and path.strip("/") not in folders:
            return Reply(404, {"error": f"{path} does not exist on {revision}"}, {"X-Error-Code": "EntryNotFound"})
        return Reply(200, entries)

    def _resolve(
        self, kind: str | None, repo_id: str, revision: str, path: str, method: str, headers: dict, **_: Any
    ) -> Reply:
        found = self._snapshot(kind, repo_id, revision, _["authorization"])
        if isinstance(found, Reply):
            return found
        sha, files = found
        if path not in files:
            return Reply(404, {"error": f"{path} does not exist on {revision}"}, {"X-Error-Code": "EntryNotFound"})
        data = files[path]
        out = {
            "X-Repo-Commit": sha,
            "ETag": f'"{git_blob_id(data)}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),
        }
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range") or "")
        if wanted and method == "GET":
            start, end = int(wanted[1]), int(wanted[2]) if wanted[2] else len(data) - 1
            part = data[start : end + 1]
            return Reply(
                206,
                part,
                {
                    **out,
                    "Content-Length": str(len(part)),
                    "Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}",
                },
            )
        return Reply(200, data if method == "GET" else b"", out)

    def _whoami(self, body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {
            "type": "user",
            "name": self.user,
            "fullname": self.user.title(),
            "orgs": [{"type": "org", "name": org} for org in self.orgs],
            "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": self.role}},
        }

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

        def do_HEAD(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path, _, query = self.path.partition("?")
            reply = hub.handle(
                self.command, path, self.headers.get("Authorization"), body, query, dict(self.headers.items())
            )
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), **reply.headers}
            if isinstance(reply.body, dict) and "error" in reply.body:
                headers["X-Error-Message"] = reply.body["error"]
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests read `hub.calls` instead of the server's stderr."""

    return Handler
