// Starts the task pane: the wasm-bindgen output built by `cargo xtask` into pkg/
// (wasm-bindgen --target web --out-name taskpane). A file, not an inline script, so a strict
// Content-Security-Policy (script-src 'self') can be used.
import init from "./pkg/taskpane.js";

init({ module_or_path: new URL("./pkg/taskpane_bg.wasm", import.meta.url) }).catch((e) => {
  const p = document.getElementById("boot-error");
  if (p) p.hidden = false;
  console.error(e);
});
