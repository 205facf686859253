"""The OpenAPI document the server publishes at /openapi.json, checked against the server itself.

- It is a valid OpenAPI 3.1 document, and /docs is a self-contained page that reads it.
- The document and the routes agree, found by probing the running server without a
  credential (never by reading the Swift sources): every documented operation is routed and,
  on /api/v1, answers 401 to an anonymous caller; no undocumented method answers on a
  documented path or on any path prefix of one. The router's own 404 (problem detail
  "Not Found") is how an unrouted request is told from a routed one that found nothing.
- schemathesis (the `st` command of the venv) runs every operation against the live server
  with an admin token, bounded (25 examples per operation, fixed seed, a wall-clock limit;
  one worker: with two, hypothesis 6.170's lambda descriptions race and raise spurious
  runtime errors), and checks: no 5xx, every response's status code, content type and body
  as the document says. No operation is excluded. Path parameters named `project` (and `id`)
  are drawn part of the time from real ids, so the project routes reach their logic instead
  of answering 404 to random ids.
"""

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Routes whose credential travels in the body: anonymous callers reach them.
ANONYMOUS_API_ROUTES = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
}
# The whole schemathesis run must end within this (2 shared cores; it takes about 2 minutes).
SCHEMATHESIS_TIMEOUT_S = 270


@pytest.fixture(scope="module")
def served(trainplat_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; rate limits off so that fuzzing measures the API, not them."""
    server = Server(trainplat_bin, tmp_path_factory.mktemp("openapi") / "data")
    server.env["TRAINPLAT_RATE_LIMIT_PER_SECOND"] = "100000"
    server.env["TRAINPLAT_ACCESS_TOKEN_TTL_SECONDS"] = "3600"
    server.start()
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def document(served: Server) -> dict[str, Any]:
    with urllib.request.urlopen(served.api + "/openapi.json", timeout=10) as response:
        assert response.headers.get_content_type() == "application/json"
        loaded: dict[str, Any] = json.loads(response.read())
        return loaded


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _concrete(path: str) -> str:
    """The path with each parameter replaced by a fresh value that names nothing: a UUID for
    ids, a letter-first name for names (task, model, alias, source)."""
    names = {"{task}", "{model}", "{alias}", "{source}"}
    return "/".join(
        (f"x{uuid.uuid4().hex[:12]}" if part in names else str(uuid.uuid4()))
        if part.startswith("{")
        else part
        for part in path.split("/")
    )


def _anonymous(server: Server, method: str, path: str) -> tuple[int, dict[str, Any]]:
    """Status and problem body (empty when not JSON) of a request without a credential."""
    data = b"{}" if method in ("post", "put", "patch") else None
    request = urllib.request.Request(
        server.api + path,
        data=data,
        method=method.upper(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            body = response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        body = error.read()
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return status, parsed if isinstance(parsed, dict) else {}


def _routed(status: int, problem: dict[str, Any]) -> bool:
    """False only for the router's own answer to a path or method it does not have."""
    return status != 405 and not (status == 404 and problem.get("detail") == "Not Found")


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_docs_page_is_self_contained(served: Server) -> None:
    with urllib.request.urlopen(served.api + "/docs", timeout=10) as response:
        assert response.headers.get_content_type() == "text/html"
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "/openapi.json" in page
    # The page runs its inline script and style and fetches /openapi.json: the route's CSP
    # must allow exactly that (the API's default-src 'none' would leave it blank).
    assert "connect-src 'self'" in policy, policy
    assert "script-src" in policy, policy
    assert "style-src" in policy, policy
    # Nothing from elsewhere: no CDN, no fonts, nothing that needs the internet.
    for reference in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http"):
        assert reference not in page, reference


def test_every_documented_operation_is_routed(served: Server, document: dict[str, Any]) -> None:
    missing = []
    for method, path, _ in _operations(document):
        status, problem = _anonymous(served, method, _concrete(path))
        if not _routed(status, problem):
            missing.append(f"{method.upper()} {path} -> {status} {problem.get('detail')}")
    assert not missing, "documented but not routed:\n" + "\n".join(missing)


def test_anonymous_callers_get_401_on_every_api_route(
    served: Server, document: dict[str, Any]
) -> None:
    """README: every /api/v1 route except login, refresh and logout needs a credential."""
    wrong = []
    for method, path, operation in _operations(document):
        public = not path.startswith("/api/v1/") or (method, path) in ANONYMOUS_API_ROUTES
        # The document says the same: public operations clear the global bearer requirement.
        assert (operation.get("security") == []) == public, f"{method} {path}: security"
        if public:
            continue
        status, problem = _anonymous(served, method, _concrete(path))
        if status != 401:
            wrong.append(f"{method.upper()} {path} -> {status} {problem.get('detail')}")
    assert not wrong, "anonymous requests not refused with 401:\n" + "\n".join(wrong)


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(2, len(parts))]


def test_no_undocumented_route_answers(served: Server, document: dict[str, Any]) -> None:
    """Every other method on a documented path, and every method on each undocumented prefix
    of one (`/api/v1`, `/api/v1/runs/{id}/tasks`, ...), is the router's 404."""
    documented = {(method, path) for method, path, _ in _operations(document)}
    paths = {path for _, path in documented}
    probes = {(method, path) for path in paths for method in HTTP_METHODS} - documented
    probes |= {
        (method, prefix)
        for path in paths
        for prefix in _prefixes(path)
        if prefix not in paths
        for method in HTTP_METHODS
    }
    answered = []
    for method, path in sorted(probes):
        status, problem = _anonymous(served, method, _concrete(path))
        if _routed(status, problem):
            answered.append(f"{method.upper()} {path} -> {status} {problem.get('detail')}")
    assert not answered, "routed but not documented:\n" + "\n".join(answered)


def _schemathesis_config(served: Server, directory: Path) -> Path:
    """Real ids for path parameters part of the time: a project the admin owns and the admin
    user (so /users/{id}/disable meets its 409 and /enable its 200)."""
    project = served.call("POST", "/api/v1/projects", {"name": "openapi-fuzz"})["id"]
    admin = served.call("GET", "/api/v1/auth/me")["user"]["id"]
    config = directory / "schemathesis.toml"
    config.write_text(
        f'[dictionaries.projects]\nvalues = ["{project}"]\n'
        f'[dictionaries.ids]\nvalues = ["{admin}"]\n'
        "[parameters]\n"
        '"path.project" = { dictionary = "projects", probability = 0.6 }\n'
        '"path.id" = { dictionary = "ids", probability = 0.3 }\n'
    )
    return config


def test_schemathesis_finds_no_server_errors_or_schema_violations(
    served: Server, tmp_path: Path
) -> None:
    st = Path(sys.executable).with_name("st")
    assert st.is_file() or shutil.which("st"), "schemathesis is not installed (dev extra)"
    config = _schemathesis_config(served, tmp_path)
    command = [
        str(st if st.is_file() else shutil.which("st")),
        *("--config-file", str(config), "--no-color"),
        "run",
        served.api + "/openapi.json",
        *("--url", served.api),
        *("--header", f"Authorization: Bearer {served.token}"),
        "--checks",
        "not_a_server_error,response_schema_conformance,status_code_conformance,"
        "content_type_conformance",
        *("--max-examples", "25", "--seed", "20261129", "--workers", "1"),
        *("--generation-database", "none", "--request-timeout", "30"),
        *("--report", "junit", "--report-dir", str(tmp_path / "report")),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SCHEMATHESIS_TIMEOUT_S,
        check=False,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
