/*
 * CRM-service for Outlook: function file (plain ES2016, no modules, no async/await: classic Outlook on
 * Windows runs it in a bare JavaScript runtime, and launch-event handlers cannot be WASM).
 *
 *  - onNewAppointmentOrganizer (LaunchEvent): logs in with the remembered credential when
 *    "Kirjaudu CRM:ään Outlookin käynnistyessä" and "Muista kirjautumistiedot" are both on, and applies
 *    "Oletusaktiviteettityyppi" to the new appointment (stored as the item's custom property
 *    `crmActivityType`, shown as an informational notice on the item).
 *  - syncNow, logOut (ExecuteFunction): the menu's "Synkronoi nyt" and "Kirjaudu ulos".
 *
 * Talks to the same server as the task pane (api_types::routes). Every handler calls event.completed()
 * on every path, or Outlook shows the command as still running.
 */
(function () {
  "use strict";

  // The server that served this file. The JavaScript-only runtime has no location: then the origin the
  // server substitutes for the placeholder when it serves this file (api_types::manifest::render).
  var BASE = (typeof location !== "undefined" && location.origin && location.origin !== "null")
    ? location.origin : "https://localhost:8080";

  var TEXT = {
    fi: {
      syncStarted: "Synkronointi aloitettu.",
      syncQueued: "Synkronointi on jo käynnissä.",
      loggedOut: "Kirjauduttu ulos CRM:stä.",
      typeApplied: "CRM-aktiviteettityyppi: ",
      noType: "Oletusaktiviteettityyppiä ei ole asetettu: valitse tyyppi Liitä CRM:ään -näkymästä, jotta merkintä synkronoidaan.",
      failed: "CRM-service: "
    },
    en: {
      syncStarted: "Synchronisation started.",
      syncQueued: "A synchronisation is already running.",
      loggedOut: "Logged out of the CRM.",
      typeApplied: "CRM activity type: ",
      noType: "No default activity type is set: choose a type in Link to CRM so that this entry is synced.",
      failed: "CRM-service: "
    }
  };

  function lang() {
    try {
      var tag = Office.context.displayLanguage || "en";
      return tag.toLowerCase().indexOf("fi") === 0 ? "fi" : "en";
    } catch (e) {
      return "en";
    }
  }

  function t(key) {
    return TEXT[lang()][key];
  }

  var session = null; // { token, expires_at }

  function request(method, path, body, token) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    return fetch(BASE + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit"
    }).then(function (res) {
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!res.ok) {
          var err = new Error((json && json.message) || ("HTTP " + res.status));
          err.code = (json && json.code) || "http_" + res.status;
          throw err;
        }
        return json;
      });
    });
  }

  /* The Office identity token: SSO when Office offers it, else (demo, the Office stand-in) the demo
     server's token for the mailbox's address. */
  function identityToken() {
    if (typeof OfficeRuntime !== "undefined" && OfficeRuntime.auth && OfficeRuntime.auth.getAccessToken
        && !(Office.context && Office.context.__shim)) {
      return OfficeRuntime.auth.getAccessToken({ allowSignInPrompt: false, allowConsentPrompt: false });
    }
    var email = Office.context.mailbox.userProfile.emailAddress;
    return request("GET", "/demo/identity-token?email=" + encodeURIComponent(email)).then(function (r) {
      return r.identity_token;
    });
  }

  function ensureSession() {
    if (session && Date.parse(session.expires_at) - Date.now() > 60000) {
      return Promise.resolve(session.token);
    }
    return identityToken().then(function (idt) {
      return request("POST", "/api/session", { identity_token: idt });
    }).then(function (s) {
      session = s;
      return s.token;
    });
  }

  function api(method, path, body) {
    return ensureSession().then(function (token) {
      return request(method, path, body, token);
    });
  }

  function notify(item, key, message, type) {
    return new Promise(function (resolve) {
      if (!item || !item.notificationMessages) { resolve(); return; }
      var details = {
        type: type || Office.MailboxEnums.ItemNotificationMessageType.InformationalMessage,
        message: message.slice(0, 150)
      };
      if (details.type === Office.MailboxEnums.ItemNotificationMessageType.InformationalMessage) {
        details.icon = "Icon.16";
        details.persistent = false;
      }
      item.notificationMessages.replaceAsync(key, details, function () { resolve(); });
    });
  }

  function notifyError(item, err) {
    return notify(item, "crmError", t("failed") + (err && err.message ? err.message : String(err)),
      Office.MailboxEnums.ItemNotificationMessageType.ErrorMessage);
  }

  function setCustomProperty(item, name, value) {
    return new Promise(function (resolve, reject) {
      if (!item || !item.loadCustomPropertiesAsync) { resolve(false); return; }
      item.loadCustomPropertiesAsync(function (res) {
        if (res.status !== Office.AsyncResultStatus.Succeeded) { reject(res.error); return; }
        var props = res.value;
        if (props.get(name)) { resolve(false); return; } // never override a type the user chose
        props.set(name, value);
        props.saveAsync(function (saved) {
          if (saved.status === Office.AsyncResultStatus.Succeeded) resolve(true); else reject(saved.error);
        });
      });
    });
  }

  function labelOf(value) {
    return api("GET", "/api/preferences").then(function (p) {
      return api("GET", "/api/picklists/activity-types?lang=" + encodeURIComponent(p.picklist_language));
    }).then(function (entries) {
      for (var i = 0; i < entries.length; i++) if (entries[i].value === value) return entries[i].label;
      return value;
    }, function () { return value; });
  }

  /* LaunchEvent: a new appointment in the organizer's form. */
  function onNewAppointmentOrganizer(event) {
    var item = Office.context.mailbox.item;
    var prefs;
    api("GET", "/api/preferences").then(function (p) {
      prefs = p;
      if (!prefs.login_at_start) return null;
      return api("GET", "/api/login").then(function (state) {
        if (!state.logged_in && state.remembered) return api("POST", "/api/login/auto");
        return state;
      });
    }).then(function () {
      var type = prefs.default_activity_type;
      if (!type) return notify(item, "crmType", t("noType"));
      return setCustomProperty(item, "crmActivityType", type).then(function () {
        return labelOf(type);
      }).then(function (label) {
        return notify(item, "crmType", t("typeApplied") + label);
      });
    }).catch(function (err) {
      // Not paired yet, or the server is away: stay quiet unless it is worth telling.
      if (err && err.code !== "not_paired" && err.code !== "no_remembered_credentials") {
        return notifyError(item, err);
      }
      return null;
    }).then(function () {
      event.completed();
    });
  }

  /* ExecuteFunction: "Synkronoi nyt". */
  function syncNow(event) {
    var item = Office.context.mailbox.item;
    api("POST", "/api/sync/now").then(function (r) {
      return notify(item, "crmSync", r && r.queued === false ? t("syncQueued") : t("syncStarted"));
    }).catch(function (err) {
      return notifyError(item, err);
    }).then(function () {
      event.completed();
    });
  }

  /* ExecuteFunction: "Kirjaudu ulos". */
  function logOut(event) {
    var item = Office.context.mailbox.item;
    api("POST", "/api/logout").then(function () {
      return notify(item, "crmSync", t("loggedOut"));
    }).catch(function (err) {
      return notifyError(item, err);
    }).then(function () {
      event.completed();
    });
  }

  // Visible to tests and to the workbench.
  var handlers = {
    onNewAppointmentOrganizer: onNewAppointmentOrganizer,
    syncNow: syncNow,
    logOut: logOut
  };
  if (typeof window !== "undefined") window.crmFunctions = handlers;

  function register() {
    if (typeof Office === "undefined" || !Office.actions || !Office.actions.associate) return;
    Office.actions.associate("onNewAppointmentOrganizer", onNewAppointmentOrganizer);
    Office.actions.associate("syncNow", syncNow);
    Office.actions.associate("logOut", logOut);
  }

  // office-loader.js loads office.js (or, in the demo, the stand-in) asynchronously.
  var loaded = (typeof window !== "undefined" && window.crmOfficeLoaded) || Promise.resolve();
  loaded.then(function () {
    if (typeof Office !== "undefined" && Office.onReady) Office.onReady(register);
    register();
  });
})();
