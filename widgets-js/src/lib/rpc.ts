// On-demand data from the kernel: anywidget's experimental.invoke, answered by an @command method of the widget
// (with an Arrow IPC buffer for fetchTable). Without a kernel (an exported page) the call fails and the caller gets
// null; invokeWithin gives up after a timeout.
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

/** The kernel's answer to command `name`, rejected (and the call aborted) when none comes within `ms`. */
export async function invokeWithin<T>(
  experimental: Experimental,
  name: string,
  msg: unknown,
  ms: number,
): Promise<[T, DataView[]]> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`${name}: no answer from the kernel`));
    }, ms);
  });
  try {
    return await Promise.race([experimental.invoke<T>(name, msg, { signal: abort.signal }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
