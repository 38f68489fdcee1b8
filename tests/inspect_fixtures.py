"""Inspect AI eval logs written by ``inspect_ai`` itself, offline, for the inspect loader's tests.

A tiny task with three samples and two epochs runs on the ``mockllm/model`` model, whose outputs come from a
function of the input: a tool call (``add``) and its answer, a failing tool call (``divide`` by zero), a plain
answer carrying output logprobs and prompt logprobs (the mock passes ``ModelOutput`` through as given), and a
grader reply for the model-graded scorer. A solver opens a custom span, writes an info event and a store value.
Scorers: ``match()``, ``includes()`` and ``model_graded_qa()`` (graded by the same mock). Every output carries its
usage, so the mock never counts tokens (which would need tiktoken's files from the network).

Run as a script to write the logs into a folder: ``python -m tests.inspect_fixtures OUT``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

EPOCHS = 2
SAMPLES = 3
GRADER_REPLY = "The submission matches the criterion. GRADE: C"
OTHER = "?"  # the second alternative at every position


def write_logs(folder: Path) -> dict[str, Path]:
    """Run the task twice, writing a ``.eval`` and a ``.json`` log under ``folder``; returns them by format."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.log import transcript
    from inspect_ai.model import ChatMessageTool, ModelOutput, ModelUsage, get_model
    from inspect_ai.model._model_output import Logprob, Logprobs, TopLogprob
    from inspect_ai.scorer import includes, match, model_graded_qa
    from inspect_ai.solver import Generate, TaskState, generate, solver, use_tools
    from inspect_ai.tool import ToolError, tool
    from inspect_ai.util import span

    @tool
    def add() -> Any:
        async def execute(x: int, y: int) -> int:
            """Add two numbers.

            Args:
                x: The first number.
                y: The second number.
            """
            return x + y

        return execute

    @tool
    def divide() -> Any:
        async def execute(x: int, y: int) -> float:
            """Divide two numbers.

            Args:
                x: The dividend.
                y: The divisor.
            """
            if y == 0:
                raise ToolError("division by zero")
            return x / y

        return execute

    @solver
    def look_up() -> Any:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            async with span("look_up", type="retrieval"):
                transcript().info({"looked_up": state.input_text})
                state.store.set("looked_up", True)
            return state

        return solve

    def logprobs(pairs: list[tuple[str, float]]) -> Logprobs:
        return Logprobs(
            content=[
                Logprob(token=piece, logprob=value, bytes=list(piece.encode()),
                        top_logprobs=[TopLogprob(token=piece, logprob=value), TopLogprob(token=OTHER, logprob=-4.0)])
                for piece, value in pairs
            ]
        )  # fmt: skip

    def outputs(input: list[Any], tools: list[Any], tool_choice: Any, config: Any) -> ModelOutput:
        last = input[-1]
        text = last.text
        if "assessing a submitted answer" in text:
            output = ModelOutput.from_content("mockllm/model", GRADER_REPLY)
        elif isinstance(last, ChatMessageTool):
            output = ModelOutput.from_content("mockllm/model", "undefined" if last.error else "3")
        elif "1+2" in text:
            output = ModelOutput.for_tool_call("mockllm/model", "add", {"x": 1, "y": 2})
        elif "1/0" in text:
            output = ModelOutput.for_tool_call("mockllm/model", "divide", {"x": 1, "y": 0})
        else:
            output = ModelOutput.from_content("mockllm/model", "Paris")
            output.choices[0].logprobs = logprobs([("Par", -0.25), ("is", -0.5)])
            output.choices[0].prompt_logprobs = logprobs([("Capital", -6.0), (" of", -1.5), (" France", -0.75)])
        output.usage = ModelUsage(input_tokens=20, output_tokens=5, total_tokens=25, input_tokens_cache_read=4)
        return output

    model = get_model("mockllm/model", custom_outputs=outputs)
    dataset = [
        Sample(id="add", input="What is 1+2?", target="3", metadata={"topic": "arithmetic"}),
        Sample(id=2, input="Capital of France?", target="Paris", metadata={"topic": "geography"}),
        Sample(id="div", input="What is 1/0?", target="infinity"),
    ]
    assert len(dataset) == SAMPLES
    task = Task(
        dataset=dataset,
        solver=[look_up(), use_tools(add(), divide()), generate()],
        scorer=[match(), includes(), model_graded_qa(model=model)],
        epochs=EPOCHS,
    )
    written = {}
    for log_format in ("eval", "json"):
        (log,) = eval(task, model=model, log_dir=str(folder), log_format=log_format, display="none",
                      log_level="error")  # fmt: skip
        assert log.status == "success", log.error
        written[log_format] = Path(log.location)
    return written


if __name__ == "__main__":
    for log_format, path in write_logs(Path(sys.argv[1])).items():
        print(log_format, path)
