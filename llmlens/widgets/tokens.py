"""The token viewer widget: a thin class over :mod:`llmlens.widgets.token_data`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anywidget.experimental
import pyarrow as pa
import traitlets

from llmlens.widgets.base import Widget
from llmlens.widgets.token_data import (
    NO_TOKENS,
    TokenData,
    diff_tokens,
    ipc_bytes,
    response_tokens,
    span_tokens,
    token_text,
)

if TYPE_CHECKING:
    import pandas as pd

    from llmlens.lens import Lens


class TokenView(Widget):
    """Output tokens coloured by probability, entropy or rank, with their alternatives on hover.

    Keys (with the widget focused): ``n``/``p`` next/previous low-confidence token, ``m`` colour mode, ``Esc``
    clears the selection. Make one with :meth:`llmlens.Lens.tokens`, :meth:`from_span` or :meth:`from_openai`.

    >>> view = TokenView.from_openai({"object": "chat.completion", "model": "m", "choices": [{"index": 0,
    ...     "message": {"role": "assistant", "content": "Hi"}, "logprobs": {"content": [
    ...     {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}]}}]})
    >>> view.count, view.mode
    (1, 'probability')
    """

    _bundle_name = "tokens"

    title = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Enum(["probability", "entropy", "rank"], "probability").tag(sync=True)
    threshold = traitlets.Float(0.5, help="tokens under this probability count as low-confidence").tag(sync=True)
    selected = traitlets.Int(-1, help="index of the selected token, -1 for none").tag(sync=True)
    _tokens = traitlets.Bytes(b"").tag(sync=True)
    _alternatives = traitlets.Bytes(b"").tag(sync=True)  # empty in a live view: fetched with alternatives_ipc
    _alternative_count = traitlets.Int(0).tag(sync=True)
    _messages: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    labels: traitlets.List[str] = traitlets.List(traitlets.Unicode(), help="names of the choices shown").tag(sync=True)
    _alignment = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, data: TokenData, *, alignment: pa.Table | None = None, **kwargs: Any) -> None:
        self._data = data
        self._alignment_table = alignment
        super().__init__(
            title=data.title,
            note="" if data.count else NO_TOKENS,
            _tokens=ipc_bytes(data.tokens) if data.count else b"",
            _alternative_count=data.alternatives.num_rows,
            _messages=data.messages,
            _alignment=ipc_bytes(alignment) if alignment is not None else b"",
            **kwargs,
        )

    @classmethod
    def from_span(cls, lens: Lens, span_id: str, trace_id: str | None = None, **kwargs: Any) -> TokenView:
        """The tokens of one span of ``lens`` (a unique prefix of its id is enough)."""
        return cls(span_tokens(lens.con, span_id, trace_id), **kwargs)

    @classmethod
    def from_openai(cls, response: Any, **kwargs: Any) -> TokenView:
        """The tokens of an OpenAI response in hand (an ``openai`` response object, its dict, or its JSON)."""
        return cls(response_tokens(response), **kwargs)

    @classmethod
    def diff(cls, a: TokenView, b: TokenView, labels: tuple[str, str] | None = None, **kwargs: Any) -> TokenView:
        """Two completions of the same prompt side by side, aligned token by token: where they diverge is marked,
        with the probability each gave the other's token there.

        >>> def response(*words):
        ...     content = [{"token": w, "logprob": -0.2, "bytes": list(w.encode()), "top_logprobs": []} for w in words]
        ...     return {"object": "chat.completion", "model": "m", "choices": [{"index": 0, "message": {
        ...         "role": "assistant", "content": "".join(words)}, "logprobs": {"content": content}}]}
        >>> view = TokenView.diff(TokenView.from_openai(response("Sky", " is", " blue")),
        ...                       TokenView.from_openai(response("Sky", " was", " blue")), labels=("t=0", "t=1"))
        >>> view.alignment.op.tolist(), view.labels
        (['equal', 'replace', 'equal'], ['t=0', 't=1'])
        """
        data, alignment = diff_tokens(a._data, b._data)
        names = list(labels) if labels else [a.title or "a", b.title or "b"]
        return cls(data, alignment=alignment, labels=names, **kwargs)

    @anywidget.experimental.command
    def alternatives_ipc(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, int], list[bytes]]:
        """The alternatives of every token, asked for by the view after its first paint (Arrow IPC)."""
        return {"rows": self._data.alternatives.num_rows}, [ipc_bytes(self._data.alternatives)]

    def exported_state(self) -> dict[str, Any]:
        """The state for a kernel-free page: with the alternatives embedded, as no kernel can be asked."""
        state = super().exported_state()
        if self._data.alternatives.num_rows:
            state["_alternatives"] = ipc_bytes(self._data.alternatives)
        return state

    @property
    def alignment(self) -> pd.DataFrame | None:
        """For a diff: the alignment opcodes (equal, replace, delete, insert) with token ranges of each side and the
        logprob each gave the other's token where they diverge; None for a single completion."""
        table = self._alignment_table
        return None if table is None else table.to_pandas()

    @property
    def count(self) -> int:
        """Number of tokens shown (prompt and output, all choices)."""
        return self._data.count

    @property
    def tokens(self) -> pd.DataFrame:
        """The tokens shown, one row each (side, choice, token, bytes, logprob and alternative range)."""
        table = self._data.tokens
        texts = [token_text(t, b) for t, b in zip(table["token"].to_pylist(), table["bytes"].to_pylist(), strict=True)]
        frame: pd.DataFrame = table.set_column(
            table.schema.get_field_index("token"), "token", pa.array(texts)
        ).to_pandas()
        return frame

    @property
    def selected_token(self) -> dict[str, Any] | None:
        """The token selected in the view, with its alternatives, or None."""
        if not 0 <= self.selected < self.count:
            return None
        row = self._data.tokens.slice(self.selected, 1).to_pylist()[0]
        alternatives = self._data.alternatives.slice(row["alt_start"], row["alt_end"] - row["alt_start"])
        row["alternatives"] = [
            {**alt, "token": token_text(alt["token"], alt["bytes"])} for alt in alternatives.to_pylist()
        ]
        return {**row, "token": token_text(row["token"], row["bytes"])}
