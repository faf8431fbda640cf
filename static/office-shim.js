/*
 * Office.js stand-in for the demo and the browser tests: the subset of the Outlook API the task pane
 * (crates/taskpane/src/office.rs) and the function file (functions.js) use, over a simulated mailbox.
 *
 * Configuration, first found wins:
 *  1. the demo workbench that frames the pane: window.parent.crmWorkbench =
 *       { mailbox: {email, displayName}, item: <item description or null>, language, theme,
 *         onItemChanged(callback), customProperties(itemId) -> object }
 *  2. the page's query string: ?office=shim&mailbox=maija@example.fi&name=Maija&lang=fi-FI&theme=dark
 *       &item=<Graph id>&itemType=appointment|message&subject=...&start=<ISO>&end=<ISO>&imid=<internetMessageId>
 * Without a mailbox, Office.onReady reports host null, exactly as office.js does outside Office.
 * Item descriptions: { id, itemType: "appointment"|"message", subject, start, end, internetMessageId,
 * isNew (organizer form of an unsaved appointment) }.
 */
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var bench = null;
  try {
    bench = window.parent !== window ? window.parent.crmWorkbench || null : null;
  } catch (e) {
    bench = null;
  }

  var cfg = bench ? {
    email: bench.mailbox && bench.mailbox.email,
    name: bench.mailbox && bench.mailbox.displayName,
    lang: bench.language || "fi-FI",
    theme: bench.theme || "light",
    item: bench.item || null
  } : {
    email: params.get("mailbox"),
    name: params.get("name") || params.get("mailbox"),
    lang: params.get("lang") || navigator.language || "fi-FI",
    theme: params.get("theme") || "light",
    item: params.get("item") || params.get("itemType") ? {
      id: params.get("item") || null,
      itemType: params.get("itemType") || "appointment",
      subject: params.get("subject") || "",
      start: params.get("start"),
      end: params.get("end"),
      internetMessageId: params.get("imid"),
      isNew: !params.get("item")
    } : null
  };

  var Succeeded = "succeeded";
  var Failed = "failed";
  var storagePrefix = "crm-shim:" + (cfg.email || "none") + ":";

  function result(value) { return { status: Succeeded, value: value, error: null }; }
  function failure(msg) { return { status: Failed, value: null, error: { code: 9000, name: "ShimError", message: msg } }; }
  function later(cb, r) { if (typeof cb === "function") setTimeout(function () { cb(r); }, 0); }

  function customProps(itemId) {
    var key = storagePrefix + "props:" + (itemId || "new");
    var data = {};
    try { data = JSON.parse(localStorage.getItem(key) || "{}"); } catch (e) { data = {}; }
    return {
      get: function (n) { return data[n]; },
      set: function (n, v) { data[n] = v; },
      remove: function (n) { delete data[n]; },
      getAll: function () { return JSON.parse(JSON.stringify(data)); },
      saveAsync: function (cb) {
        localStorage.setItem(key, JSON.stringify(data));
        if (bench && bench.customPropertiesSaved) bench.customPropertiesSaved(itemId, data);
        later(cb, result());
      }
    };
  }

  var notices = {};
  function makeItem(d) {
    if (!d) return null;
    var item = {
      itemId: d.id || undefined,
      itemType: d.itemType === "message" ? "message" : "appointment",
      subject: d.subject || "",
      start: d.start ? new Date(d.start) : undefined,
      end: d.end ? new Date(d.end) : undefined,
      internetMessageId: d.internetMessageId || undefined,
      notificationMessages: {
        addAsync: function (key, details, cb) { notices[key] = details; render(); later(cb, result()); },
        replaceAsync: function (key, details, cb) { notices[key] = details; render(); later(cb, result()); },
        removeAsync: function (key, cb) { delete notices[key]; render(); later(cb, result()); },
        getAllAsync: function (cb) {
          later(cb, result(Object.keys(notices).map(function (k) { return Object.assign({ key: k }, notices[k]); })));
        }
      },
      loadCustomPropertiesAsync: function (cb) { later(cb, result(customProps(item.itemId))); },
      saveAsync: function (cb) {
        if (item.itemId) { later(cb, result(item.itemId)); return; }
        if (bench && bench.saveNewItem) {
          Promise.resolve(bench.saveNewItem(d)).then(function (id) {
            item.itemId = id;
            later(cb, id ? result(id) : failure("not saved"));
          });
          return;
        }
        later(cb, failure("The stand-in cannot save a new item without the workbench."));
      }
    };
    return item;
  }

  function render() {
    if (bench && bench.showNotices) bench.showNotices(notices);
  }

  var itemChangedHandlers = [];
  var mailbox = {
    userProfile: { emailAddress: cfg.email || "", displayName: cfg.name || "", timeZone: "Europe/Helsinki" },
    item: makeItem(cfg.item),
    diagnostics: { hostName: "OutlookWebApp", hostVersion: "shim", OWAView: "OneColumn" },
    convertToRestId: function (id) { return id; },
    convertToEwsId: function (id) { return id; },
    addHandlerAsync: function (type, handler, options, cb) {
      if (typeof options === "function") cb = options;
      if (type === "olkItemSelectedChanged") itemChangedHandlers.push(handler);
      later(cb, result());
    },
    removeHandlerAsync: function (type, options, cb) {
      if (typeof options === "function") cb = options;
      itemChangedHandlers = [];
      later(cb, result());
    }
  };

  var roaming = {};
  try { roaming = JSON.parse(localStorage.getItem(storagePrefix + "roaming") || "{}"); } catch (e) { roaming = {}; }
  var roamingSettings = {
    get: function (n) { return roaming[n]; },
    set: function (n, v) { roaming[n] = v; },
    remove: function (n) { delete roaming[n]; },
    saveAsync: function (cb) { localStorage.setItem(storagePrefix + "roaming", JSON.stringify(roaming)); later(cb, result()); }
  };

  var dark = cfg.theme === "dark";
  var actions = {};
  var host = cfg.email ? "Outlook" : null;

  window.Office = {
    __shim: true,
    HostType: { Outlook: "Outlook" },
    PlatformType: { OfficeOnline: "OfficeOnline" },
    AsyncResultStatus: { Succeeded: Succeeded, Failed: Failed },
    EventType: { ItemChanged: "olkItemSelectedChanged" },
    MailboxEnums: {
      RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
      ItemType: { Message: "message", Appointment: "appointment" },
      ItemNotificationMessageType: {
        ProgressIndicator: "progressIndicator",
        InformationalMessage: "informationalMessage",
        ErrorMessage: "errorMessage",
        InsightMessage: "insightMessage"
      }
    },
    context: {
      __shim: true,
      displayLanguage: cfg.lang,
      contentLanguage: cfg.lang,
      officeTheme: dark
        ? { bodyBackgroundColor: "#292929", bodyForegroundColor: "#ffffff", controlBackgroundColor: "#1f1f1f", controlForegroundColor: "#ffffff", themeId: "dark" }
        : { bodyBackgroundColor: "#ffffff", bodyForegroundColor: "#242424", controlBackgroundColor: "#ffffff", controlForegroundColor: "#242424", themeId: "light" },
      mailbox: host ? mailbox : undefined,
      roamingSettings: roamingSettings,
      requirements: { isSetSupported: function (name, v) { return name === "Mailbox" && parseFloat(v || "1") <= 1.13; } }
    },
    actions: {
      associate: function (name, fn) { actions[name] = fn; }
    },
    onReady: function (cb) {
      var info = { host: host, platform: host ? "OfficeOnline" : null };
      return new Promise(function (resolve) {
        setTimeout(function () {
          if (typeof cb === "function") cb(info);
          resolve(info);
        }, 0);
      });
    },
    /* Stand-in only: the workbench switches the open item (fires ItemChanged like Outlook's pinned pane). */
    __setItem: function (d) {
      notices = {};
      render();
      mailbox.item = makeItem(d);
      itemChangedHandlers.forEach(function (h) { try { h({ type: "olkItemSelectedChanged" }); } catch (e) { /* ignore */ } });
    },
    /* Stand-in only: run a function-file handler as Outlook would; resolves when it calls completed(). */
    __invoke: function (name) {
      return new Promise(function (resolve, reject) {
        var fn = actions[name];
        if (!fn) { reject(new Error("no handler " + name)); return; }
        fn({ completed: function (opts) { resolve(opts || {}); }, source: { id: name } });
      });
    },
    __actions: actions
  };
  window.OfficeRuntime = undefined;
  if (bench && bench.onItemChanged) bench.onItemChanged(function (d) { window.Office.__setItem(d); });
})();
