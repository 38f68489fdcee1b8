// Per-point state, one byte a row, uploaded to the GPU as it changes: only the span of rows that changed.

export const SELECTED = 1;
export const MATCH = 2;
/** Scratch bit of moveFlag, never left set. */
const HAD = 0x80;

/** The span [from, to) of rows that changed; empty when from >= to. */
export type Span = [number, number];

/** Move `flag` from the rows `before` to the rows `after`; returns the span of rows whose byte changed (rows in
 * both keep their byte and do not count). */
export function moveFlag(state: Uint8Array, flag: number, before: ArrayLike<number>, after: ArrayLike<number>): Span {
  let from = state.length;
  let to = 0;
  const changed = (row: number) => {
    if (row < from) from = row;
    if (row + 1 > to) to = row + 1;
  };
  for (let i = 0; i < before.length; i++) {
    const row = before[i] as number;
    const old = state[row];
    if (old !== undefined && old & flag) state[row] = (old & ~flag) | HAD;
  }
  for (let i = 0; i < after.length; i++) {
    const row = after[i] as number;
    const old = state[row];
    if (old === undefined) continue;
    if (old & HAD) state[row] = (old & ~HAD) | flag;
    else if (!(old & flag)) {
      state[row] = old | flag;
      changed(row);
    }
  }
  for (let i = 0; i < before.length; i++) {
    const row = before[i] as number;
    const old = state[row];
    if (old !== undefined && old & HAD) {
      state[row] = old & ~HAD;
      changed(row);
    }
  }
  return from < to ? [from, to] : [0, 0];
}
