// Parley's playground: a chat with streamed replies and a tokenizer, over the server's own API (same origin).
// The API key stays in this browser (localStorage) and goes only to this server, as a Bearer token.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "parley.apiKey";
const MODEL = "parley.model";
const RATE_LIMITS = [
  "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
];

const conversation = []; // the messages sent so far and the answers to them, system prompt excluded
let running = null; // the AbortController of the answer being streamed

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = localStorage.getItem(KEY);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

/** The message of an OpenAI error body, or the status when the body is not one. */
async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (ignored) { /* not JSON */ }
  return "HTTP " + response.status;
}

async function post(path, body, signal) {
  return fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body), signal });
}

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function debounce(fn, ms) {
  let timer = 0;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

// ---- models and key

async function loadModels() {
  const select = $("model");
  let response;
  try {
    response = await fetch("/v1/models", { headers: headers() });
  } catch (e) {
    notice("The server cannot be reached: " + e.message);
    return;
  }
  if (!response.ok) {
    select.replaceChildren();
    notice(await errorOf(response));
    return;
  }
  notice("");
  const models = (await response.json()).data.map((m) => m.id);
  const chosen = localStorage.getItem(MODEL);
  select.replaceChildren(...models.map((id) => new Option(id, id, false, id === chosen)));
  select.dataset.loaded = "true";
  countPrompt();
  tokenize();
}

// ---- chat

/** The request's parameters as set in the form; empty fields are left out. */
function parameters() {
  const p = {};
  const number = (id, name, integer) => {
    const value = $(id).value.trim();
    if (value !== "") p[name] = integer ? parseInt(value, 10) : parseFloat(value);
  };
  number("temperature", "temperature", false);
  number("top-p", "top_p", false);
  number("max-tokens", "max_tokens", true);
  number("seed", "seed", true);
  const stop = $("stop").value.split("\n").filter((s) => s !== "");
  if (stop.length > 0) p.stop = stop;
  return p;
}

/** The messages a request would send: the system prompt, the conversation, and the draft when there is one. */
function messages(draft) {
  const list = [];
  const system = $("system").value;
  if (system.trim() !== "") list.push({ role: "system", content: system });
  list.push(...conversation);
  if (draft !== undefined && draft !== "") list.push({ role: "user", content: draft });
  return list;
}

function addMessage(role, text) {
  $("empty").hidden = true;
  const message = document.createElement("div");
  message.className = "message " + role;
  const label = document.createElement("div");
  label.className = "role";
  label.textContent = role;
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  message.append(label, content);
  $("transcript").append(message);
  message.scrollIntoView({ block: "end" });
  return message;
}

/** A folding block for an answer's reasoning, above its content; returns the element its text goes in. */
function addReasoning(answer, content) {
  const block = document.createElement("details");
  block.className = "reasoning";
  block.open = true;
  const summary = document.createElement("summary");
  summary.textContent = "reasoning";
  const thought = document.createElement("div");
  thought.className = "thought";
  block.append(summary, thought);
  answer.insertBefore(block, content);
  return thought;
}

let promptCounts = 0; // only the latest count is shown
const countPrompt = debounce(async () => {
  const model = $("model").value;
  const list = messages($("input").value);
  const asked = ++promptCounts;
  $("prompt-error").textContent = "";
  if (!model || list.length === 0) {
    $("prompt-tokens").textContent = "–";
    return;
  }
  const response = await post("/tokenize", { model, messages: list });
  if (asked !== promptCounts) return;
  if (!response.ok) {
    $("prompt-tokens").textContent = "–";
    $("prompt-error").textContent = await errorOf(response);
    return;
  }
  $("prompt-tokens").textContent = (await response.json()).count;
}, 250);

function showFacts(usage, finish, firstMs, totalMs) {
  $("usage-prompt").textContent = usage ? usage.prompt_tokens : "–";
  $("usage-completion").textContent = usage ? usage.completion_tokens : "–";
  $("usage-total").textContent = usage ? usage.total_tokens : "–";
  $("finish-reason").textContent = finish || "–";
  $("first-token").textContent = firstMs == null ? "–" : Math.round(firstMs) + " ms";
  $("elapsed").textContent = totalMs == null ? "–" : Math.round(totalMs) + " ms";
}

function showHeaders(response) {
  const rows = RATE_LIMITS.filter((name) => response.headers.get(name) !== null).map((name) => {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = name.replace("x-ratelimit-", "");
    th.title = name;
    const td = document.createElement("td");
    td.textContent = response.headers.get(name);
    td.dataset.header = name;
    row.append(th, td);
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement("tr");
    row.innerHTML = '<td class="none" colspan="2">None: this key has no limits.</td>';
    rows.push(row);
  }
  $("rate-limits").replaceChildren(...rows);
  $("request-id").textContent = response.headers.get("x-request-id") || "–";
}

/**
 * Reads a stream of server-sent events from a fetch body, calling onData with each event's data. Events are
 * separated by a blank line; an event's data lines are joined with newlines.
 */
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\n");
      if (data !== "" && onData(data) === false) return;
    }
    if (done) return;
  }
}

