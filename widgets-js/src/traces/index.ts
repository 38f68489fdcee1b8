// The trace explorer bundle: the trace table (with the opened trace under it), one trace on its own, or the agent
// network of traces.
import type { RenderProps } from "@anywidget/types";
import agents from "./agents/index";
import { renderTable } from "./table/index";
import { renderTrace } from "./trace/index";

// biome-ignore lint/suspicious/noExplicitAny: the views read their traits from the same model
function render(props: RenderProps<any>): () => void {
  const { model, el, experimental } = props;
  const view = model.get("_view");
  if (view === "agents") return agents.render(props);
  return view === "table" ? renderTable(el, model, experimental) : renderTrace(el, model, experimental);
}

export default { render };
