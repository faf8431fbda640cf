/*
 * Demo workbench: stands in for Outlook on the web. Shows the simulated mailbox's week (Graph simulator
 * admin API), hosts the real task pane in an iframe over the Office.js stand-in (../office-shim.js reads
 * window.parent.crmWorkbench), runs the function file's handlers like Outlook's ribbon and launch
 * events would, and lists the simulated CRM's activities (CRM simulator admin API) beside it.
 * Served by `crm-server demo`, whose /demo/info names the simulators.
 */
"use strict";

const $ = (s) => document.querySelector(s);
const state = {
  info: null, weekStart: mondayOf(new Date()), events: [], selectedEventId: null,
  activities: [], selectedActivityId: null, knownActivityIds: new Set(), item: null, listeners: [],
  companyId: null, ownerId: null,
};

function mondayOf(d) {
  const x = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  x.setDate(x.getDate() - ((x.getDay() + 6) % 7));
  return x;
}
function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return x; }
function pad(n) { return String(n).padStart(2, "0"); }
function localInput(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`; }
/* Times: everything on this page is shown and typed in the browser's time zone. Graph is sent UTC; the
 * CRM keeps wall-clock times in its own zone (/demo/info crm.time_zone), converted both ways here. */
function zoneParts(date, zone) {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const p = {};
  for (const x of f.formatToParts(date)) p[x.type] = x.value;
  return p;
}
/* How far `zone`'s wall clock is ahead of UTC at `date`, in ms. */
function zoneOffset(date, zone) {
  const p = zoneParts(date, zone);
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(date.getTime() / 1000) * 1000;
}
/* A wall-clock "YYYY-MM-DDTHH:MM[:SS]" in `zone` as a Date. */
function fromZone(wall, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(wall);
  if (!m) return null;
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const first = asUtc - zoneOffset(new Date(asUtc), zone);
  return new Date(asUtc - zoneOffset(new Date(first), zone));
}
function crmZone() { return (state.info && state.info.crm.time_zone) || "UTC"; }
function fromGraph(when) {
  if (!when) return null;
  if (when.timeZone === "UTC") return new Date(when.dateTime.replace(/Z?$/, "Z"));
  try { return fromZone(when.dateTime, when.timeZone); } catch (e) { return new Date(when.dateTime); }
}
function toGraph(localValue) { return { dateTime: new Date(localValue).toISOString().slice(0, 19), timeZone: "UTC" }; }
/* A datetime-local value (browser time) as the CRM's wall clock. */
function toCrm(localValue) {
  const p = zoneParts(new Date(localValue), crmZone());
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}
/* The CRM's wall clock as a datetime-local value (browser time). */
function fromCrm(s) {
  const d = s ? fromZone(s, crmZone()) : null;
  return d ? localInput(d) : "";
}
function fmtTime(d) { return `${pad(d.getHours())}.${pad(d.getMinutes())}`; }

async function http(method, url, body) {
  const res = await fetch(url, {
    method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = text; }
  if (!res.ok) throw new Error((json && (json.error && (json.error.message || json.error)) || json.message) || `HTTP ${res.status}`);
  return json;
}

const graph = (path) => `${state.info.graph.admin}/mailboxes/${encodeURIComponent(state.info.mailbox.email)}${path}`;
const crm = (path) => `${state.info.crm.admin}/companies/${state.companyId}${path}`;

/* ---------- the Office stand-in's view of this page ---------- */
window.crmWorkbench = {
  mailbox: null,
  item: null,
  language: "fi-FI",
  theme: "light",
  onItemChanged(cb) { state.listeners.push(cb); },
  showNotices(notices) {
    $("#event-notices").textContent = Object.values(notices).map((n) => n.message).join(" · ");
  },
  customPropertiesSaved() { /* the function file applied the default type; nothing to redraw */ },
  async saveNewItem() { return state.item && state.item.id; },
};

function openItem(item) {
  state.item = item;
  window.crmWorkbench.item = item;
  for (const cb of state.listeners) { try { cb(item); } catch (e) { console.warn(e); } }
}

function paneView(view) {
  const pane = $("#pane");
  pane.contentWindow.location.hash = "#/" + view;
}

async function runFunction(name) {
  const fw = $("#functions").contentWindow;
  if (!fw.Office || !fw.Office.__invoke) throw new Error("function file not loaded");
  if (state.item) fw.Office.__setItem(state.item);
  return fw.Office.__invoke(name);
}

/* ---------- calendar ---------- */
async function loadWeek() {
  const start = state.weekStart, end = addDays(start, 7);
  const q = `?start=${encodeURIComponent(start.toISOString())}&end=${encodeURIComponent(end.toISOString())}&calendar=${encodeURIComponent(state.info.mailbox.calendar_id)}`;
  state.events = await http("GET", graph(`/calendarView${q}`));
  renderWeek();
}

function renderWeek() {
  const week = $("#week");
  week.textContent = "";
  const days = ["ma", "ti", "ke", "to", "pe", "la", "su"];
  $("#week-label").textContent = `${state.weekStart.toLocaleDateString("fi-FI")} – ${addDays(state.weekStart, 6).toLocaleDateString("fi-FI")}`;
  const today = new Date().toDateString();
  for (let i = 0; i < 7; i++) {
    const day = addDays(state.weekStart, i);
    const col = document.createElement("div");
    col.className = "day" + (day.toDateString() === today ? " today" : "");
    col.setAttribute("role", "gridcell");
    const h = document.createElement("h4");
    h.textContent = `${days[i]} ${day.getDate()}.${day.getMonth() + 1}.`;
    col.appendChild(h);
    const mine = state.events
      .map((e) => ({ e, s: fromGraph(e.start), en: fromGraph(e.end) }))
      .filter((x) => x.s && x.s.toDateString() === day.toDateString())
      .sort((a, b) => a.s - b.s);
    for (const { e, s, en } of mine) {
      const b = document.createElement("button");
      b.type = "button";
      const priv = e.sensitivity === "private" || e.sensitivity === "confidential";
      b.className = "ev" + (priv ? " private" : "") + (e.id === state.selectedEventId ? " selected" : "");
      b.textContent = `${e.isAllDay ? "koko päivä" : fmtTime(s) + "–" + fmtTime(en)} ${priv ? "🔒 " : ""}${e.subject || "(ei aihetta)"}`;
      b.addEventListener("click", () => selectEvent(e));
      col.appendChild(b);
    }
    week.appendChild(col);
  }
}

function eventItem(e) {
  return { id: e.id, itemType: "appointment", subject: e.subject || "",
    start: fromGraph(e.start).toISOString(), end: fromGraph(e.end).toISOString() };
}

function selectEvent(e) {
  state.selectedEventId = e.id;
  const f = $("#event-form");
  f.hidden = false;
  $("#event-form-title").textContent = "Muokkaa tapahtumaa";
  f.subject.value = e.subject || "";
  f.start.value = localInput(fromGraph(e.start));
  f.end.value = localInput(fromGraph(e.end));
  f.private.checked = e.sensitivity === "private";
  $("#event-delete").hidden = false;
  $("#event-open").hidden = false;
  $("#event-error").textContent = "";
  $("#event-notices").textContent = "";
  openItem(eventItem(e));
  renderWeek();
}

function newEvent() {
  state.selectedEventId = null;
  const f = $("#event-form");
  f.hidden = false;
  $("#event-form-title").textContent = "Uusi tapahtuma";
  const s = new Date(); s.setMinutes(0, 0, 0); s.setHours(s.getHours() + 1);
  f.subject.value = "";
  f.start.value = localInput(s);
  f.end.value = localInput(new Date(s.getTime() + 3600000));
  f.private.checked = false;
  $("#event-delete").hidden = true;
  $("#event-open").hidden = true;
  $("#event-error").textContent = "";
  $("#event-notices").textContent = "";
  f.subject.focus();
}

async function saveEvent(ev) {
  ev.preventDefault();
  const f = ev.target;
  const body = { subject: f.subject.value, start: toGraph(f.start.value), end: toGraph(f.end.value),
    sensitivity: f.private.checked ? "private" : "normal" };
  try {
    if (state.selectedEventId) {
      await http("PATCH", graph(`/events/${encodeURIComponent(state.selectedEventId)}`), body);
    } else {
      const r = await http("POST", graph(`/events?calendar=${encodeURIComponent(state.info.mailbox.calendar_id)}`), body);
      state.selectedEventId = r.id;
      openItem({ id: r.id, itemType: "appointment", subject: body.subject, start: new Date(f.start.value).toISOString(), end: new Date(f.end.value).toISOString() });
      // As Outlook does for the organizer's new appointment: the launch event (auto-login, default type).
      runFunction("onNewAppointmentOrganizer").catch((e) => console.warn(e));
      $("#event-delete").hidden = false;
      $("#event-open").hidden = false;
    }
    $("#event-error").textContent = "";
    await loadWeek();
  } catch (e) {
    $("#event-error").textContent = e.message;
  }
}

async function deleteEvent() {
  if (!state.selectedEventId) return;
  try {
    await http("DELETE", graph(`/events/${encodeURIComponent(state.selectedEventId)}`));
    state.selectedEventId = null;
    $("#event-form").hidden = true;
    openItem(null);
    await loadWeek();
  } catch (e) {
    $("#event-error").textContent = e.message;
  }
}

/* ---------- inbox ---------- */
async function loadInbox() {
  const msgs = await http("GET", graph("/messages/inbox"));
  const ul = $("#inbox");
  ul.textContent = "";
  for (const m of msgs.slice(0, 20)) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    const from = m.from && m.from.emailAddress ? m.from.emailAddress.name || m.from.emailAddress.address : "";
    b.textContent = `${from ? from + ": " : ""}${m.subject || "(ei aihetta)"}`;
    b.addEventListener("click", () => {
      openItem({ id: m.id, itemType: "message", subject: m.subject || "", internetMessageId: m.internetMessageId });
      paneView("item");
    });
    li.appendChild(b);
    ul.appendChild(li);
  }
}

/* ---------- CRM activities ---------- */
async function loadActivities() {
  const list = await http("GET", crm("/records/activities"));
  list.sort((a, b) => String(b.start_date).localeCompare(String(a.start_date)));
  const fresh = state.knownActivityIds.size > 0;
  const tbody = $("#activities");
  tbody.textContent = "";
  const types = new Set();
  for (const a of list) {
    if (a.activity_type) types.add(a.activity_type);
    if (!state.ownerId && a.owner_id) state.ownerId = a.owner_id;
    const tr = document.createElement("tr");
    if (fresh && !state.knownActivityIds.has(String(a.id))) tr.className = "new-row";
    tr.tabIndex = 0;
    // An all-day activity is a date, not a moment: shown as the CRM has it, not moved between zones.
    const when = a.all_day ? String(a.start_date || "").slice(0, 10) : fromCrm(a.start_date).replace("T", " ");
    for (const v of [when, (a.private ? "🔒 " : "") + (a.subject || ""), a.activity_type || ""]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => selectActivity(a));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") selectActivity(a); });
    tbody.appendChild(tr);
  }
  state.knownActivityIds = new Set(list.map((a) => String(a.id)));
  const dl = $("#types");
  dl.textContent = "";
  for (const t of types) { const o = document.createElement("option"); o.value = t; dl.appendChild(o); }
}

function selectActivity(a) {
  state.selectedActivityId = a.id;
  const f = $("#activity-form");
  f.hidden = false;
  $("#activity-form-title").textContent = "Muokkaa aktiviteettia";
  f.subject.value = a.subject || "";
  f.start.value = fromCrm(a.start_date);
  f.end.value = fromCrm(a.end_date || a.start_date);
  f.activity_type.value = a.activity_type || "";
  f.private.checked = !!a.private;
  $("#activity-delete").hidden = false;
  $("#activity-error").textContent = "";
}

function newActivity() {
  state.selectedActivityId = null;
  const f = $("#activity-form");
  f.hidden = false;
  $("#activity-form-title").textContent = "Uusi aktiviteetti";
  const s = new Date(); s.setMinutes(0, 0, 0); s.setHours(s.getHours() + 2);
  f.subject.value = "";
  f.start.value = localInput(s);
  f.end.value = localInput(new Date(s.getTime() + 3600000));
  f.activity_type.value = $("#types option") ? $("#types option").value : "";
  f.private.checked = false;
  $("#activity-delete").hidden = true;
  $("#activity-error").textContent = "";
  f.subject.focus();
}

async function saveActivity(ev) {
  ev.preventDefault();
  const f = ev.target;
  const body = { subject: f.subject.value, start_date: toCrm(f.start.value), end_date: toCrm(f.end.value),
    activity_type: f.activity_type.value, private: f.private.checked };
  try {
    if (state.selectedActivityId) {
      await http("PATCH", crm(`/records/activities/${state.selectedActivityId}`), body);
    } else {
      if (state.ownerId) body.owner_id = state.ownerId;
      const r = await http("POST", crm("/records/activities"), body);
      state.selectedActivityId = r && r.id;
    }
    $("#activity-error").textContent = "";
    await loadActivities();
  } catch (e) {
    $("#activity-error").textContent = e.message;
  }
}

async function deleteActivity() {
  if (!state.selectedActivityId) return;
  try {
    await http("DELETE", crm(`/records/activities/${state.selectedActivityId}`));
    state.selectedActivityId = null;
    $("#activity-form").hidden = true;
    await loadActivities();
  } catch (e) {
    $("#activity-error").textContent = e.message;
  }
}

/* ---------- start ---------- */
function loadFrames() {
  const lang = $("#office-lang").value;
  window.crmWorkbench.language = lang;
  window.crmWorkbench.theme = $("#office-dark").checked ? "dark" : "light";
  state.listeners = [];
  const hash = $("#pane").contentWindow && $("#pane").contentWindow.location.hash;
  $("#pane").src = "../index.html?office=shim" + (hash && hash.length > 1 ? hash : "#/pairing");
  $("#functions").src = "../functions.html?office=shim";
}

async function refresh() {
  try { await loadWeek(); } catch (e) { console.warn("calendar", e); }
  try { await loadActivities(); } catch (e) { console.warn("crm", e); }
}

async function start() {
  try {
    state.info = await http("GET", "/demo/info");
  } catch (e) {
    $("#creds").textContent = "Työpöytä toimii vain demotilassa (cargo xtask demo): /demo/info puuttuu.";
    return;
  }
  const i = state.info;
  state.companyId = i.crm.company_id || 1;
  state.ownerId = i.crm.user_id || null;
  window.crmWorkbench.mailbox = { email: i.mailbox.email, displayName: i.mailbox.display_name };
  $("#creds").textContent = `Liitä tili näillä: API key ${i.crm.api_key} · CRM-osoite ${i.crm.address} · Käyttäjä ${i.crm.username} · Salasana ${i.crm.password} · Sähköposti ${i.mailbox.email}`;
  loadFrames();
  await refresh();
  try { await loadInbox(); } catch (e) { console.warn("inbox", e); }
  setInterval(refresh, 3000);
}

document.querySelectorAll(".ribbon [data-view]").forEach((b) => b.addEventListener("click", () => paneView(b.dataset.view)));
document.querySelectorAll(".ribbon [data-fn]").forEach((b) => b.addEventListener("click", () => {
  runFunction(b.dataset.fn).catch((e) => { $("#creds").textContent = e.message; });
}));
$("#prev-week").addEventListener("click", () => { state.weekStart = addDays(state.weekStart, -7); loadWeek(); });
$("#next-week").addEventListener("click", () => { state.weekStart = addDays(state.weekStart, 7); loadWeek(); });
$("#new-event").addEventListener("click", newEvent);
$("#event-form").addEventListener("submit", saveEvent);
$("#event-delete").addEventListener("click", deleteEvent);
$("#event-open").addEventListener("click", () => paneView("item"));
$("#event-cancel").addEventListener("click", () => { $("#event-form").hidden = true; });
$("#new-activity").addEventListener("click", newActivity);
$("#activity-form").addEventListener("submit", saveActivity);
$("#activity-delete").addEventListener("click", deleteActivity);
$("#activity-cancel").addEventListener("click", () => { $("#activity-form").hidden = true; });
$("#office-lang").addEventListener("change", loadFrames);
$("#office-dark").addEventListener("change", loadFrames);
start();
