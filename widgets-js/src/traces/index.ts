// The trace explorer bundle: the trace table (with the opened trace under it), one trace on its own, the agent
// network of traces, or a review queue (its current item's trace under the judgement bar).
import type { RenderProps } from "@anywidget/types";
import agents from "./agents/index";
import { renderReview } from "./review/index";
import { renderTable } from "./table/index";
import { renderTrace } from "./trace/index";

// biome-ignore lint/suspicious/noExplicitAny: the views read their traits from the same model
function render(props: RenderProps<any>): () => void {
  const { model, el, experimental } = props;
  const view = model.get("_view");
  if (view === "agents") return agents.render(props);
  if (view === "review") return renderReview(el, model, experimental);
  return view === "table" ? renderTable(el, model, experimental) : renderTrace(el, model, experimental);
}

export default { render };
