// The agent network: agents and their tools as nodes, handoffs and tool calls as edges with counts, latency and
// failures; a loop between agents shows as two edges bending apart. Drawn as SVG (a network has tens of nodes).
import type { RenderProps } from "@anywidget/types";
import { h } from "../../lib/dom";
import { applyTheme } from "../../lib/theme";
import { type AgentEdge, type AgentNode, edgeLabel, edgePath, edgeWidth, layoutNodes, nodeRadius } from "./layout";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 460;

const CSS = `
.ll-agents { padding: 4px 2px; }
.ll-agents svg { display: block; max-width: 100%; height: auto; }
.ll-agents .ll-node circle { stroke: var(--ll-bg); stroke-width: 2; }
.ll-agents .ll-node.ll-agent circle { fill: #1976d2; }
.ll-agents .ll-node.ll-tool circle { fill: #8e8e8e; }
.ll-agents .ll-node.ll-failing circle { stroke: #d62728; stroke-width: 3; }
.ll-agents text { fill: var(--ll-fg); font: 12px var(--ll-font); paint-order: stroke; stroke: var(--ll-bg);
  stroke-width: 3px; }
.ll-agents .ll-edge path { fill: none; stroke: #1976d2; opacity: 0.7; }
.ll-agents .ll-edge.ll-tool_call path { stroke: #8e8e8e; stroke-dasharray: 4 3; }
.ll-agents .ll-edge.ll-failing path { stroke: #d62728; }
.ll-agents .ll-edge.ll-cycle path { stroke: #ef6c00; opacity: 0.9; }
.ll-agents .ll-edge text { font-size: 11px; }
.ll-agents .ll-caption { color: var(--ll-muted); }
`;

// biome-ignore lint/suspicious/noExplicitAny: traits of the AgentGraph widget
function render({ model, el }: RenderProps<any>): () => void {
  const root = h("div", { class: "llmlens ll-agents" });
  applyTheme(root, CSS);
  el.appendChild(root);
  const draw = () => {
    root.replaceChildren(root.firstChild as Node); // keep the style element
    const nodes: AgentNode[] = model.get("nodes") ?? [];
    const edges: AgentEdge[] = model.get("edges") ?? [];
    const cycles: string[][] = model.get("cycles") ?? [];
    root.appendChild(
      h("div", { class: "ll-caption" }, model.get("title") || "agent network", caption(nodes, edges, cycles)),
    );
    if (!nodes.length) {
      root.appendChild(h("div", { class: "ll-note" }, "no agents in these traces"));
      root.dataset.state = "ready";
      return;
    }
    const at = layoutNodes(nodes, edges, WIDTH, HEIGHT);
    const most = Math.max(...nodes.map((n) => n.runs));
    const busiest = Math.max(...edges.map((e) => e.count), 1);
    const inCycle = new Set(
      cycles.flatMap((cycle) => cycle.map((node, i) => `${node}→${cycle[(i + 1) % cycle.length]}`)),
    );
    const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: String(WIDTH), height: String(HEIGHT) });
    const defs = svgElement("defs", {});
    for (const [id, colour] of [
      ["ll-arrow", "#1976d2"],
      ["ll-arrow-tool", "#8e8e8e"],
      ["ll-arrow-bad", "#d62728"],
      ["ll-arrow-cycle", "#ef6c00"],
    ]) {
      const marker = svgElement("marker", {
        id: id as string,
        viewBox: "0 0 10 10",
        refX: "9",
        refY: "5",
        markerWidth: "7",
        markerHeight: "7",
        orient: "auto-start-reverse",
      });
      marker.appendChild(svgElement("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: colour as string }));
      defs.appendChild(marker);
    }
    svg.appendChild(defs);
    const radius = new Map(nodes.map((n) => [n.node, nodeRadius(n.runs, most)]));
    for (const edge of edges) {
      const a = at.get(edge.source);
      const b = at.get(edge.target);
      if (!a || !b) continue;
      const cycle = edge.kind === "handoff" && inCycle.has(`${edge.source}→${edge.target}`);
      const { d, mid } = edgePath(a, b, (radius.get(edge.target) ?? 12) + 3);
      const group = svgElement("g", {
        class: `ll-edge ll-${edge.kind}${edge.failures ? " ll-failing" : ""}${cycle ? " ll-cycle" : ""}`,
        "data-source": edge.source,
        "data-target": edge.target,
      });
      const marker = edge.failures
        ? "ll-arrow-bad"
        : cycle
          ? "ll-arrow-cycle"
          : edge.kind === "tool_call"
            ? "ll-arrow-tool"
            : "ll-arrow";
      group.appendChild(
        svgElement("path", {
          d,
          "stroke-width": edgeWidth(edge.count, busiest).toFixed(1),
          "marker-end": `url(#${marker})`,
        }),
      );
      const label = svgElement("text", { x: mid.x.toFixed(1), y: mid.y.toFixed(1), "text-anchor": "middle" });
      label.textContent = edgeLabel(edge);
      group.appendChild(label);
      const title = svgElement("title", {});
      title.textContent = `${edge.kind === "handoff" ? "handoff" : "tool call"} ${edge.source} → ${edge.target}: ${edgeLabel(edge)} in ${edge.traces} traces`;
      group.appendChild(title);
      svg.appendChild(group);
    }
    for (const node of nodes) {
      const p = at.get(node.node);
      if (!p) continue;
      const group = svgElement("g", {
        class: `ll-node ll-${node.type}${node.failures ? " ll-failing" : ""}`,
        "data-node": node.node,
      });
      group.appendChild(
        svgElement("circle", { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: (radius.get(node.node) ?? 12).toFixed(1) }),
      );
      const label = svgElement("text", {
        x: p.x.toFixed(1),
        y: (p.y + (radius.get(node.node) ?? 12) + 14).toFixed(1),
        "text-anchor": "middle",
      });
      label.textContent = node.type === "tool" ? node.node.replace(/^tool:/, "") : node.node;
      group.appendChild(label);
      const title = svgElement("title", {});
      const mean = node.mean_ms === null ? "" : ` · mean ${Math.round(node.mean_ms)} ms`;
      title.textContent = `${node.node}: ${node.runs} runs in ${node.traces} traces${mean}${node.failures ? ` · ${node.failures} failed` : ""}`;
      group.appendChild(title);
      svg.appendChild(group);
    }
    root.appendChild(svg);
    root.dataset.state = "ready";
  };
  draw();
  model.on("change:edges", draw);
  return () => model.off("change:edges", draw);
}

function caption(nodes: AgentNode[], edges: AgentEdge[], cycles: string[][]): string {
  const agents = nodes.filter((n) => n.type === "agent").length;
  const handoffs = edges.filter((e) => e.kind === "handoff").reduce((sum, e) => sum + e.count, 0);
  const loops = cycles.length ? ` · loops: ${cycles.map((c) => [...c, c[0]].join(" → ")).join("; ")}` : "";
  return ` · ${agents} agents, ${handoffs} handoffs${loops}`;
}

function svgElement(tag: string, attrs: Record<string, string>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

export default { render };
