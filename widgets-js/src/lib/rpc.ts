// On-demand data from the kernel: anywidget's experimental.invoke, answered by an @command method of the widget
// with an Arrow IPC buffer. Without a kernel (an exported page) the call fails and the caller gets null.
import type { Experimental } from "@anywidget/types";
import { decodeArrow, type Table } from "./arrow";

/** The Arrow table the kernel's command `name` returns, or null when there is no kernel to ask. */
export async function fetchTable(experimental: Experimental | undefined, name: string, msg: unknown = {}) {
  if (!experimental) return null;
  try {
    const [, buffers] = await experimental.invoke<unknown>(name, msg);
    return decodeArrow(buffers[0]) as Table | null;
  } catch {
    return null;
  }
}
