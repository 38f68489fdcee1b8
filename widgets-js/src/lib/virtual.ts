// Windowed rendering of long content: items are grouped in blocks; a block is built when it comes near the
// viewport and replaced by a placeholder of its measured height when it goes far away, so 100,000 items cost
// only the blocks on screen.

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
