"""The ``llmlens`` command: ``demo``, ``info``, ``load``, ``collect``, ``sql``, ``export``."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import llmlens
from llmlens.errors import LensError
from llmlens.query import run

QUICKSTART = "00-quickstart.ipynb"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``llmlens`` command line; returns the exit status.

    >>> main(["--version"])  # doctest: +ELLIPSIS
    llmlens ...
    0
    """
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and (not hasattr(args, "words") or any(word.startswith("-") for word in rest)):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if rest:  # positionals given after options: `llmlens sql store.duckdb --format csv "SELECT ..."`
        args.words += rest
    if args.version:
        print(f"llmlens {llmlens.__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        status: int = args.handler(args)
    except LensError as error:
        print(f"llmlens: {error}", file=sys.stderr)
        return 1
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmlens",
        description="Look at LLM traces, tokens, retrieval and training runs in a local DuckDB store, in Jupyter.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="build the demo store and open JupyterLab on the quickstart notebook",
        description="Build a demo store full of realistic traces and runs, copy the review notebooks next to it, "
        "and start JupyterLab on the quickstart notebook.",
    )
    demo.add_argument("--dir", type=Path, default=Path("llmlens-demo"), help="workspace folder (default: %(default)s)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL instead")
    demo.add_argument("--port", type=int, default=0, help="JupyterLab port (default: a free one)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the demo data (default: %(default)s)")
    demo.add_argument("--rebuild", action="store_true", help="rebuild the demo store even if it exists")
    demo.add_argument("--build-only", action="store_true", help="build the store and notebooks, do not start Jupyter")
    demo.set_defaults(handler=_demo)

    info = commands.add_parser(
        "info",
        help="summarise a store: tables, row counts, sources, rejects",
        description="Summarise a store (opened read-only): tables, row counts, sources loaded and records rejected.",
    )
    info.add_argument("db", nargs="?", default=None, help="store file (default: $LLMLENS_DB or .llmlens/lens.duckdb)")
    info.set_defaults(handler=_info)

    load = commands.add_parser(
        "load",
        help="load trace files into a store",
        description="Load trace files (paths, globs or folders) into a store; formats are detected from content.",
    )
    load.add_argument("paths", nargs="+", help="files, globs or folders")
    load.add_argument("--db", default=None, help="store file (default: $LLMLENS_DB or .llmlens/lens.duckdb)")
    load.add_argument("--format", default=None, help="force a format instead of detecting it")
    load.add_argument(
        "--columns", default=None, help="the columns of a metric table, where not the usual: run=experiment,step=iter"
    )
    load.set_defaults(handler=_load)

    collect = commands.add_parser(
        "collect",
        help="receive OTLP/HTTP traces into a store until Ctrl-C",
        description="Run an OTLP/HTTP receiver (POST /v1/traces, protobuf or JSON, gzip) that writes spans into a "
        "store. Point exporters at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT.",
    )
    collect.add_argument("--db", default=None, help="store file (default: $LLMLENS_DB or .llmlens/lens.duckdb)")
    collect.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s, this machine only)"
    )
    collect.add_argument("--port", type=int, default=4318, help="port (default: %(default)s, the OTLP/HTTP port)")
    collect.add_argument(
        "--token", default=os.environ.get("LLMLENS_COLLECT_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: $LLMLENS_COLLECT_TOKEN, none if unset)",
    )  # fmt: skip
    collect.add_argument("--max-body-mb", type=float, default=64, help="largest request body (default: %(default)s)")
    collect.set_defaults(handler=_collect)

    sql = commands.add_parser(
        "sql",
        usage="llmlens sql [-h] [--format {table,csv,json}] [--max-rows N] [--write] [DB] QUERY",
        help="run a SQL query against a store and print the result",
        description="Run a SQL query against a store (read-only unless --write) and print the result.",
    )
    sql.add_argument("words", nargs="+", metavar="[DB] QUERY", help="optional store file, then the query (quoted)")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    sql.add_argument(
        "--max-rows", type=int, default=40, metavar="N", help="rows shown in table format (default: %(default)s)"
    )
    sql.add_argument("--write", action="store_true", help="open the store for writing")
    sql.set_defaults(handler=_sql)

    export = commands.add_parser(
        "export",
        help="run a notebook and write it as one self-contained HTML page",
        description="Run a notebook in a real kernel and write it as one HTML file in which every llmlens widget "
        "renders and responds from its saved state without a kernel and without network access (the bundles, the "
        "data and plotly.js inlined), to open in stand-up or attach to a ticket.",
    )
    export.add_argument("notebook", type=Path, help="the notebook (.ipynb); it runs in its own folder")
    export.add_argument("--html", action="store_true", required=True, help="write HTML (the one format for now)")
    export.add_argument("-o", "--output", type=Path, default=None, help="the page (default: NOTEBOOK with .html)")
    export.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default: %(default)s)")
    export.add_argument("--kernel", default=None, help="kernel name (default: the notebook's own)")
    export.set_defaults(handler=_export)
    return parser


