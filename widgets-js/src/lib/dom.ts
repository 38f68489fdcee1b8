// Safe element building: data text only ever becomes text nodes (textContent), never HTML.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  attrs?: Record<string, string>;
}

const UNSAFE_ATTRIBUTE = /^(on|href$|src$|srcdoc$|action$|formaction$|style$)/i;

/** An element with the given classes, title and children; strings become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.title) el.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (UNSAFE_ATTRIBUTE.test(name)) throw new Error(`llmlens: refusing to set attribute ${name}`);
    el.setAttribute(name, value);
  }
  append(el, ...children);
  return el;
}

/** Append children; strings are added as text, never parsed. */
export function append(el: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Remove every child of `el`. */
export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}
