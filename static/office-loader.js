/*
 * Loads Office.js for the task pane and the function file, then resolves window.crmOfficeLoaded.
 *
 *  - Inside Outlook: Microsoft's hosted office.js (the only supported way to get it).
 *  - In the demo workbench (the page is framed by /workbench/) or with ?office=shim: office-shim.js,
 *    the Office.js stand-in that serves a simulated mailbox.
 *  - ?office=none, or office.js cannot be fetched (offline, blocked): nothing; the pane runs in
 *    browser-preview mode (Office.onReady would report host null there anyway).
 * Plain ES2016 so that every Outlook runtime can run it.
 */
(function () {
  "use strict";
  var OFFICE_JS = window.CRM_OFFICE_JS || "https://appsforoffice.microsoft.com/lib/1/hosted/office.js";
  var params = new URLSearchParams(location.search);
  var mode = params.get("office");
  var framedByWorkbench = false;
  try {
    framedByWorkbench = window.parent !== window && !!window.parent.crmWorkbench;
  } catch (e) {
    framedByWorkbench = false; // cross-origin parent: a real Outlook on the web frame
  }
  if (!mode) mode = framedByWorkbench ? "shim" : "office";

  function load(src, timeoutMs) {
    return new Promise(function (resolve) {
      var s = document.createElement("script");
      var done = false;
      var timer = setTimeout(function () { finish(false); }, timeoutMs);
      function finish(ok) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(ok);
      }
      s.src = src;
      s.onload = function () { finish(true); };
      s.onerror = function () { finish(false); };
      document.head.appendChild(s);
    });
  }

  var base = (document.currentScript && document.currentScript.src) || location.href;
  var shimUrl = new URL("office-shim.js", base).href;

  window.crmOfficeMode = mode;
  window.crmOfficeLoaded =
    mode === "shim" ? load(shimUrl, 10000) :
    mode === "none" ? Promise.resolve(false) :
    load(OFFICE_JS, 8000).then(function (ok) {
      if (!ok) window.crmOfficeMode = "none";
      return ok;
    });
})();
