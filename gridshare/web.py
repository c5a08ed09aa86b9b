"""The members' web app (``webapp/``): its build, and the server ``gridshare web`` runs.

The app is a static build (``node webapp/build.mjs`` bundles it, ethers and the published ABIs into
``webapp/dist/``) that reads everything from the chain. The server gives it three things besides
its files: ``config.json`` (the community's manifest and where its JSON-RPC is), ``/rpc`` (the
node's JSON-RPC, read methods only: the page never sends a transaction through it, and a devnet's
unlocked accounts stay out of a browser's reach), and ``/key-file?month=YYYY-MM`` (the operation's
key file of a month, as ``gridshare operation key-file`` writes it).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests

from gridshare.chain.deployment import Community
from gridshare.chain.key_file import key_columns, key_rows
from gridshare.errors import GridshareError
from gridshare.reports.community import period
from gridshare.reports.key_file import write_key_file

ROOT = Path(__file__).resolve().parents[1]
WEBAPP = ROOT / "webapp"
DIST = WEBAPP / "dist"

#: The JSON-RPC methods the page may call through ``/rpc`` (reads only).
READ_METHODS = frozenset({"eth_chainId", "net_version", "eth_blockNumber", "eth_getLogs", "eth_call",
                          "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionReceipt", "eth_getCode"})


def build() -> Path:
    """Build the app into ``webapp/dist`` (needs node and the npm packages: ``make setup``)."""
    script = WEBAPP / "build.mjs"
    if not script.exists():
        raise GridshareError(f"{script} not found: the web app is built from a clone of the gridshare repository")
    try:
        done = subprocess.run(["node", str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise GridshareError("node is not installed: install Node.js 20, then `make setup`") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()[-1]
        raise GridshareError(f"building the web app failed: {last} (run `make setup` for its npm packages)")
    return DIST


def _month(query: str) -> str:
    month = parse_qs(query).get("month", [""])[0]
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise GridshareError(f"month {month!r}: give ?month=YYYY-MM")
    return month


def key_file_text(community: Community, month: str, tz: str = "Europe/Paris") -> str | None:
    """The operation's key file of ``month`` (YYYY-MM, UTC days), or None without production."""
    start, end = period(month=month)
    accounts, rows = key_rows(community, start, end)
    if not rows:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = write_key_file(Path(folder) / "key.csv", key_columns(community, accounts), rows,
                              interval_seconds=community.interval_seconds, tz=tz)
        return path.read_text()


class _Handler(SimpleHTTPRequestHandler):
    community: Community
    rpc_url: str

    def log_message(self, *args) -> None:  # quiet: the command prints its own lines
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        if url.path == "/config.json":
            config = {"manifest": self.community.manifest, "rpc": "rpc", "rpcLabel": self.rpc_url, "keyFile": True}
            self._send(200, json.dumps(config).encode(), "application/json")
        elif url.path == "/key-file":
            try:
                month = _month(url.query)
                text = key_file_text(self.community, month)
            except GridshareError as exc:
                self._send(400, f"{exc}\n".encode(), "text/plain; charset=utf-8")
                return
            if text is None:
                self._send(404, f"no interval with production in {month}\n".encode(), "text/plain; charset=utf-8")
            else:
                self._send(200, text.encode(), "text/csv; charset=utf-8",
                           {"Content-Disposition": f'attachment; filename="key-{month}.csv"'})
        else:
            super().do_GET()

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/rpc":
            self._send(404, b"not found\n", "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body)
        except ValueError:
            self._send(400, b'{"error": "the body is not JSON"}', "application/json")
            return
        calls = payload if isinstance(payload, list) else [payload]
        refused = [c.get("method") for c in calls if not isinstance(c, dict) or c.get("method") not in READ_METHODS]
        if refused:
            error = {"jsonrpc": "2.0", "id": None,
                     "error": {"code": -32601, "message": f"{refused[0]} is not served here: the page only reads"}}
            self._send(200, json.dumps(error).encode(), "application/json")
            return
        try:
            answer = requests.post(self.rpc_url, data=body, headers={"Content-Type": "application/json"}, timeout=120)
        except requests.RequestException:
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": f"the node at {self.rpc_url} "
                     "does not answer: is the devnet running (gridshare devnet start)?"}}
            self._send(502, json.dumps(error).encode(), "application/json")
            return
        self._send(answer.status_code, answer.content, "application/json")


def server(community: Community, rpc_url: str, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server of the built app for ``community`` (its node at ``rpc_url``); port 0 picks a free one."""
    if not (DIST / "app.js").exists():
        raise GridshareError(f"the web app is not built ({DIST}): run `make webapp` (or `node webapp/build.mjs`)")
    handler = type("Handler", (_Handler,), {"community": community, "rpc_url": rpc_url})
    return ThreadingHTTPServer((host, port), partial(handler, directory=str(DIST)))


def serve(community: Community, rpc_url: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the app until Ctrl-C."""
    httpd = server(community, rpc_url, port)
    try:
        on_ready(f"http://127.0.0.1:{httpd.server_address[1]}/")
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
