// The agent panel: the escalations of your queues, a patient's context (each read recorded with
// why), accept, reply by text, hand back to Careline. Plain JS against the agent API; every value
// is inserted as text, never as HTML. Signs in with Cognito (authorization code + PKCE) in AWS, or
// as a demo staff member in the local runtime.
"use strict";

const config = JSON.parse(document.getElementById("panel-config").textContent);
const $ = (id) => document.getElementById(id);
const SESSION_KEY = "careline.agent.session";
const PKCE_KEY = "careline.agent.pkce";
const POLL_MS = 3000;

let session = null; // {mode, token?, username?, expires?}
let me = null; // {user_id, groups, queues, supervisor}
let current = null; // the escalation open in the detail pane
let pollTimer = null;

// -- small helpers ------------------------------------------------------------------------------

function formatTime(iso) {
  if (!iso) return "";
  const options = { weekday: "short", hour: "numeric", minute: "2-digit" };
  if (config.timezone) options.timeZone = config.timezone;
  return new Intl.DateTimeFormat("en-US", options).format(new Date(iso));
}

function words(value) {
  return String(value || "").replaceAll("_", " ");
}

function setNote(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function tokenClaims(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replaceAll("-", "+").replaceAll("_", "/"));
  return JSON.parse(json);
}

// -- sign-in ------------------------------------------------------------------------------------

function saveSession(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.mode === config.mode && (!saved.expires || saved.expires * 1000 > Date.now())) return saved;
  } catch (_error) {
    // a damaged session is no session
  }
  return null;
}

function authHeaders() {
  if (!session) return {};
  if (session.mode === "local") return { "X-Careline-Demo-User": session.username };
  return { Authorization: session.token };
}

async function startCognitoSignIn() {
  const cognito = config.cognito;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", cognito.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: cognito.client_id,
    redirect_uri: cognito.redirect_uri,
    scope: "openid email profile",
    state,
    code_challenge_method: "S256",
    code_challenge: base64url(new Uint8Array(digest)),
  }).toString();
  if (window.top !== window.self) {
    // inside the Connect agent workspace (a frame): the sign-in page will not be framed
    window.open(url.toString(), "careline-sign-in", "popup,width=480,height=680");
  } else {
    window.location.assign(url.toString());
  }
}

async function finishCognitoSignIn() {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (!code) return false;
  window.history.replaceState(null, "", config.cognito.redirect_uri);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (!saved || saved.state !== params.get("state")) throw new Error("sign-in state mismatch: sign in again");
  const response = await fetch(new URL("/oauth2/token", config.cognito.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.cognito.client_id,
      code,
      redirect_uri: config.cognito.redirect_uri,
      code_verifier: saved.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) throw new Error("sign-in failed: try again");
  const claims = tokenClaims(tokens.id_token);
  const value = { mode: "cognito", token: tokens.id_token, expires: claims.exp };
  if (window.opener && window.opener !== window) {
    // the popup of a framed panel: hand the token to the panel and close
    window.opener.postMessage({ type: "careline-signed-in", session: value }, window.location.origin);
    window.close();
    return true;
  }
  saveSession(value);
  return true;
}

window.addEventListener("message", (event) => {
  if (event.origin !== window.location.origin || !event.data || event.data.type !== "careline-signed-in") return;
  saveSession(event.data.session);
  start();
});

function showSignIn() {
  stopPolling();
  $("desk").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("local-sign-in").hidden = config.mode !== "local";
  $("cognito-sign-in").hidden = config.mode !== "cognito";
  if (config.mode === "local") {
    const select = $("demo-user");
    select.replaceChildren();
    for (const user of config.users || []) {
      const option = document.createElement("option");
      option.value = user.username;
      option.textContent = `${user.name} (${words(user.group)})`;
      select.append(option);
    }
  }
}

function signOut() {
  saveSession(null);
  me = null;
  current = null;
  $("detail").hidden = true;
  showSignIn();
}

// -- the API ------------------------------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: { ...authHeaders() } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(config.api_base + path, init);
  const payload = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signOut();
    throw new Error("signed out: sign in again");
  }
  if (!response.ok) throw new Error(payload.error || payload.message || `${response.status} ${response.statusText}`);
  return payload;
}

function escalationPath(item, action) {
  const base = `/escalations/${encodeURIComponent(item.party_id)}/${encodeURIComponent(item.escalation_id)}`;
  return action ? `${base}/${action}` : base;
}

// -- the queue ----------------------------------------------------------------------------------

function renderQueue(items) {
  const body = $("escalations");
  body.replaceChildren();
  if (items.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 6;
    cell.className = "muted";
    cell.textContent = "None open.";
    row.append(cell);
    body.append(row);
    return;
  }
  for (const item of items) {
    const row = document.createElement("tr");
    row.dataset.escalationId = item.escalation_id;
    row.dataset.testid = "escalation-row";
    if (current && current.escalation_id === item.escalation_id) row.classList.add("selected");
    const values = [formatTime(item.created_at), words(item.reason), words(item.urgency), words(item.queue), item.channel];
    values.forEach((value, index) => {
      const cell = document.createElement("td");
      cell.textContent = value;
      if (index === 2) cell.className = `urgency-${item.urgency}`;
      row.append(cell);
    });
    const cell = document.createElement("td");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "quiet";
    open.textContent = "Open";
    open.dataset.testid = "open-escalation";
    open.addEventListener("click", () => openEscalation(item));
    cell.append(open);
    row.append(cell);
    body.append(row);
  }
}

