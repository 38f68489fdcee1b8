"""IPython magics: ``%lens`` commands and ``%%lens`` SQL cells, over the Lens opened last."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

import llmlens
from llmlens.errors import LensError
from llmlens.lens import Lens, current_lens
from llmlens.query import python_references

if TYPE_CHECKING:
    import pandas as pd

    from llmlens.collect import Collector
    from llmlens.loaders.report import LoadReport
    from llmlens.widgets import RunCharts


class _Parser(argparse.ArgumentParser):
    """argparse that reports problems as IPython usage errors instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or self.format_help())


@dataclass(frozen=True)
class _Command:
    name: str
    summary: str
    parser: _Parser
    run: Callable[[argparse.Namespace], Any]


def _split(text: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when not given)."""
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


@magics_class
class LensMagics(Magics):
    """``%lens <command>`` maps to Lens methods; ``%%lens`` runs the cell as SQL.

    In a ``%%lens`` cell, ``{name}`` refers to a Python variable and is bound as a parameter,
    never pasted into the SQL text. ``-o NAME`` keeps the result DataFrame in ``NAME``.
    """

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._commands = {command.name: command for command in self._build_commands()}

    @line_cell_magic
    def lens(self, line: str, cell: str | None = None) -> Any:
        """%lens help | open | info | load | demo | collect | close ...; %%lens [-o NAME] runs SQL."""
        if cell is None:
            return self._run_command(line)
        return self._run_sql_cell(line, cell)

    # --- line commands -------------------------------------------------------------------------

    def _run_command(self, line: str) -> Any:
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%lens: {error}") from None
        if not words:
            words = ["help"]
        command = self._commands.get(words[0])
        if command is None:
            raise UsageError(f"%lens: unknown command {words[0]!r}. Commands: {', '.join(self._commands)}")
        args = command.parser.parse_args(words[1:])
        try:
            return command.run(args)
        except LensError as error:
            raise UsageError(str(error)) from None

    def _build_commands(self) -> list[_Command]:
        def parser(name: str, summary: str) -> _Parser:
            return _Parser(prog=f"%lens {name}", description=summary, add_help=True)

        help_parser = parser("help", "List the %lens commands.")
        open_parser = parser("open", "Open a store (default: $LLMLENS_DB or .llmlens/lens.duckdb); SQL cells use it.")
        open_parser.add_argument("path", nargs="?", default=None)
        open_parser.add_argument("--read-only", action="store_true", help="share the file with other processes")
        info_parser = parser("info", "Summarise the current store: tables, row counts, sources, rejects.")
        demo_parser = parser("demo", "Open the demo store, building it on first use.")
        demo_parser.add_argument("--rebuild", action="store_true", help="build it again from scratch")
        demo_parser.add_argument("--seed", type=int, default=0)
        load_parser = parser("load", "Load trace files (paths, globs or folders) into the current store.")
        load_parser.add_argument("paths", nargs="+")
        load_parser.add_argument("--format", default=None, help="force a format instead of detecting it")
        load_parser.add_argument("--columns", default=None, help="metric table columns: run=experiment,step=iter")
        collect_parser = parser("collect", "Receive OTLP/HTTP traces into the current store in the background.")
        collect_parser.add_argument("--port", type=int, default=4318, help="port (default: %(default)s; 0: any free)")
        collect_parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
        collect_parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN'")
        collect_parser.add_argument("--stop", action="store_true", help="stop the receivers of the current store")
        tokens_parser = parser("tokens", "Show the token viewer for an LLM span (a unique id prefix is enough).")
        tokens_parser.add_argument("span_id")
        tokens_parser.add_argument("--trace", default=None, help="trace id, when the span id is in several traces")
        runs_parser = parser("runs", "Table of runs: status, duration, last and best metric values, differing params.")
        runs_parser.add_argument("--where", default=None, help="SQL condition on run columns: \"status = 'failed'\"")
        runs_parser.add_argument("--metrics", default=None, help="comma-separated keys or globs: eval/*,train/loss")
        compare_parser = parser("compare", "Charts of metrics (keys or globs) across runs, every spike kept.")
        compare_parser.add_argument("metrics", nargs="*", help="keys or globs (default: every key with 'loss')")
        compare_parser.add_argument("--runs", default=None, help="comma-separated run ids or names")
        compare_parser.add_argument("--x", default="step", help="step, wall_time, relative or a metric key")
        compare_parser.add_argument("--smoothing", default="none", choices=["none", "ema", "twema"])
        compare_parser.add_argument("--weight", type=float, default=0.6, help="smoothing weight (default: 0.6)")
        compare_parser.add_argument("--group-by", default="", help="a param: one band per value")
        compare_parser.add_argument("--band", default="std", choices=["std", "range"], help="mean +- std, or min-max")
        compare_parser.add_argument("--log", action="store_true", help="log-scale y")
        heatmap_parser = parser("heatmap", "Many keys of one run as a heatmap: grad_norm/layer_* or system/gpu.*.")
        heatmap_parser.add_argument("metrics", help="glob of keys, e.g. 'grad_norm/layer_*'")
        heatmap_parser.add_argument("run", help="run id or name")
        anomalies_parser = parser("anomalies", "NaN/inf, loss spikes, stalls, restarts and straggler GPUs of runs.")
        anomalies_parser.add_argument("--runs", default=None, help="comma-separated run ids or names")
        anomalies_parser.add_argument("--metrics", default=None, help="comma-separated keys or globs")
        diff_parser = parser("params_diff", "The params that differ between runs, side by side.")
        diff_parser.add_argument("runs", nargs="*", help="run ids or names (default: all)")
        close_parser = parser("close", "Close the current store, releasing its lock.")
        return [
            _Command("help", help_parser.description or "", help_parser, lambda _: self._help()),
            _Command("open", open_parser.description or "", open_parser, self._open),
            _Command("info", info_parser.description or "", info_parser, lambda _: self._info()),
            _Command("load", load_parser.description or "", load_parser, self._load),
            _Command("demo", demo_parser.description or "", demo_parser, self._demo),
            _Command("collect", collect_parser.description or "", collect_parser, self._collect),
            _Command(
                "tokens",
                tokens_parser.description or "",
                tokens_parser,
                lambda args: self._lens().tokens(args.span_id, args.trace),
            ),
            *self._trace_commands(parser),
            _Command(
                "runs",
                runs_parser.description or "",
                runs_parser,
                lambda args: self._lens().runs(where=args.where, metrics=_split(args.metrics)),
            ),
            _Command("compare", compare_parser.description or "", compare_parser, self._compare),
            _Command(
                "heatmap",
                heatmap_parser.description or "",
                heatmap_parser,
                lambda args: self._lens().heatmap(args.metrics, args.run),
            ),
            _Command(
                "anomalies",
                anomalies_parser.description or "",
                anomalies_parser,
                lambda args: self._lens().anomalies(runs=_split(args.runs), metrics=_split(args.metrics)),
            ),
            _Command(
                "params_diff",
                diff_parser.description or "",
                diff_parser,
                lambda args: self._lens().params_diff(args.runs or None),
            ),
            _Command("close", close_parser.description or "", close_parser, lambda _: self._close()),
        ]

    def _trace_commands(self, parser: Callable[[str, str], _Parser]) -> list[_Command]:
        """The commands of the trace explorer: traces, trace, session, agents, map, sample, review, summary,
        export-evals."""
        traces_parser = parser("traces", "Table of every trace: search, filter, sort, select; opens a trace under it.")
        traces_parser.add_argument("--where", default=None, help='SQL condition on trace columns: "n_errors > 0"')
        traces_parser.add_argument("--search", default=None, help="text to find in inputs, outputs, names and ids")
        traces_parser.add_argument("--sort", default="start_time", help="column to sort by (default: %(default)s)")
        traces_parser.add_argument("--ascending", action="store_true", help="sort ascending (default: descending)")
        session_parser = parser("session", "The traces of one session (a conversation), oldest first.")
        session_parser.add_argument("session_id")
        trace_parser = parser("trace", "One trace: span tree, waterfall, span detail (a unique id prefix is enough).")
        trace_parser.add_argument("trace_id")
        agents_parser = parser(
            "agents", "The agent network of traces: handoffs and tool calls, counts, latency, failures."
        )
        agents_parser.add_argument("--where", default=None, help="SQL condition on trace columns")
        map_parser = parser("map", "The embedding map: queries against retrieved chunks; gaps, dead corpus, clusters.")
        map_parser.add_argument("--where", default=None, help="SQL condition on trace columns (picks the queries)")
        map_parser.add_argument("--model", default=None, help="the embedding model, when the store holds several")
        map_parser.add_argument("--color-by", default="role", help="role, score, label, check, week, model, cluster")
        map_parser.add_argument("--layout", default="umap", choices=["umap", "pca"], help="default: %(default)s")
        map_parser.add_argument("--seed", type=int, default=0, help="same seed, same layout (default: 0)")
        sample_parser = parser("sample", "A seeded sample of traces to review, with the reason each was picked.")
        sample_parser.add_argument("n", type=int, help="how many traces (at most)")
        sample_parser.add_argument("--strategy", default="random", help="a name, a,b (split evenly) or a=5,b=3")
        sample_parser.add_argument("--where", default=None, help="SQL condition on trace columns")
        sample_parser.add_argument("--seed", type=int, default=0, help="same seed, same sample (default: 0)")
        sample_parser.add_argument("--by", default=None, help="stratify by a column or attributes.<key>")
        review_parser = parser("review", "A review queue of the newest traces, judged by keyboard (resumes by name).")
        review_parser.add_argument("n", nargs="?", type=int, default=20, help="items in the queue (default: 20)")
        review_parser.add_argument("--name", default=None, help="queue name (default: this ISO week, e.g. 2026-W47)")
        review_parser.add_argument("--reviewer", default=None, help="who judges (default: your login)")
        summary_parser = parser("summary", "Pass rates per verdict, tag and check by week and model; top failure tags.")
        summary_parser.add_argument("--queue", default=None, help="a review queue's name (default: every review)")
        summary_parser.add_argument("--by", default="model", help="a trace column or attributes.<key> (default: model)")
        export_parser = parser("export-evals", "Write the labelled failures as eval cases (JSONL or Inspect AI).")
        export_parser.add_argument("path", help="the file to write")
        export_parser.add_argument("--where", default=None, help="SQL condition on trace columns")
        export_parser.add_argument("--queue", default=None, help="only judgements made in this queue")
        export_parser.add_argument("--format", default="jsonl", choices=["jsonl", "inspect"])
        return [
            _Command(
                "traces",
                traces_parser.description or "",
                traces_parser,
                lambda args: self._lens().traces(
                    where=args.where, search=args.search, sort=args.sort, descending=not args.ascending
                ),
            ),
            _Command(
                "trace", trace_parser.description or "", trace_parser, lambda args: self._lens().trace(args.trace_id)
            ),
            _Command(
                "session",
                session_parser.description or "",
                session_parser,
                lambda args: self._lens().session(args.session_id),
            ),
            _Command(
                "agents",
                agents_parser.description or "",
                agents_parser,
                lambda args: self._lens().agents(where=args.where),
            ),
            _Command(
                "map",
                map_parser.description or "",
                map_parser,
                lambda args: self._lens().map(
                    args.where, model=args.model, color_by=args.color_by, layout=args.layout, seed=args.seed
                ),
            ),
            _Command("sample", sample_parser.description or "", sample_parser, self._sample),
            _Command(
                "review",
                review_parser.description or "",
                review_parser,
                lambda args: self._lens().review(args.n, name=args.name, reviewer=args.reviewer),
            ),
            _Command(
                "summary",
                summary_parser.description or "",
                summary_parser,
                lambda args: self._lens().summary(args.queue, by=args.by),
            ),
            _Command(
                "export-evals",
                export_parser.description or "",
                export_parser,
                lambda args: print(
                    f"{self._lens().export_evals(args.path, args.where, queue=args.queue, format=args.format):,} "
                    f"labelled failures written to {args.path}"
                ),
            ),
        ]

    def _help(self) -> None:
        width = max(len(name) for name in self._commands)
        lines = ["%lens commands (add --help to any for its options):"]
        lines += [f"  %lens {c.name:<{width}}  {c.summary}" for c in self._commands.values()]
        lines += ["", "%%lens [-o NAME]   run the cell as SQL; {var} binds a Python variable as a parameter."]
        print("\n".join(lines))

    def _open(self, args: argparse.Namespace) -> Lens:
        return llmlens.open(args.path, read_only=args.read_only)

    def _info(self) -> None:
        print(self._lens().info())

    def _load(self, args: argparse.Namespace) -> LoadReport:
        from llmlens.loaders.metric_tables import parse_columns

        return self._lens().load(*args.paths, format=args.format, columns=parse_columns(args.columns))

    def _sample(self, args: argparse.Namespace) -> pd.DataFrame:
        from llmlens.analysis.sampling import parse_strategy

        strategy = parse_strategy(args.strategy)
        return self._lens().sample(args.n, strategy, where=args.where, seed=args.seed, by=args.by)

    def _compare(self, args: argparse.Namespace) -> RunCharts:
        return self._lens().compare(
            args.metrics or None,
            _split(args.runs),
            x=args.x,
            smoothing=args.smoothing,
            weight=args.weight,
            group_by=args.group_by,
            band=args.band,
            log_y=args.log,
        )

    def _collect(self, args: argparse.Namespace) -> Collector | None:
        lens = self._lens()
        if args.stop:
            for collector in lens.collectors:
                collector.stop()
            return None
        return lens.collect(args.port, host=args.host, token=args.token)

    def _demo(self, args: argparse.Namespace) -> Lens:
        from llmlens import demo

        return demo.open(seed=args.seed, rebuild=args.rebuild)

    def _close(self) -> None:
        lens = current_lens()
        if lens is not None:
            lens.close()

    @staticmethod
    def _lens() -> Lens:
        return current_lens() or Lens()

    # --- SQL cells --------------------------------------------------------------------------------

    def _run_sql_cell(self, line: str, cell: str) -> pd.DataFrame | None:
        cell_parser = _Parser(prog="%%lens", description="Run the cell as SQL against the current store.")
        cell_parser.add_argument("-o", "--output", metavar="NAME", help="keep the result DataFrame in NAME")
        cell_parser.add_argument("-q", "--quiet", action="store_true", help="do not display the result")
        args = cell_parser.parse_args(shlex.split(line))
        if args.output is not None and not args.output.isidentifier():
            raise UsageError(f"%%lens -o: {args.output!r} is not a valid Python name")
        query, names = python_references(cell)
        assert self.shell is not None, "the %%lens magic runs inside IPython"
        namespace = self.shell.user_ns
        missing = [name for name in names if name not in namespace]
        if missing:
            raise UsageError(f"%%lens: no Python variable named {', '.join(missing)} (referenced as {{name}})")
        params = {name: namespace[name] for name in names} or None
        try:
            result = self._lens().sql(query, params)
        except LensError as error:
            raise UsageError(str(error)) from None
        if args.output:
            namespace[args.output] = result
        return None if args.quiet else result
