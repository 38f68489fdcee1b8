// Keyboard handling: single keys on the focused widget, ignored while typing in a field.

export type KeyMap = Record<string, (event: KeyboardEvent) => void>;

/**
 * Call `keys[event.key]` for keydowns on `el`; returns a function that unbinds. While focus is inside `el`, the
 * host's own shortcuts stay quiet: Lumino (JupyterLab, Notebook 7) skips elements marked
 * data-lm-suppress-shortcuts, and Notebook 7 listens in the capture phase, before any stopPropagation here.
 */
export function bindKeys(el: HTMLElement, keys: KeyMap): () => void {
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const onKey = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    event.stopPropagation(); // keep Jupyter's own shortcuts from firing
    action(event);
  };
  el.addEventListener("keydown", onKey);
  return () => el.removeEventListener("keydown", onKey);
}
