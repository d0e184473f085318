"""A target on 127.0.0.1 that checks every request against an OpenAPI 3.0/3.1 document with openapi-core.

    python tests/tools/openapi_target.py --spec shop.yaml --log requests.jsonl

Prints ``listening on http://127.0.0.1:PORT`` and answers every request with 200 and
``{}``; each request becomes one JSON line in ``--log``: method, path with query, and
whether openapi-core found it valid (with its error). The document's servers are
pointed at this target, keeping their base paths. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from urllib.parse import urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def pointed_here(spec: dict, url: str) -> dict:
    """The document with each server's URL on ``url``, its variables' defaults in, its base path kept."""
    servers = []
    for server in spec.get("servers") or [{"url": "/"}]:
        address = server.get("url", "/")
        for name, variable in (server.get("variables") or {}).items():
            address = address.replace("{" + name + "}", str(variable.get("default", "")))
        path = urlsplit(address).path if "://" in address else address
        servers.append({"url": url + path.rstrip("/")})
    return {**spec, "servers": servers}


def json_suffixed_types(node: object) -> set[str]:
    """Media types like ``application/merge-patch+json`` in the document: JSON that openapi-core reads as bytes."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "content" and isinstance(value, dict):
                found |= {name for name in value if name.split(";")[0].strip().endswith("+json")}
            found |= json_suffixed_types(value)
    elif isinstance(node, list):
        for item in node:
            found |= json_suffixed_types(item)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as file:
        spec = yaml.safe_load(file)
    lock = threading.Lock()
    log = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - closed at the end
    state = {}

    @Request.application
    def app(request: Request) -> Response:
        error = None
        try:
            state["openapi"].validate_request(WerkzeugOpenAPIRequest(request))
        except Exception as problem:  # every kind of validation error is a finding
            error = f"{type(problem).__name__}: {problem}"
            causes = getattr(problem, "__cause__", None)
            if causes is not None:
                error += f" ({causes})"
        query = request.query_string.decode()
        record = {"method": request.method, "path": request.path + ("?" + query if query else ""), "error": error}
        record["valid"] = error is None
        with lock:
            log.write(json.dumps(record) + "\n")
            log.flush()
        return Response("{}", status=200, content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    config = Config(extra_media_type_deserializers={name: json.loads for name in json_suffixed_types(spec)})
    state["openapi"] = OpenAPI.from_dict(pointed_here(spec, url), config=config)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on {url}", flush=True)
    server.serve_forever(poll_interval=0.05)
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