def _info(args: argparse.Namespace) -> int:
    with llmlens.open(args.db, read_only=True) as lens:
        print(lens.info())
        recent = lens.sql(
            "SELECT source_id, format, uri, rows_rejected, loaded_at FROM sources ORDER BY source_id DESC LIMIT 10"
        )
        if len(recent):
            print("\nlatest sources:")
            print(recent.to_string(index=False))
    return 0


def _load(args: argparse.Namespace) -> int:
    from llmlens.loaders.metric_tables import parse_columns

    with llmlens.open(args.db) as lens:
        report = lens.load(*args.paths, format=args.format, columns=parse_columns(args.columns))
    print(report)
    return 0


def _collect(args: argparse.Namespace) -> int:
    with llmlens.open(args.db) as lens:
        collector = lens.collect(
            args.port, host=args.host, token=args.token, max_body_bytes=int(args.max_body_mb * 1024 * 1024)
        )
        print(f"llmlens is receiving traces at {collector.url} into {lens.path}", flush=True)
        print(f"  export OTEL_EXPORTER_OTLP_ENDPOINT={collector.endpoint}\nPress Ctrl-C to stop.", flush=True)
        shown = ""
        try:
            while True:
                time.sleep(1)
                line = repr(collector).splitlines()[0]
                if line != shown and collector.stats.requests:
                    print(line, flush=True)
                    shown = line
        except KeyboardInterrupt:
            pass
        collector.stop()
        print(f"stopped. {repr(collector).splitlines()[0]}", flush=True)
    return 0


def _sql(args: argparse.Namespace) -> int:
    if len(args.words) > 2:
        print("llmlens sql: give at most a store and one query (quote the query)", file=sys.stderr)
        return 2
    db, query = (None, args.words[0]) if len(args.words) == 1 else args.words
    with llmlens.open(db, read_only=not args.write) as lens:
        if args.format == "table":
            run(lens.con, query, None, lambda rel: rel.show(max_rows=args.max_rows) if rel is not None else None)
        else:
            frame = lens.sql(query)
            if args.format == "csv":
                frame.to_csv(sys.stdout, index=False)
            else:
                print(frame.to_json(orient="records", lines=True, date_format="iso"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from llmlens.notebook_export import export_html

    page = export_html(args.notebook, args.output, timeout=args.timeout, kernel_name=args.kernel)
    print(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from llmlens import demo

    workspace = args.dir.expanduser().resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    store = workspace / demo.DEFAULT_PATH
    if args.rebuild or not store.exists():
        print(f"building the demo store {store} ...", flush=True)
        demo.build(store, seed=args.seed)
    for notebook in sorted(notebooks_dir().glob("*.ipynb")):
        target = workspace / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
    print(f"demo workspace: {workspace}", flush=True)
    if args.build_only:
        return 0
    return _run_jupyterlab(workspace, port=args.port or _free_port(), open_browser=not args.no_browser)


def notebooks_dir() -> Path:
    """The review notebooks shipped with llmlens (inside the wheel, or ``notebooks/`` of a source checkout).

    >>> (notebooks_dir() / "00-quickstart.ipynb").exists()
    True
    """
    package = Path(llmlens.__file__).parent
    for candidate in (package / "_notebooks", package.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise LensError("the llmlens notebooks are missing from this installation; reinstall llmlens")


def _run_jupyterlab(workspace: Path, *, port: int, open_browser: bool) -> int:
    token = secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab", str(workspace / QUICKSTART),
        f"--ServerApp.root_dir={workspace}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.open_browser={open_browser}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}/lab/tree/{QUICKSTART}?token={token}"
    process = subprocess.Popen(command, cwd=workspace)
    try:
        if _wait_for_server(port, token, process):
            print(f"\nllmlens demo is running at:\n    {url}\nPress Ctrl-C to stop.\n", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        if os.name == "nt":
            process.terminate()
        else:
            process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return 130


def _wait_for_server(port: int, token: str, process: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    status_url = f"http://127.0.0.1:{port}/api/status?token={token}"
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:  # loopback only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