async function refreshQueue() {
  try {
    const result = await api("GET", "/escalations");
    renderQueue(result.escalations);
    setNote($("queue-status"), "");
  } catch (error) {
    setNote($("queue-status"), error.message, true);
  }
}

function startPolling() {
  stopPolling();
  pollTimer = setInterval(() => {
    if (!document.hidden && session) refreshQueue();
  }, POLL_MS);
}

function stopPolling() {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

// -- one escalation -----------------------------------------------------------------------------

function mayAct(detail) {
  return detail.owner === me.user_id || me.supervisor;
}

function renderDetail(detail) {
  current = detail;
  $("detail").hidden = false;
  $("detail-title").textContent = `Escalation: ${words(detail.reason)}`;
  $("detail-status").textContent = detail.status;
  $("detail-reason").textContent = words(detail.reason);
  $("detail-urgency").textContent = words(detail.urgency);
  $("detail-queue").textContent = words(detail.queue);
  $("detail-channel").textContent = detail.channel;
  $("detail-verification").textContent = detail.verification ? detail.verification.description : "";
  let owner = detail.owner ? `${detail.owner} (Careline is silent but for safety)` : "Careline";
  if (detail.opted_out) owner += "; opted out of texts (STOP): call instead";
  $("detail-owner").textContent = owner;
  $("detail-summary").textContent = detail.summary || "";
  const list = $("transcript");
  list.replaceChildren();
  for (const line of detail.transcript || []) list.append(transcriptLine(line));
  list.scrollTop = list.scrollHeight;
  $("accept").disabled = detail.status !== "open";
  const acting = detail.status === "accepted" && mayAct(detail);
  $("hand-back").disabled = !acting;
  $("reply-send").disabled = !acting || detail.opted_out;
  $("reply-text").disabled = !acting || detail.opted_out;
  for (const row of document.querySelectorAll("#escalations tr")) {
    row.classList.toggle("selected", row.dataset.escalationId === detail.escalation_id);
  }
}

function transcriptLine(line) {
  const item = document.createElement("li");
  item.className = line.speaker;
  item.dataset.testid = `line-${line.speaker}`;
  const who = document.createElement("span");
  who.className = "speaker";
  const names = { patient: "Patient", careline: "Careline", staff: `Staff (${line.staff || "?"})`, event: "·" };
  who.textContent = names[line.speaker] || line.speaker;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = line.speaker === "event" ? words(line.event) : line.text || "";
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${line.channel} · ${formatTime(line.at)}`;
  item.append(who, text, meta);
  return item;
}

async function openEscalation(item) {
  const why = $("why").value;
  const note = $("detail-note");
  if (!why) {
    setNote($("queue-status"), "Choose why you are opening it first (it is recorded).", true);
    $("why").focus();
    return;
  }
  try {
    const detail = await api("GET", `${escalationPath(item)}?why=${encodeURIComponent(why)}`);
    renderDetail(detail);
    setNote(note, "");
  } catch (error) {
    setNote($("queue-status"), error.message, true);
  }
}

async function refreshDetail() {
  if (!current) return;
  await openEscalation(current);
}

async function accept() {
  const note = $("detail-note");
  try {
    const result = await api("POST", escalationPath(current, "accept"));
    renderDetail({ ...current, status: result.status, owner: result.owner, accepted_by: result.accepted_by });
    setNote(note, `Accepted: ${result.note}.`);
    refreshQueue();
  } catch (error) {
    setNote(note, error.message, true);
  }
}

async function reply(event) {
  event.preventDefault();
  const note = $("detail-note");
  const text = $("reply-text").value.trim();
  if (!text) return;
  try {
    const result = await api("POST", escalationPath(current, "reply"), { text });
    $("reply-text").value = "";
    const line = { at: result.sent_at, speaker: "staff", channel: "sms", text, staff: me.user_id };
    renderDetail({ ...current, transcript: [...(current.transcript || []), line] });
    setNote(note, "Sent by text.");
  } catch (error) {
    setNote(note, error.message, true);
  }
}

async function handBack() {
  const note = $("detail-note");
  try {
    const result = await api("POST", escalationPath(current, "hand-back"));
    renderDetail({ ...current, status: result.status, owner: null });
    setNote(note, result.patient_told ? "Handed back to Careline; the patient was told by text." : "Handed back to Careline.");
    refreshQueue();
  } catch (error) {
    setNote(note, error.message, true);
  }
}

// -- start --------------------------------------------------------------------------------------

async function start() {
  session = loadSession();
  if (!session) {
    showSignIn();
    return;
  }
  try {
    me = await api("GET", "/me");
  } catch (error) {
    showSignIn();
    return;
  }
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = me.user_id;
  $("who-groups").textContent = me.groups.map(words).join(", ") || "no group";
  $("queues").textContent = me.queues.length ? `queues: ${me.queues.map(words).join(", ")}` : "no queues";
  $("desk").hidden = false;
  await refreshQueue();
  startPolling();
}

$("local-sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  saveSession({ mode: "local", username: $("demo-user").value });
  start();
});
$("cognito-sign-in-button").addEventListener("click", () => startCognitoSignIn());
$("sign-out").addEventListener("click", signOut);
$("refresh").addEventListener("click", refreshDetail);
$("accept").addEventListener("click", accept);
$("hand-back").addEventListener("click", handBack);
$("reply-form").addEventListener("submit", reply);

(async () => {
  if (config.mode === "cognito") {
    try {
      if (await finishCognitoSignIn() && window.opener && window.opener !== window) return;
    } catch (error) {
      showSignIn();
      setNote($("queue-status"), error.message, true);
      return;
    }
  }
  start();
})();
