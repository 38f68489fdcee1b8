// Bulk data arrives as Arrow IPC stream bytes in binary traits; flechette decodes them without copying.
import { type Table, tableFromIPC } from "@uwdata/flechette";

export type { Table };

type Binary = DataView | ArrayBuffer | Uint8Array | null | undefined;

/** The Arrow table in `bytes`, or null when there are none. */
export function decodeArrow(bytes: Binary): Table | null {
  if (!bytes) return null;
  const view =
    bytes instanceof Uint8Array
      ? bytes
      : bytes instanceof ArrayBuffer
        ? new Uint8Array(bytes)
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.byteLength === 0) return null;
  return tableFromIPC(view, { useBigInt: false });
}

/** A column as an array (typed array for numbers), or throw naming the missing column. */
export function column<T = unknown>(table: Table, name: string): ArrayLike<T> {
  const child = table.getChild(name);
  if (!child) throw new Error(`llmlens: the data has no column ${name}`);
  return child.toArray() as ArrayLike<T>;
}
