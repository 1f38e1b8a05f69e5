// Sanke live lessons: what the teacher console, the classroom kiosk and the patrol
// wall share: the page's texts, the lesson channel (snapshots in; controls, chat and
// stats out; it reconnects by itself), media tokens, the media client of the server's
// backend (createMedia), and quality reports.
"use strict";

const LIVE_TEXT = JSON.parse(document.getElementById("live-text").textContent);
const LIVE_CONFIG = JSON.parse(document.getElementById("live-config").textContent);

function T(key, values) {
  let text = LIVE_TEXT[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function wsBase() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
}

// Codes after which retrying cannot help: the page says why and stops.
const FINAL_CODES = new Set(["ended", "cancelled", "not_your_lesson", "not_your_classroom",
  "other_region", "not_master", "role", "no_lesson", "login_required", "replaced",
  "no_media_client"]);

class LessonChannel extends EventTarget {
  constructor(lesson, classroom) {
    super();
    this.lesson = lesson;
    this.classroom = classroom;
    this.closed = false;
    this.retry = 0;
    this.connected = false;
    this._open();
  }

  _open() {
    const query = this.classroom ? `?classroom=${encodeURIComponent(this.classroom)}` : "";
    const ws = new WebSocket(`${wsBase()}/api/v1/lessons/${encodeURIComponent(this.lesson)}/live${query}`);
    this.ws = ws;
    ws.onopen = () => { this.retry = 0; this.connected = true; this._emit("open"); };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") {
        this.snapshot = message;
        this._emit("snapshot", message);
      } else if (message.type === "replaced") {
        this.closed = true;
        this._emit("final", message);
      } else if (message.type === "error") {
        if (FINAL_CODES.has(message.code)) this.closed = true;
        this._emit(FINAL_CODES.has(message.code) ? "final" : "error", message);
      }
    };
    ws.onclose = (event) => {
      this.connected = false;
      if (event.code === 1008) {
        this.closed = true;
        this._emit("final", { code: "login_required", message: T("live.login_again") });
      }
      if (this.closed) return;
      this._emit("lost");
      this.retry += 1;
      setTimeout(() => { if (!this.closed) this._open(); }, Math.min(5000, 300 * 2 ** Math.min(this.retry, 4)));
    };
  }

  _emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  control(action, target) { this.send({ type: "control", action, target: target || "" }); }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

class RequestFailed extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function fetchJson(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...(options || {}) });
  } catch (error) {
    throw new RequestFailed("network", T("live.no_server"), 0);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = response.status === 401 ? "login_required" : body.error || "http";
    throw new RequestFailed(code, body.message || T("live.no_server"), response.status);
  }
  return body;
}

async function lessonToken(lesson, classroom) {
  const query = classroom ? `?classroom=${encodeURIComponent(classroom)}` : "";
  return fetchJson(`/api/v1/lessons/${encodeURIComponent(lesson)}/token${query}`, { method: "POST" });
}

// The media client for a token's backend, as the server runs it (live_scripts.html
// loads the one it needs): LiveKitMedia (livekit-media.js over livekit-client) or the
// embedded SFU's SankeMedia (/media/client.js). Both offer the pages one interface:
// join, rejoin, leave, stop, publish, mute, subscribe, unsubscribe, setLayer, stats;
// tracks, participants, canPublish, state; events state, tracks, participants,
// grant, error.
function createMedia(grant) {
  if (grant.backend === "livekit") {
    if (typeof LiveKitMedia === "undefined" || typeof LivekitClient === "undefined") {
      throw new RequestFailed("no_media_client", T("live.no_media_client"), 0);
    }
    return new LiveKitMedia({ url: grant.url, token: grant.token,
      roleAttribute: grant.role_attribute, sources: grant.sources });
  }
  return new SankeMedia({ url: `${wsBase()}/media/ws`, token: grant.token });
}

// Join the lesson's media room with a fresh token; the client rejoins by itself after
// a network loss, and gets a new token when the old one is refused.
async function joinMedia(lesson, classroom) {
  const grant = await lessonToken(lesson, classroom);
  const media = createMedia(grant);
  media.addEventListener("error", async (event) => {
    const code = event.detail.code || "";
    if (code.startsWith("token_") && !media._renewing) {
      media._renewing = true;
      try {
        const fresh = await lessonToken(lesson, classroom);
        await media.rejoin(fresh.token);
      } catch (error) { /* the page's own channel says why */ }
      media._renewing = false;
    }
  });
  try {
    await media.join();
  } catch (error) {
    // a media server out of reach says so in the page's language; refusals keep theirs
    if (!error.code || error.code === "media_unreachable") {
      throw new RequestFailed("media_unreachable", T("live.no_media_server"), 0);
    }
    throw error;
  }
  return media;
}

// Every few seconds, send what getStats() says to the lesson service.
function reportStats(media, channel, everyMs) {
  const timer = setInterval(async () => {
    if (media.state !== "joined") return;
    try {
      channel.send({ type: "stats", report: await media.stats() });
    } catch (error) { /* a closed connection reports nothing */ }
  }, everyMs || 5000);
  return () => clearInterval(timer);
}

function attach(element, track) {
  if (!element || !track) return;
  const current = element.srcObject && element.srcObject.getTracks()[0];
  if (current === track) return;
  element.srcObject = new MediaStream([track]);
  element.play().catch(() => {});
}

function sourcesOf(media, identity) {
  return media.tracks.filter((t) => t.identity === identity);
}

function clock(date) {
  return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
}

function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
