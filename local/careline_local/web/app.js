// The patient phone: text the practice as any number and watch the replies arrive, or call it:
// say something (as Lex would hear it) or press keys, and read what Lex would say back.
// Plain JS against the gateway's JSON API; every piece of data is inserted as text, never as HTML.
"use strict";

const E164 = /^\+[1-9]\d{7,14}$/;
const threads = new Map(); // number -> [{who, text, at}]
const seenOutbound = new Set(); // outbox ids already shown
let practiceTimezone = undefined;
let call = null; // the call in progress: {id, number}
const callLog = []; // [{who: "caller" | "practice" | "note", text, keys?}]
let keys = ""; // keypad digits not sent yet

const $ = (id) => document.getElementById(id);
const phoneInput = $("phone-number");
const statusLine = $("status");

async function api(path, options = {}) {
  const init = { headers: { "Content-Type": "application/json" }, ...options };
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.error || `${response.status} ${response.statusText}`);
  }
  return body;
}

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function formatTime(iso) {
  if (!iso) return "";
  const options = { weekday: "short", hour: "numeric", minute: "2-digit" };
  if (practiceTimezone) options.timeZone = practiceTimezone;
  return new Intl.DateTimeFormat("en-US", options).format(new Date(iso));
}

// a day and time that may be weeks away: "Mon, Dec 7, 10:05 AM"
function formatWhen(iso) {
  if (!iso) return "";
  const options = { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  if (practiceTimezone) options.timeZone = practiceTimezone;
  return new Intl.DateTimeFormat("en-US", options).format(new Date(iso));
}

function threadFor(number) {
  if (!threads.has(number)) threads.set(number, []);
  return threads.get(number);
}

function renderThread() {
  const list = $("thread");
  list.replaceChildren();
  const number = phoneInput.value.trim();
  const entries = E164.test(number) ? threadFor(number) : [];
  if (entries.length === 0) {
    const note = document.createElement("li");
    note.className = "msg note";
    note.textContent = E164.test(number) ? "No messages yet. Say hello." : "Choose a number to text from.";
    list.append(note);
  }
  for (const entry of entries) {
    const item = document.createElement("li");
    item.className = `msg ${entry.who}`;
    item.dataset.testid = entry.who === "practice" ? "reply" : "sent";
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = entry.who === "practice" ? "Practice: " : "You: ";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = entry.text;
    const time = document.createElement("time");
    time.dateTime = entry.at || "";
    time.textContent = formatTime(entry.at);
    item.append(label, text, time);
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
}

function addOutbound(messages) {
  for (const message of messages) {
    if (seenOutbound.has(message.id)) continue;
    seenOutbound.add(message.id);
    threadFor(message.to).push({ who: "practice", text: message.text, at: message.at });
  }
}

async function send(event) {
  event.preventDefault();
  const number = phoneInput.value.trim();
  const textArea = $("message");
  const text = textArea.value.trim();
  if (!E164.test(number)) {
    setStatus("Enter the number to text from in E.164 form, like +15035550142.", true);
    phoneInput.focus();
    return;
  }
  if (!text) return;
  const button = $("send");
  button.disabled = true;
  setStatus("Sending…");
  threadFor(number).push({ who: "patient", text, at: (await currentClock()) });
  textArea.value = "";
  renderThread();
  try {
    const result = await api("/api/sms", { method: "POST", body: JSON.stringify({ from: number, text }) });
    addOutbound(result.replies);
    setStatus(result.replies.length ? "" : "No reply (this number may have opted out).");
  } catch (error) {
    setStatus(`Could not send: ${error.message}`, true);
  } finally {
    button.disabled = false;
    renderThread();
    refreshEscalations();
  }
}

async function currentClock() {
  try {
    const clock = await api("/api/clock");
    showClock(clock);
    return clock.now;
  } catch {
    return new Date().toISOString();
  }
}

function showClock(clock) {
  practiceTimezone = clock.timezone || practiceTimezone;
  const element = $("clock-now");
  element.dateTime = clock.now;
  element.textContent = `${formatTime(clock.now)} (${practiceTimezone || "UTC"})`;
}

async function advanceClock(by) {
  try {
    showClock(await api("/api/clock", { method: "POST", body: JSON.stringify({ advance: by }) }));
  } catch (error) {
    setStatus(`Clock: ${error.message}`, true);
  }
}

async function runJob(name) {
  try {
    const report = await api(`/api/jobs/${encodeURIComponent(name)}`, { method: "POST", body: "{}" });
    setStatus(`Job ${name}: ${report.summary || "done"}`);
    await Promise.all([refreshOutbound(), refreshEscalations(), refreshReminders()]);
  } catch (error) {
    setStatus(`Job ${name}: ${error.message}`, true);
  }
}

async function refreshOutbound() {
  const before = seenOutbound.size;
  const result = await api("/api/sms/outbound");
  addOutbound(result.messages);
  if (seenOutbound.size !== before) renderThread();
}

async function refreshEscalations() {
  const result = await api("/api/escalations");
  const body = $("escalations");
  body.replaceChildren();
  if (result.escalations.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 4;
    cell.className = "muted";
    cell.textContent = "None yet.";
    return;
  }
  for (const escalation of result.escalations.slice().reverse()) {
    const row = body.insertRow();
    for (const value of [formatTime(escalation.created_at), escalation.reason, escalation.urgency, escalation.queue]) {
      row.insertCell().textContent = value;
    }
  }
}

// -- reminders ----------------------------------------------------------------------------------

function fillTable(body, rows, columns, empty) {
  body.replaceChildren();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = columns;
    cell.className = "muted";
    cell.textContent = empty;
    return;
  }
  for (const values of rows) {
    const row = body.insertRow();
    for (const value of values) row.insertCell().textContent = value;
  }
}

function describeSent(entry) {
  if (entry.kind === "reminder") return `Reminder ${entry.step} for ${entry.appointment_id}`;
  return entry.key;
}

async function refreshReminders() {
  const result = await api("/api/reminders");
  fillTable(
    $("watched-visits"),
    result.visits.map((v) => [
      formatWhen(v.starts_at),
      v.appointment_id,
      v.probability === null ? v.tier : `${v.tier} (${Math.round(v.probability * 100)}%)`,
      v.outcome || (v.cancelled ? "cancelled" : "—"),
    ]),
    4,
    "None yet.",
  );
  fillTable(
    $("reminders-sent"),
    result.sent.map((s) => [formatWhen(s.sent_at), describeSent(s), s.channel === "call_task" ? "call task" : s.channel]),
    3,
    "Nothing yet.",
  );
  fillTable(
    $("freed-slots"),
    result.slots.map((s) => [formatWhen(s.start), s.practitioner_id, s.state, String(s.offers)]),
    4,
    "None yet.",
  );
}

// -- call mode ----------------------------------------------------------------------------------

function renderCall() {
  const list = $("call-log");
  list.replaceChildren();
  if (callLog.length === 0) {
    const note = document.createElement("li");
    note.className = "msg note";
    note.textContent = "Press Call to phone the practice.";
    list.append(note);
  }
  for (const entry of callLog) {
    const item = document.createElement("li");
    if (entry.who === "note") {
      item.className = "msg note";
      item.dataset.testid = "call-note";
      item.textContent = entry.text;
      list.append(item);
      continue;
    }
    const practice = entry.who === "practice";
    item.className = `msg ${practice ? "practice" : "patient"}${entry.keys ? " caller-keys" : ""}`;
    item.dataset.testid = practice ? "spoken" : "said";
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = practice ? "Practice says: " : entry.keys ? "You press: " : "You say: ";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = entry.text;
    item.append(label, text);
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
  const onCall = call !== null;
  const button = $("call-button");
  button.textContent = onCall ? "Hang up" : "Call";
  button.classList.toggle("on-call", onCall);
  for (const control of [$("say-text"), $("say-button"), ...document.querySelectorAll("#keypad button")]) {
    control.disabled = !onCall;
  }
  $("dtmf-digits").textContent = keys;
  $("dtmf-send").disabled = !onCall || keys === "";
  $("dtmf-clear").disabled = !onCall || keys === "";
}

function setCallState(text, isError = false) {
  const line = $("call-state");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function endCall(note) {
  call = null;
  keys = "";
  callLog.push({ who: "note", text: note });
  setCallState(`Not on a call. ${note}`);
  renderCall();
}

// Texts and escalations a call turn caused appear in the thread and the table at once.
function afterCallAction(result) {
  if (result.sms && result.sms.length) {
    addOutbound(result.sms);
    renderThread();
  }
  refreshEscalations().catch(() => {});
}

async function toggleCall() {
  const button = $("call-button");
  button.disabled = true;
  try {
    if (call) {
      await api(`/api/voice/calls/${call.id}/hangup`, { method: "POST", body: "{}" });
      endCall("You hung up.");
      return;
    }
    const number = phoneInput.value.trim();
    if (!E164.test(number)) {
      setCallState("Enter the number to call from in E.164 form, like +15035550142.", true);
      phoneInput.focus();
      return;
    }
    setCallState("Calling…");
    const result = await api("/api/voice/calls", { method: "POST", body: JSON.stringify({ from: number }) });
    call = { id: result.call_id, number };
    keys = "";
    callLog.length = 0;
    callLog.push({ who: "practice", text: result.greeting });
    setCallState(`On a call from ${number}${result.after_hours === true ? " (after hours)" : ""}.`);
    afterCallAction(result);
    renderCall();
    $("say-text").focus();
  } catch (error) {
    setCallState(`Call: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

async function callTurn(body, said) {
  if (!call) return;
  const current = call;
  callLog.push(said);
  renderCall();
  setCallState("…");
  try {
    const result = await api(`/api/voice/calls/${current.id}/say`, { method: "POST", body: JSON.stringify(body) });
    for (const line of result.spoken) callLog.push({ who: "practice", text: line });
    afterCallAction(result);
    if (result.ended) {
      endCall(result.transfer_queue ? `Transferred to the ${result.transfer_queue} queue.` : "The practice ended the call.");
    } else {
      setCallState(`On a call from ${current.number}.`);
      renderCall();
    }
  } catch (error) {
    if (/^409\b|has ended/.test(error.message)) {
      endCall("The call had already ended.");
    } else {
      setCallState(`Could not say that: ${error.message}`, true);
      renderCall();
    }
  }
}

async function sayOnCall(event) {
  event.preventDefault();
  const input = $("say-text");
  const text = input.value.trim();
  if (!text || !call) return;
  input.value = "";
  await callTurn({ text }, { who: "caller", text });
  if (call) input.focus();
}

async function sendKeys() {
  if (!call || keys === "") return;
  const digits = keys;
  keys = "";
  await callTurn({ dtmf: digits }, { who: "caller", text: digits, keys: true });
}

function pressKey(key) {
  if (!call) return;
  if (key === "#") {
    sendKeys();
    return;
  }
  keys += key;
  renderCall();
}

async function start() {
  $("compose").addEventListener("submit", send);
  $("number-form").addEventListener("submit", (event) => event.preventDefault());
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault(); // Enter sends; Shift+Enter starts a new line
      $("compose").requestSubmit();
    }
  });
  phoneInput.addEventListener("input", renderThread);
  $("demo-patient").addEventListener("change", (event) => {
    if (event.target.value) phoneInput.value = event.target.value;
    renderThread();
  });
  $("call-button").addEventListener("click", toggleCall);
  $("say-form").addEventListener("submit", sayOnCall);
  $("dtmf-send").addEventListener("click", sendKeys);
  $("dtmf-clear").addEventListener("click", () => {
    keys = "";
    renderCall();
  });
  for (const button of document.querySelectorAll("#keypad [data-key]")) {
    button.addEventListener("click", () => pressKey(button.dataset.key));
  }
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => advanceClock(button.dataset.advance));
  }

  const [patients, jobs] = await Promise.all([api("/api/demo-patients"), api("/api/jobs"), currentClock()]);
  const select = $("demo-patient");
  for (const patient of patients.patients) {
    const option = document.createElement("option");
    option.value = patient.phone;
    option.textContent = `${patient.name} (${patient.phone})`;
    select.append(option);
  }
  for (const name of jobs.jobs) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Run ${name}`;
    button.addEventListener("click", () => runJob(name));
    $("jobs").append(button);
  }
  renderThread();
  renderCall();
  await Promise.all([refreshOutbound(), refreshEscalations(), refreshReminders()]);
  // Jobs and other tabs can send messages too; a light poll keeps the page current.
  setInterval(() => {
    refreshOutbound().catch(() => {});
    refreshEscalations().catch(() => {});
    refreshReminders().catch(() => {});
    currentClock();
  }, 3000);
}

start().catch((error) => setStatus(`Could not reach the local runtime: ${error.message}`, true));
