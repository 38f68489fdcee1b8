export const TOKENS_CSS = `
.ll-tokens { padding: 6px 2px; }
.ll-tokens .ll-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; margin-bottom: 6px; }
.ll-tokens .ll-modes { display: inline-flex; gap: 4px; }
.ll-tokens details.ll-conversation { margin: 4px 0 8px; }
.ll-tokens .ll-msg { display: grid; grid-template-columns: 80px 1fr; gap: 8px; padding: 2px 0;
  border-top: 1px solid var(--ll-border); }
.ll-tokens .ll-role { color: var(--ll-muted); font-size: 12px; }
.ll-tokens .ll-content { white-space: pre-wrap; overflow-wrap: anywhere; }
.ll-tokens .ll-section { color: var(--ll-muted); font-size: 12px; margin: 6px 0 2px; }
.ll-tokens .ll-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 10px; }
.ll-tokens .ll-col { min-width: 0; }
.ll-tokens .ll-stats { color: var(--ll-muted); font-size: 12px; margin-bottom: 2px; }
.ll-tokens .ll-body { font-family: var(--ll-mono); white-space: pre-wrap; overflow-wrap: anywhere;
  max-height: 420px; overflow-y: auto; border: 1px solid var(--ll-border); border-radius: 4px; padding: 6px; }
.ll-tokens .ll-tok { border-radius: 2px; box-shadow: inset -1px 0 0 var(--ll-border); cursor: pointer; }
.ll-tokens .ll-tok.ll-ws { color: var(--ll-muted); }
.ll-tokens .ll-tok.ll-cont { color: var(--ll-muted); font-size: 10px; vertical-align: super; }
.ll-tokens .ll-tok.ll-lossy { text-decoration: underline wavy var(--ll-muted); }
.ll-tokens .ll-tok.ll-selected { outline: 2px solid var(--ll-accent); }
.ll-tokens .ll-tok.ll-changed { text-decoration: underline 2px var(--ll-accent); text-underline-offset: 3px; }
.ll-tokens .ll-tok.ll-diverge { box-shadow: inset 3px 0 0 var(--ll-accent); }
.ll-tokens .ll-diff-summary { margin: 2px 0 6px; }
.ll-tokens .ll-diverge-note { color: var(--ll-accent); margin-bottom: 2px; }
.ll-tokens .ll-detail { margin-top: 6px; min-height: 2.5em; font-size: 12px; }
.ll-tokens .ll-alts { border-collapse: collapse; }
.ll-tokens .ll-alts td { padding: 1px 8px 1px 0; }
.ll-tokens .ll-alts .ll-alt-token { font-family: var(--ll-mono); white-space: pre; }
.ll-tokens .ll-alts tr.ll-chosen td { font-weight: 600; }
.ll-tokens .ll-bar { height: 8px; background: var(--ll-accent); border-radius: 2px; min-width: 1px; }
.ll-tokens .ll-plain { white-space: pre-wrap; border: 1px dashed var(--ll-border); padding: 6px; border-radius: 4px; }
`;
