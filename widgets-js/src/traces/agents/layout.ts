// Where the agent network's nodes and edges go: agents on an inner ring (busiest first), each tool on an outer
// ring beside the agent that calls it most; edges are curves, so a handoff and its reverse (a loop) both show.

export interface AgentNode {
  type: "agent" | "tool";
  node: string;
  runs: number;
  traces: number;
  mean_ms: number | null;
  failures: number;
}

export interface AgentEdge {
  kind: "handoff" | "tool_call";
  source: string;
  target: string;
  count: number;
  traces: number;
  mean_ms: number | null;
  failures: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Positions of the nodes in a box of `width` x `height`. */
export function layoutNodes(nodes: AgentNode[], edges: AgentEdge[], width: number, height: number): Map<string, Point> {
  const centre = { x: width / 2, y: height / 2 };
  const agents = nodes.filter((n) => n.type === "agent").sort((a, b) => b.runs - a.runs || (a.node < b.node ? -1 : 1));
  const tools = nodes.filter((n) => n.type === "tool");
  const inner = Math.min(width, height) * (tools.length ? 0.22 : 0.34);
  const outer = Math.min(width, height) * 0.42;
  const at = new Map<string, Point>();
  const angleOf = new Map<string, number>();
  agents.forEach((agent, i) => {
    const angle = agents.length === 1 ? -Math.PI / 2 : -Math.PI / 2 + (2 * Math.PI * i) / agents.length;
    angleOf.set(agent.node, angle);
    const radius = agents.length === 1 ? 0 : inner;
    at.set(agent.node, { x: centre.x + radius * Math.cos(angle), y: centre.y + radius * Math.sin(angle) });
  });
  // each tool near its busiest caller, tools sharing a caller fanned out
  const caller = new Map<string, string>();
  const calls = new Map<string, number>();
  for (const edge of edges) {
    if (edge.kind !== "tool_call") continue;
    if ((calls.get(edge.target) ?? -1) < edge.count) {
      calls.set(edge.target, edge.count);
      caller.set(edge.target, edge.source);
    }
  }
  const ordered = [...tools].sort((a, b) => {
    const angleA = angleOf.get(caller.get(a.node) ?? "") ?? 0;
    const angleB = angleOf.get(caller.get(b.node) ?? "") ?? 0;
    return angleA - angleB || (a.node < b.node ? -1 : 1);
  });
  ordered.forEach((tool, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * (i + 0.5)) / Math.max(1, ordered.length);
    at.set(tool.node, { x: centre.x + outer * Math.cos(angle), y: centre.y + outer * Math.sin(angle) });
  });
  return at;
}

/**
 * An SVG path from `a` to `b` bending to the left of the direction of travel (so A→B and B→A bend apart), stopping
 * `gap` short of each end for the node's circle; a self-loop is a small circle above the node.
 */
export function edgePath(a: Point, b: Point, gap: number, bend = 0.18): { d: string; mid: Point } {
  if (a.x === b.x && a.y === b.y) {
    const r = gap * 0.9;
    return {
      d: `M ${a.x - r * 0.6} ${a.y - gap} a ${r} ${r} 0 1 1 ${r * 1.2} 0`,
      mid: { x: a.x, y: a.y - gap - 2 * r },
    };
  }
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy);
  const ux = dx / length;
  const uy = dy / length;
  const control = { x: (a.x + b.x) / 2 + uy * length * bend, y: (a.y + b.y) / 2 - ux * length * bend };
  const start = towards(a, control, gap);
  const end = towards(b, control, gap);
  const mid = {
    x: 0.25 * start.x + 0.5 * control.x + 0.25 * end.x,
    y: 0.25 * start.y + 0.5 * control.y + 0.25 * end.y,
  };
  return {
    d: `M ${fmt(start.x)} ${fmt(start.y)} Q ${fmt(control.x)} ${fmt(control.y)} ${fmt(end.x)} ${fmt(end.y)}`,
    mid,
  };
}

function towards(from: Point, to: Point, distance: number): Point {
  const length = Math.hypot(to.x - from.x, to.y - from.y) || 1;
  return { x: from.x + ((to.x - from.x) / length) * distance, y: from.y + ((to.y - from.y) / length) * distance };
}

const fmt = (v: number) => v.toFixed(1);

/** Stroke width for an edge carrying `count` of at most `most`. */
export function edgeWidth(count: number, most: number): number {
  return 1 + 5 * Math.sqrt(count / Math.max(1, most));
}

/** Node radius for `runs` of at most `most`. */
export function nodeRadius(runs: number, most: number): number {
  return 10 + 14 * Math.sqrt(runs / Math.max(1, most));
}

/** "170× · 2.2 s · 3 failed" */
export function edgeLabel(edge: AgentEdge): string {
  const parts = [`${edge.count}×`];
  if (edge.mean_ms !== null && Number.isFinite(edge.mean_ms))
    parts.push(edge.mean_ms < 1000 ? `${Math.round(edge.mean_ms)} ms` : `${(edge.mean_ms / 1000).toFixed(1)} s`);
  if (edge.failures) parts.push(`${edge.failures} failed`);
  return parts.join(" · ");
}
