// Row selection over a list far larger than what is loaded: selected trace ids, an anchor row for shift-click.

export interface Click {
  row: number;
  id: string;
  shift: boolean;
  toggle: boolean; // ctrl or cmd
}

/**
 * The selection after a click: a plain click selects one row, ctrl/cmd toggles it, shift selects from the anchor
 * to this row (the ids of rows not loaded are unknown; `idAt` gives null for those and they are skipped).
 */
export function clickSelect(
  selected: readonly string[],
  anchor: number,
  click: Click,
  idAt: (row: number) => string | null,
): { selected: string[]; anchor: number } {
  if (click.shift && anchor >= 0) {
    const [lo, hi] = anchor <= click.row ? [anchor, click.row] : [click.row, anchor];
    const ids: string[] = [];
    for (let row = lo; row <= hi; row++) {
      const id = idAt(row);
      if (id !== null) ids.push(id);
    }
    return { selected: ids, anchor };
  }
  if (click.toggle) {
    const rest = selected.filter((id) => id !== click.id);
    return { selected: rest.length === selected.length ? [...selected, click.id] : rest, anchor: click.row };
  }
  return { selected: [click.id], anchor: click.row };
}

/** The pages (of `size` rows) that hold rows [first, last). */
export function pagesFor(first: number, last: number, size: number): number[] {
  const pages: number[] = [];
  for (let page = Math.floor(first / size); page * size < last; page++) pages.push(page);
  return pages;
}
