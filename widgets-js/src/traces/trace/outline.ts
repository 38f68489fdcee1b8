// The span tree as an outline over rows in tree order: which rows show under the collapsed ones (a collapsed row
// skips to its `end`), where a row sits among them, keyboard moves, and which rows a scroll position shows.
// Pure functions over typed arrays, unit-tested.

/**
 * The rows shown, ascending: every row not inside the subtree of a collapsed row. A collapsed row i is shown and
 * its descendants [i + 1, end[i]) are skipped, so the cost is the number of rows shown, not the trace's size.
 * `out`, when long enough, is reused.
 */
export function visibleRows(end: Int32Array, collapsed: Uint8Array, out?: Int32Array): Int32Array {
  const n = end.length;
  const rows = out && out.length >= n ? out : new Int32Array(n);
  let k = 0;
  let i = 0;
  while (i < n) {
    rows[k++] = i;
    const skip = end[i] as number;
    i = collapsed[i] && skip > i + 1 ? skip : i + 1;
  }
  return rows.subarray(0, k);
}

/** Position of `row` among the shown rows, or -1 when it is hidden. */
export function positionOf(visible: Int32Array, row: number): number {
  const at = floorPosition(visible, row);
  return at >= 0 && visible[at] === row ? at : -1;
}

/** Position of the last shown row at or before `row` (for a hidden row: its collapsed ancestor); -1 if none. */
export function floorPosition(visible: Int32Array, row: number): number {
  let lo = 0;
  let hi = visible.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((visible[mid] as number) <= row) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export function hasChildren(end: Int32Array, row: number): boolean {
  return (end[row] ?? 0) > row + 1;
}

/** The ancestors of `row`, nearest first (bounded, so a malformed parent column cannot loop). */
export function ancestors(parent: Int32Array, row: number): number[] {
  const out: number[] = [];
  let p = parent[row] ?? -1;
  while (p >= 0 && out.length < parent.length) {
    out.push(p);
    p = parent[p] ?? -1;
  }
  return out;
}

/** Expand the collapsed ancestors of `row` so it shows; true when any was collapsed. */
export function expandTo(parent: Int32Array, collapsed: Uint8Array, row: number): boolean {
  let changed = false;
  for (const a of ancestors(parent, row)) {
    if (collapsed[a]) {
      collapsed[a] = 0;
      changed = true;
    }
  }
  return changed;
}

/** Collapse every row that has children (only the roots then show). */
export function collapseAll(end: Int32Array, collapsed: Uint8Array): void {
  for (let i = 0; i < end.length; i++) collapsed[i] = hasChildren(end, i) ? 1 : 0;
}

/** Collapse the rows at `depth` and below that have children, expand the ones above. */
export function collapseBelow(end: Int32Array, depths: Int32Array, collapsed: Uint8Array, depth: number): void {
  for (let i = 0; i < end.length; i++) collapsed[i] = (depths[i] ?? 0) >= depth && hasChildren(end, i) ? 1 : 0;
}

/** What a key does in the tree: select another row, or collapse / expand one. */
export interface Move {
  select?: number;
  collapse?: number;
  expand?: number;
}

export interface Outline {
  visible: Int32Array;
  end: Int32Array;
  parent: Int32Array;
  collapsed: Uint8Array;
}

/**
 * The move for `key` from the selected row `current` (-1 for none): ArrowUp/ArrowDown/PageUp/PageDown/Home/End move
 * over the shown rows; ArrowRight expands, or steps to the first child; ArrowLeft collapses, or steps to the
 * parent. `page` is the number of rows a page holds.
 */
export function navigate(key: string, current: number, tree: Outline, page: number): Move {
  const { visible, end, parent, collapsed } = tree;
  const count = visible.length;
  if (!count) return {};
  const clamp = (p: number) => visible[Math.max(0, Math.min(count - 1, p))] as number;
  if (current < 0) return key === "End" ? { select: clamp(count - 1) } : { select: clamp(0) };
  const at = floorPosition(visible, current);
  const shown = visible[at] === current;
  switch (key) {
    case "ArrowDown":
      return { select: clamp(at + 1) };
    case "ArrowUp":
      return { select: clamp(shown ? at - 1 : at) };
    case "PageDown":
      return { select: clamp(at + Math.max(1, page)) };
    case "PageUp":
      return { select: clamp(at - Math.max(1, page)) };
    case "Home":
      return { select: clamp(0) };
    case "End":
      return { select: clamp(count - 1) };
    case "ArrowRight":
      if (!hasChildren(end, current)) return {};
      return collapsed[current] ? { expand: current } : { select: current + 1 };
    case "ArrowLeft": {
      if (hasChildren(end, current) && !collapsed[current]) return { collapse: current };
      const up = parent[current] ?? -1;
      return up >= 0 ? { select: up } : {};
    }
    default:
      return {};
  }
}

/** The next row after `current` (wrapping) whose flag is set, or -1 when none is. */
export function nextFlagged(flags: Uint8Array, current: number, backward = false): number {
  const n = flags.length;
  for (let step = 1; step <= n; step++) {
    const i = (((current + (backward ? -step : step)) % n) + n) % n;
    if (flags[i]) return i;
  }
  return -1;
}
