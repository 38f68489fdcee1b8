// The review queue's pure logic: progress, moving through the items, which tags the number keys pick.

/** One item of the queue with what this reviewer made of it (the `_items` trait). */
export interface ReviewItem {
  trace_id: string;
  reason: string | null;
  verdict: string | null;
  tags: string[];
  note: string | null;
}

/** How many items have a verdict, of how many. */
export function progress(items: ReviewItem[]): { judged: number; total: number } {
  return {
    judged: items.filter((item) => item.verdict !== null && item.verdict !== undefined).length,
    total: items.length,
  };
}

/** "12 / 40 judged", or "all 40 judged". */
export function progressText(items: ReviewItem[]): string {
  const { judged, total } = progress(items);
  return judged === total && total > 0 ? `all ${total} judged` : `${judged} / ${total} judged`;
}

/** The position `by` items from `position`, kept within the queue. */
export function step(position: number, by: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(total - 1, Math.max(0, position + by));
}

/** A tag chip: the tag, its number key (1-9: the taxonomy's first nine), whether the item has it. */
export interface TagChip {
  tag: string;
  key: string | null;
  on: boolean;
}

/** The chips to show for `item`: the first nine tags of the taxonomy (with their keys), then the item's other tags. */
export function tagChips(taxonomy: string[], item: ReviewItem | undefined): TagChip[] {
  const on = new Set(item?.tags ?? []);
  const keyed = taxonomy.slice(0, 9);
  const chips: TagChip[] = keyed.map((tag, i) => ({ tag, key: String(i + 1), on: on.has(tag) }));
  for (const tag of item?.tags ?? []) if (!keyed.includes(tag)) chips.push({ tag, key: null, on: true });
  return chips;
}

/** The tag number key `key` ("1"-"9") picks, if any. */
export function tagForKey(taxonomy: string[], key: string): string | null {
  const index = Number(key) - 1;
  return Number.isInteger(index) && index >= 0 && index < 9 ? (taxonomy[index] ?? null) : null;
}

/** What pressing a tag does to `item`: put it on, or take it off. */
export function tagAction(item: ReviewItem | undefined, tag: string): "tag" | "untag" {
  return item?.tags.includes(tag) ? "untag" : "tag";
}