async function send(event) {
  event.preventDefault();
  const text = $("input").value;
  const model = $("model").value;
  if (running || text.trim() === "" || !model) return;
  const request = { model, messages: messages(text), stream: true, stream_options: { include_usage: true },
    ...parameters() };
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  $("input").value = "";
  const answer = addMessage("assistant", "");
  const content = answer.querySelector(".content");
  answer.classList.add("streaming");
  answer.dataset.deltas = "0";
  running = new AbortController();
  $("send").disabled = true;
  $("stop-button").disabled = false;
  showFacts(null, null, null, null);
  const started = performance.now();
  let firstMs = null;
  let finish = null;
  let usage = null;
  let failed = null;
  let thought = null; // the reasoning's text, once the model writes some
  try {
    const response = await post("/v1/chat/completions", request, running.signal);
    showHeaders(response);
    if (!response.ok) {
      failed = await errorOf(response);
    } else {
      await readEvents(response.body, (data) => {
        if (data === "[DONE]") return false;
        const chunk = JSON.parse(data);
        if (chunk.error) { failed = chunk.error.message; return false; }
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) return true;
        const thinking = choice.delta && choice.delta.reasoning_content;
        if (thinking) {
          if (firstMs === null) firstMs = performance.now() - started;
          // A reasoning model's reasoning goes apart, above its answer, open while it is written.
          if (thought === null) thought = addReasoning(answer, content);
          thought.append(document.createTextNode(thinking));
          answer.scrollIntoView({ block: "end" });
        }
        const delta = choice.delta && choice.delta.content;
        if (delta) {
          if (firstMs === null) firstMs = performance.now() - started;
          // One text node per delta: the reply grows on screen as each one arrives.
          content.append(document.createTextNode(delta));
          answer.dataset.deltas = String(Number(answer.dataset.deltas) + 1);
          answer.scrollIntoView({ block: "end" });
        }
        if (choice.finish_reason) finish = choice.finish_reason;
        return true;
      });
    }
  } catch (e) {
    failed = e.name === "AbortError" ? "Stopped." : e.message;
  }
  answer.classList.remove("streaming");
  if (failed) {
    const error = document.createElement("span");
    error.className = "error-text";
    error.textContent = failed;
    answer.append(error);
  }
  if (thought !== null) thought.parentElement.open = false;
  // The reasoning goes back with the answer: templates of reasoning models render it where they show it.
  if (content.textContent !== "" || thought !== null) {
    const turn = { role: "assistant", content: content.textContent };
    if (thought !== null) turn.reasoning_content = thought.textContent;
    conversation.push(turn);
  }
  showFacts(usage, finish, firstMs, performance.now() - started);
  answer.dataset.done = "true";
  running = null;
  $("send").disabled = false;
  $("stop-button").disabled = true;
  countPrompt();
}

// ---- tokenizer

const PALETTE = 6;

/** A token's piece as shown: whitespace made visible, bytes that are not text alone as <0xNN>. */
function pieceNode(token, index) {
  const span = document.createElement("span");
  span.className = "tok c" + (index % PALETTE);
  span.title = "id " + token.id;
  span.dataset.id = token.id;
  if (typeof token.piece !== "string") {
    span.classList.add("bytes");
    span.textContent = token.piece.map((b) => "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">").join("");
    return span;
  }
  for (const part of token.piece.split(/(\n|\t)/)) {
    if (part === "\n" || part === "\t") {
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.textContent = part === "\n" ? "↵" : "→";
      span.append(mark, part === "\n" ? "\n" : "\t");
    } else if (part !== "") {
      span.append(part);
    }
  }
  return span;
}

let tokenizations = 0;
const tokenize = debounce(async () => {
  const model = $("model").value;
  const content = $("tok-input").value;
  const asked = ++tokenizations;
  $("tok-chars").textContent = [...content].length;
  $("tok-error").textContent = "";
  if (!model) return;
  const response = await post("/tokenize", {
    model, content, with_pieces: true, add_special: $("add-special").checked,
  });
  if (asked !== tokenizations) return;
  if (!response.ok) {
    $("tok-error").textContent = await errorOf(response);
    return;
  }
  const result = await response.json();
  $("tok-pieces").replaceChildren(...result.tokens.map(pieceNode));
  $("tok-ids").textContent = "[" + result.tokens.map((t) => t.id).join(", ") + "]";
  $("tok-count").textContent = result.count;
  $("tok-count").dataset.content = content;
}, 200);

// ---- wiring

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  $("view-chat").hidden = name !== "chat";
  $("view-tokenizer").hidden = name !== "tokenizer";
}

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = localStorage.getItem(KEY) || "";
  $("api-key").addEventListener("change", () => {
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY, key);
    else localStorage.removeItem(KEY);
    loadModels();
  });
  $("model").addEventListener("change", () => {
    localStorage.setItem(MODEL, $("model").value);
    countPrompt();
    tokenize();
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  $("composer").addEventListener("submit", send);
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
  });
  for (const id of ["input", "system"]) $(id).addEventListener("input", countPrompt);
  $("stop-button").addEventListener("click", () => running && running.abort());
  $("clear").addEventListener("click", () => {
    conversation.length = 0;
    for (const m of document.querySelectorAll(".message")) m.remove();
    $("empty").hidden = false;
    countPrompt();
  });
  $("tok-input").addEventListener("input", tokenize);
  $("add-special").addEventListener("change", tokenize);
  $("show-ids").addEventListener("change", () => { $("tok-ids").hidden = !$("show-ids").checked; });
  loadModels();
});
