// Windowed rendering of long content: items are grouped in blocks; a block is built when it comes near the
// viewport and replaced by a placeholder of its measured height when it goes far away, so 100,000 items cost
// only the blocks on screen. Lists of fixed-height rows (the trace table, the span tree) recycle a few row
// elements instead, placed by the arithmetic below.

/** [start, end) ranges of `count` items in blocks of `size`. */
export function blockRanges(count: number, size: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < count; start += size) ranges.push([start, Math.min(count, start + size)]);
  return ranges;
}

export interface LazyBlocks {
  /** Rebuild the blocks that are built (after a change of colouring, say). */
  refresh(): void;
  /** Build the block holding `item` and scroll it into view. */
  reveal(item: number): HTMLElement | null;
  destroy(): void;
}

export function lazyBlocks(
  container: HTMLElement,
  count: number,
  size: number,
  build: (start: number, end: number) => HTMLElement,
  estimatedHeight: number,
): LazyBlocks {
  const ranges = blockRanges(count, size);
  const slots = ranges.map(() => {
    const slot = document.createElement("div");
    slot.className = "ll-block";
    slot.style.minHeight = `${estimatedHeight}px`;
    container.appendChild(slot);
    return slot;
  });
  const built = new Set<number>();
  const fill = (index: number) => {
    const slot = slots[index];
    const range = ranges[index];
    if (!slot || !range) return;
    slot.replaceChildren(build(range[0], range[1]));
    slot.style.minHeight = "";
    built.add(index);
  };
  const empty = (index: number) => {
    const slot = slots[index];
    if (!slot) return;
    slot.style.minHeight = `${slot.offsetHeight}px`;
    slot.replaceChildren();
    built.delete(index);
  };
  const near = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const index = slots.indexOf(entry.target as HTMLDivElement);
        if (entry.isIntersecting && !built.has(index)) fill(index);
        else if (!entry.isIntersecting && built.has(index) && built.size > 8) empty(index);
      }
    },
    { rootMargin: "1200px 0px" },
  );
  for (const slot of slots) near.observe(slot);
  if (slots.length) fill(0); // the first tokens paint at once, before any observer fires
  return {
    refresh() {
      for (const index of [...built]) fill(index);
    },
    reveal(item) {
      const index = Math.floor(item / size);
      if (!built.has(index)) fill(index);
      const slot = slots[index];
      slot?.scrollIntoView({ block: "nearest" });
      return slot ?? null;
    },
    destroy() {
      near.disconnect();
    },
  };
}

/** Positions [first, last) of the shown rows in a viewport `height` px tall scrolled to `top`, with `overscan` more
 * either side. */
export function rowWindow(
  top: number,
  height: number,
  rowHeight: number,
  count: number,
  overscan = 6,
): [number, number] {
  if (count <= 0 || rowHeight <= 0) return [0, 0];
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + Math.max(0, height)) / rowHeight) + overscan);
  return [Math.min(first, last), last];
}

/**
 * How much one pixel of scrolling moves through the rows: 1, unless the rows are taller than `cap` px (browsers
 * cap element heights), when the spacer is `cap` tall and the scroll position is scaled to reach every row.
 */
export function scrollScale(full: number, cap: number, view: number): number {
  const spacer = Math.min(full, cap);
  return spacer > view && full > spacer ? (full - view) / (spacer - view) : 1;
}

/** The scroll position that brings the row at `position` into view (or `top` when it already is). */
export function scrollToShow(position: number, rowHeight: number, top: number, view: number): number {
  const y = position * rowHeight;
  if (y < top) return y;
  if (y + rowHeight > top + view) return Math.max(0, y + rowHeight - view);
  return top;
}
