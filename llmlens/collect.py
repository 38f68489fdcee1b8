"""A live OTLP/HTTP receiver: apps export spans straight into a store while the notebook keeps working.

``POST /v1/traces`` takes ``ExportTraceServiceRequest`` bodies, and ``POST /v1/logs`` ``ExportLogsServiceRequest``
bodies (where OpenTelemetry's GenAI instrumentations put the messages), as protobuf (``application/x-protobuf``) or
JSON (``application/json``), plain, gzip or deflate. Requests are answered at once and queued; a background thread
writes whatever is queued in one transaction through the OTLP loader, so spans are queryable within about a
second. Nothing is lost: a batch the store refuses is retried, then written to a JSON Lines file that
``lens.load`` reads later.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from llmlens.errors import LensError
from llmlens.loaders import Source, load_records, otlp_json
from llmlens.loaders.files import Records, records_table
from llmlens.store.connection import MEMORY

if TYPE_CHECKING:
    from llmlens.lens import Lens

DEFAULT_PORT = 4318
DEFAULT_MAX_BODY = 64 * 1024 * 1024
TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_RETRIES = 5


@dataclass
class CollectStats:
    """What a receiver has done so far."""

    requests: int = 0
    refused: int = 0
    batches: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    spilled: list[str] = field(default_factory=list)


class Collector:
    """An OTLP/HTTP trace receiver writing into a Lens; make one with :meth:`llmlens.lens.Lens.collect`.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     collector = lens.collect(port=0)
    ...     collector.url.startswith("http://127.0.0.1:")
    ...     _ = collector.stop()
    True
    """

    def __init__(
        self,
        lens: Lens,
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        flush_seconds: float = 0.2,
    ) -> None:
        if lens.read_only:
            raise LensError("cannot collect into a read-only store; open it with read_only=False")
        self.lens = lens
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.flush_seconds = flush_seconds
        self.stats = CollectStats()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        try:
            self._server = _Server((host, port), _Handler, self)
        except OSError as error:
            raise LensError(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(another collector or an OpenTelemetry Collector may hold it; pass port=0 for a free port)"
            ) from error
        self.host, self.port = host, int(self._server.server_address[1])
        self._con = lens.con.cursor()
        self._writer = threading.Thread(target=self._write_loop, name="llmlens-collect-writer", daemon=True)
        self._serving = threading.Thread(target=self._server.serve_forever, name="llmlens-collect", daemon=True)
        self._writer.start()
        self._serving.start()
        self.running = True

    @property
    def url(self) -> str:
        """The traces endpoint, e.g. ``http://127.0.0.1:4318/v1/traces``."""
        return f"http://{self.host}:{self.port}{TRACES_PATH}"

    @property
    def endpoint(self) -> str:
        """The base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (exporters add ``/v1/traces`` themselves)."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> CollectStats:
        """Stop listening, write everything received so far, and release the connection. Safe to call twice."""
        if not self.running:
            return self.stats
        self.running = False
        self._server.shutdown()
        self._server.server_close()
        self._queue.put(None)
        self._writer.join()
        self._con.close()
        return self.stats

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every request received so far is written to the store (or spilled to a file)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        spans = self.stats.rows_added.get("spans", 0)
        line = (
            f"llmlens collector {self.url} ({state}): {self.stats.requests:,} requests, {spans:,} spans stored, "
            f"{self.stats.rejected:,} rejected, {self.stats.refused:,} refused"
        )
        if self.running:
            line += f"\n  export OTEL_EXPORTER_OTLP_ENDPOINT={self.endpoint}"
        if self.stats.errors:
            line += f"\n  last error: {self.stats.errors[-1]}"
        return line

    # --- receiving (server threads) ----------------------------------------------------------------

    def accept(self, body: bytes, content_type: str, path: str = TRACES_PATH) -> None:
        """Queue one request body (already decompressed) for ``path`` as OTLP/JSON text; raise ValueError when it
        is not one."""
        if content_type == _PROTOBUF:
            text = _protobuf_to_json(body, path)
        else:
            text = body.decode("utf-8")
            if not isinstance(json.loads(text), dict):
                raise ValueError("the body is not a JSON object")
        with self._lock:
            self.stats.requests += 1
        self._queue.put(text)

    # --- writing (writer thread) --------------------------------------------------------------------

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 10_000:
                    batch.append(self._queue.get_nowait())
            stopping = None in batch
            texts = [text for text in batch if text is not None]
            if texts:
                self._write(texts)
            for _ in batch:
                self._queue.task_done()

    def _write(self, texts: list[str]) -> None:
        joined = "\n".join(texts).encode("utf-8")
        source = Source(self.url, otlp_json.NAME, hashlib.sha256(joined).hexdigest(), len(joined))
        # request i (1-based) of the batch is its "line" in rejects
        records = Records(records_table(list(range(1, len(texts) + 1)), [0] * len(texts), texts), [])
        message = ""
        for attempt in range(_RETRIES):
            try:
                report = load_records(self._con, source, records)
            except duckdb.Error as error:
                message = f"{type(error).__name__}: {error}"
                time.sleep(0.05 * 2**attempt)
                continue
            with self._lock:
                self.stats.batches += 1
                self.stats.rejected += report.rejected
                for table, rows in report.rows_added.items():
                    self.stats.rows_added[table] = self.stats.rows_added.get(table, 0) + rows
            return
        self._spill(joined, message)

    def _spill(self, data: bytes, message: str) -> None:
        """Keep a batch the store refused in a JSON Lines file next to it, so ``lens.load`` can read it later."""
        folder = Path(self.lens.path).parent if self.lens.path != MEMORY else Path.cwd()
        path = folder / f"llmlens-collect-unwritten-{time.strftime('%Y%m%dT%H%M%S')}-{time.monotonic_ns()}.jsonl"
        path.write_bytes(data + b"\n")
        with self._lock:
            self.stats.errors.append(f"{message} (the batch is kept in {path}; load it with lens.load)")
            self.stats.spilled.append(str(path))


def _protobuf_to_json(body: bytes, path: str) -> str:
    from google.protobuf.json_format import MessageToJson
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    kind = ExportLogsServiceRequest if path == LOGS_PATH else ExportTraceServiceRequest
    try:
        request = kind.FromString(body)
    except DecodeError as error:
        raise ValueError(f"not an OTLP {kind.__name__}: {error}") from None
    text: str = MessageToJson(request, indent=None)
    return text


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler], collector: Collector) -> None:
        self.collector = collector
        super().__init__(address, handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        collector = self.server.collector
        try:
            body, content_type = self._read_request(collector)
            collector.accept(body, content_type, self._endpoint)
        except _RefusedError as refusal:
            return self._refuse(refusal.status, str(refusal), drain=refusal.drain)
        except ValueError as error:  # includes JSON and UTF-8 decoding errors
            return self._refuse(400, f"cannot read the request: {error}")
        return self._reply(200, b"" if content_type == _PROTOBUF else b"{}", content_type)

    def do_GET(self) -> None:
        self._refuse(405, f"POST OTLP traces to {TRACES_PATH} and logs to {LOGS_PATH}", drain=True)

    @property
    def _endpoint(self) -> str:
        """The request's path without its query string."""
        return self.path.split("?", 1)[0]

    def _read_request(self, collector: Collector) -> tuple[bytes, str]:
        """The decompressed body and its content type, or a refusal with its HTTP status."""
        if self._endpoint not in (TRACES_PATH, LOGS_PATH):
            raise _RefusedError(404, f"llmlens receives traces at {TRACES_PATH} and logs at {LOGS_PATH}", drain=True)
        expected = f"Bearer {collector.token}".encode()
        if collector.token is not None and not hmac.compare_digest(
            self.headers.get("Authorization", "").encode(), expected
        ):
            raise _RefusedError(401, "missing or wrong bearer token", drain=True)
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type not in (_PROTOBUF, _JSON):
            raise _RefusedError(415, f"Content-Type must be {_PROTOBUF} or {_JSON}, not {content_type!r}", drain=True)
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            raise _RefusedError(411, "a Content-Length header is required")
        if int(length) > collector.max_body_bytes:
            raise _RefusedError(413, f"body of {int(length):,} bytes is over the limit of {collector.max_body_bytes:,}")
        body = self.rfile.read(int(length))
        try:
            return _decompress(body, self.headers.get("Content-Encoding", ""), collector.max_body_bytes), content_type
        except zlib.error as error:
            raise _RefusedError(400, f"cannot inflate the body: {error}") from None

    def _refuse(self, status: int, message: str, *, drain: bool = False) -> None:
        collector = self.server.collector
        with collector._lock:
            collector.stats.refused += 1
        length = self.headers.get("Content-Length", "")
        if drain and length.isdigit() and int(length) <= collector.max_body_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True  # the unread body must not be taken for the next request
        self._reply(status, json.dumps({"code": status, "message": message}).encode(), _JSON)

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a busy exporter would flood the notebook with access lines."""


class _RefusedError(Exception):
    """A request answered with an HTTP error status."""

    def __init__(self, status: int, message: str, *, drain: bool = False) -> None:
        super().__init__(message)
        self.status, self.drain = status, drain


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise _RefusedError(415, f"Content-Encoding {encoding!r} is not supported (use gzip, deflate or none)")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)
    data = inflater.decompress(body, limit + 1)
    if len(data) > limit or inflater.unconsumed_tail:
        raise _RefusedError(413, f"body inflates past the limit of {limit:,} bytes")
    return data
