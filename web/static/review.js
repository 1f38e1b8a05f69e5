// Reviewing a lesson recording (评课), the player: every track of the lesson on one
// clock, the layout, and the timeline (seek bar, hover thumbnails, thumbnails, talk time).
// The comments, scores and clips (review_notes.js) plug in through window.sankeReviewPlayer.
// The server's side is the review API (/api/v1/recordings/{rec}/...); the page's config
// is GET /api/v1/recordings/{rec}.
"use strict";

(() => {
  const TEXT = JSON.parse(document.getElementById("review-text").textContent);
  const CONFIG = JSON.parse(document.getElementById("review-config").textContent);
  const $ = (id) => document.getElementById(id);
  const api = `/api/v1/recordings/${encodeURIComponent(CONFIG.recording)}`;
  const me = CONFIG.me || { can_review: false, groups: [] };
  const groups = me.groups || [];
  const rubric = CONFIG.rubric || { items: [] };
  const CATEGORIES = CONFIG.categories || ["strength", "suggestion", "question", "note"];
  const CLASSROOM_COLOURS = ["#d97706", "#7c3aed", "#2563eb", "#db2777", "#0891b2", "#65a30d"];
  const DRIFT_S = 0.3; // a follower further than this from the lesson clock is re-seeked
  const REFIX_MS = 2000; // ...but not more often than this, or a slow network never catches up
  const STEP_S = 5; // ←/→

  // ---- helpers ---------------------------------------------------------------------

  function T(key, values) {
    let text = TEXT[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
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

  const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

  // "mm:ss", or "h:mm:ss" from an hour on (or for every time of a lesson over an hour).
  function clock(seconds, long) {
    const s = Math.max(0, Math.floor(seconds || 0));
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return s >= 3600 || long ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${String(Math.floor(s / 60)).padStart(2, "0")}:${ss}`;
  }

  // "mm:ss", "h:mm:ss" or plain seconds (a Chinese colon too) → seconds; NaN if neither.
  function parseClock(text) {
    const parts = String(text).trim().split(/[:：]/);
    if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p)) || parts.length > 3) return NaN;
    return parts.reduce((total, p) => total * 60 + Number(p), 0);
  }

  // Remembered choices; a browser that refuses storage just forgets them.
  function recall(key) {
    try { return localStorage.getItem(key); } catch (error) { return null; }
  }
  function remember(key, value) {
    try { localStorage.setItem(key, value); } catch (error) { /* private mode */ }
  }

  function say(box, text) {
    box.hidden = !text;
    box.textContent = text || "";
  }

  class RequestFailed extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  // The sentence a person can act on: the problem's detail (in the page's language).
  function problemText(body, status) {
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    if (body && Array.isArray(body.detail) && body.detail.length) return body.detail.map((d) => d.msg || String(d)).join("；");
    if (body && (body.message || body.title)) return body.message || body.title;
    if (status === 401) return T("review.error.login");
    if (status === 403) return T("review.error.forbidden");
    return T("review.error.server", { status });
  }

  async function request(url, method, body) {
    const init = { method: method || "GET", credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new RequestFailed(T("review.error.network"), 0);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new RequestFailed(problemText(data, response.status), response.status);
    return data;
  }

  const message = $("message");
  if (!$("players")) return; // not ready: the page says why, server-side

  // ---- tracks and media elements ---------------------------------------------------

  const tracks = CONFIG.tracks || [];
  const isVideo = (track) => track.kind === "camera" || track.kind === "screen";
  const videos = tracks.filter(isVideo);
  const sounds = tracks.filter((track) => !isVideo(track));
  const teacherCam = videos.find((t) => t.role === "teacher" && t.kind === "camera") || videos[0] || null;
  const screenTrack = videos.find((t) => t.kind === "screen" && t !== teacherCam) || null;
  const classroomCams = videos.filter((t) => t.role === "classroom" && t.kind === "camera" && t !== teacherCam);
  const teacherMic = sounds.find((t) => t.role === "teacher" && t.kind === "microphone") || null;
  const duration = CONFIG.duration || Math.max(1, ...tracks.map((t) => (t.offset || 0) + (t.duration || 0)));
  const long = duration >= 3600;
  const nameOf = (identity) => {
    const track = tracks.find((t) => t.identity === identity);
    return track && track.label ? track.label.split(" · ")[0] : identity;
  };

  const clockState = { playing: false, rate: 1, anchor: 0, wall: 0 };
  let stalled = false; // the master waits for data: the followers wait with it
  const slots = [];

  function makeSlot(key, element, track) {
    const slot = { key, element, track: null, inRange: false, wanted: true, lastFix: 0,
      tile: element.closest(".tile"), overlay: element.closest(".tile")?.querySelector(".overlay") };
    for (const type of ["seeked", "play", "pause", "ratechange", "loadedmetadata"]) element.addEventListener(type, scheduleSync);
    element.addEventListener("error", () => {
      if (slot.track) showOverlay(slot, T("review.player.error"));
    });
    load(slot, track);
    slots.push(slot);
    return slot;
  }

  function load(slot, track) {
    const element = slot.element;
    slot.track = track;
    slot.inRange = false;
    slot.lastFix = 0;
    if (!track) {
      element.removeAttribute("src");
      return;
    }
    // The microphone tracks carry the sound; a camera file may have none, or a copy.
    if (isVideo(track)) element.muted = sounds.some((s) => s.identity === track.identity);
    element.src = track.url;
    element.defaultPlaybackRate = clockState.rate;
    element.playbackRate = clockState.rate;
  }

  function showOverlay(slot, text) {
    if (!slot.overlay) {
      if (slot.toggle) slot.toggle.classList.toggle("idle", Boolean(text));
      return;
    }
    if (slot.overlay.textContent !== text) slot.overlay.textContent = text;
    slot.overlay.hidden = !text;
  }

  const teacherSlot = makeSlot("teacher", $("video-teacher"), teacherCam);
  const screenSlot = makeSlot("screen", $("video-screen"), screenTrack);
  const classroomSlot = makeSlot("classroom", $("video-classroom"), classroomCams[0] || null);
  const videoSlots = [teacherSlot, screenSlot, classroomSlot];

  const audioBox = $("audio-tracks");
  audioBox.hidden = !sounds.length;
  const audioSlots = sounds.map((track) => {
    const element = el("audio", { preload: "auto", "data-track": track.name });
    const box = el("input", { type: "checkbox", checked: "" });
    box.addEventListener("change", () => { element.muted = !box.checked; });
    const toggle = el("label", { class: `sound ${track.role}`, title: T("review.sound.toggle") }, box, " ", track.label || track.name);
    audioBox.append(toggle, element);
    const slot = makeSlot(`audio:${track.name}`, element, track);
    slot.toggle = toggle;
    return slot;
  });
  // ONE lesson clock: the teacher's microphone if there is one, else the teacher's video.
  const master = (teacherMic && audioSlots.find((s) => s.track === teacherMic)) || teacherSlot;
  slots.splice(slots.indexOf(master), 1);
  slots.unshift(master);
  master.element.addEventListener("waiting", () => { stalled = true; scheduleSync(); });
  master.element.addEventListener("playing", () => { stalled = false; scheduleSync(); });

  function masterActive() {
    const e = master.element;
    return Boolean(master.track) && master.inRange && e.readyState >= 1 && !e.ended;
  }

  // Lesson time: where the reviewer put it while paused (a seek lands on a nearby frame,
  // the clock keeps the asked-for time); while playing, the master's position in its part
  // of the lesson, and before, after or between its file, a wall clock from the last time.
  function lessonTime() {
    if (!clockState.playing) return clockState.anchor;
    if (masterActive()) {
      const t = master.element.currentTime + (master.track.offset || 0);
      clockState.anchor = t;
      clockState.wall = performance.now();
      return t;
    }
    return Math.min(duration, clockState.anchor + ((performance.now() - clockState.wall) / 1000) * clockState.rate);
  }

  function rebase(t) {
    clockState.anchor = t;
    clockState.wall = performance.now();
  }

  // Put one element where the lesson clock says: its file time, playing or not, or
  // paused behind a "not started / ended" overlay outside its part of the lesson.
  function follow(slot, t, force) {
    const e = slot.element;
    const track = slot.track;
    if (!track) return;
    const local = t - (track.offset || 0);
    const end = Number.isFinite(e.duration) && e.duration > 0 ? Math.min(track.duration || e.duration, e.duration) : track.duration || Infinity;
    // play() on an ended element starts it again from 0: one that ended where the clock
    // is stays out of range; one the clock has moved back from is seeked first.
    const atEnd = e.ended && local >= e.currentTime - DRIFT_S;
    slot.inRange = local >= 0 && local < end - 0.05 && (force || !atEnd);
    showOverlay(slot, slot.inRange ? "" : T(local < 0 ? "review.player.not_started" : "review.player.ended"));
    if (!slot.inRange || !slot.wanted) {
      if (!e.paused) e.pause();
      return;
    }
    const off = Math.abs(e.currentTime - local);
    const now = performance.now();
    if (force ? off > 0.01 : off > DRIFT_S && e.readyState >= 1 && !e.seeking && (e.ended || now - slot.lastFix > REFIX_MS)) {
      e.currentTime = local;
      slot.lastFix = force ? 0 : now;
    }
    if (e.playbackRate !== clockState.rate) e.playbackRate = clockState.rate;
    const run = clockState.playing && !(stalled && slot !== master && masterActive());
    if (run && e.paused) e.play().catch(() => {});
    else if (!run && !e.paused) e.pause();
  }

  function sync() {
    const t = lessonTime();
    if (clockState.playing && t >= duration - 0.05) {
      pause();
      return;
    }
    for (const slot of slots) follow(slot, t, false);
  }

  let syncQueued = false;
  function scheduleSync() {
    if (syncQueued) return;
    syncQueued = true;
    setTimeout(() => { syncQueued = false; sync(); }, 0);
  }

  function seek(seconds) {
    const t = clamp(Number(seconds) || 0, 0, duration);
    rebase(t);
    for (const slot of slots) follow(slot, t, true);
    draw(t);
  }

  function play() {
    let t = lessonTime();
    if (t >= duration - 0.1) { seek(0); t = 0; }
    rebase(t);
    clockState.playing = true;
    for (const slot of slots) follow(slot, t, false);
    showPlaying();
  }

  function pause() {
    rebase(lessonTime());
    clockState.playing = false;
    for (const slot of slots) if (!slot.element.paused) slot.element.pause();
    showPlaying();
    draw(clockState.anchor);
  }

  function toggle() {
    if (clockState.playing) pause();
    else play();
  }

  function setRate(rate) {
    rebase(lessonTime());
    clockState.rate = rate;
    for (const slot of slots) {
      slot.element.defaultPlaybackRate = rate;
      slot.element.playbackRate = rate;
    }
  }

  function showPlaying() {
    const button = $("play");
    button.textContent = T(clockState.playing ? "review.pause" : "review.play");
    button.setAttribute("aria-pressed", String(clockState.playing));
  }

  $("play").addEventListener("click", toggle);
  $("speed").addEventListener("change", (event) => setRate(Number(event.target.value) || 1));
  setInterval(sync, 500);

  // ---- layout: one big picture (切换) or side by side (并排) ----------------------------

  let layout = "switch";
  let view = "teacher";
  const players = $("players");

  function arrange() {
    const byKey = { teacher: teacherSlot, screen: screenSlot, classroom: classroomSlot };
    if (!byKey[view].track) view = "teacher";
    let shown = 0;
    for (const slot of videoSlots) {
      const visible = Boolean(slot.track) && (layout === "side" || slot.key === view);
      slot.tile.hidden = !visible;
      slot.wanted = visible || slot === master; // a hidden picture waits (bandwidth), the master never
      if (visible) shown += 1;
    }
    players.className = `players layout-${layout} count-${shown}`;
    for (const button of document.querySelectorAll("[data-show]")) {
      const key = button.dataset.show;
      button.hidden = !byKey[key].track;
      button.setAttribute("aria-pressed", String(layout === "switch" && key === view));
    }
    $("layout").textContent = T(layout === "side" ? "review.layout.switch" : "review.layout.side");
    $("layout").setAttribute("aria-pressed", String(layout === "side"));
    for (const slot of videoSlots) follow(slot, lessonTime(), false);
  }

  for (const button of document.querySelectorAll("[data-show]")) {
    button.addEventListener("click", () => {
      view = button.dataset.show;
      layout = "switch";
      arrange();
    });
  }
  $("layout").addEventListener("click", () => {
    layout = layout === "side" ? "switch" : "side";
    arrange();
  });

  const classroomSelect = $("classroom-select");
  classroomSelect.replaceChildren(...classroomCams.map((track, i) => el("option", { value: i }, track.label || nameOf(track.identity))));
  $("classroom-choice").hidden = classroomCams.length < 2;
  function labelClassroom() {
    const track = classroomSlot.track;
    $("classroom-label").textContent = track ? track.label || nameOf(track.identity) : T("review.view.classroom");
  }
  classroomSelect.addEventListener("change", () => {
    load(classroomSlot, classroomCams[Number(classroomSelect.value)] || null);
    labelClassroom();
    follow(classroomSlot, lessonTime(), true);
  });
  labelClassroom();
  arrange();

  // ---- timeline: seek bar, hover thumbnail, thumbnails, talk strip, markers --------------

  const timeline = $("timeline");
  const trackArea = $("track-area");
  const pct = (seconds) => `${(clamp(seconds, 0, duration) / duration) * 100}%`;
  const fractionAt = (event) => {
    const box = timeline.getBoundingClientRect();
    return box.width ? clamp((event.clientX - box.left) / box.width, 0, 1) : 0;
  };
  let dragging = false;

  for (const area of [timeline, $("talk-strip")]) area.addEventListener("click", (event) => seek(fractionAt(event) * duration));
  timeline.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    dragging = true;
    timeline.setPointerCapture(event.pointerId);
    seek(fractionAt(event) * duration);
  });
  timeline.addEventListener("pointermove", (event) => {
    hover(event);
    if (dragging) seek(fractionAt(event) * duration);
  });
  for (const type of ["pointerup", "pointercancel"]) timeline.addEventListener(type, () => { dragging = false; });
  timeline.addEventListener("pointerleave", () => { if (!dragging) $("hover-thumb").hidden = true; });

  const previewTrack = [teacherCam, ...videos].find((t) => t && t.previews) || null;
  const previews = previewTrack ? previewTrack.previews : null;
  let cues = [];

  function parseStamp(text) {
    return text.split(":").reduce((total, part) => total * 60 + Number(part), 0);
  }

  // WebVTT thumbnails: "hh:mm:ss.mmm --> hh:mm:ss.mmm" then "sprite.jpg#xywh=x,y,w,h".
  function parseVtt(text) {
    const found = [];
    for (const block of text.replace(/\r/g, "").split(/\n{2,}/)) {
      const lines = block.split("\n").filter(Boolean);
      const at = lines.findIndex((line) => line.includes("-->"));
      if (at < 0 || !lines[at + 1]) continue;
      const [start, end] = lines[at].split("-->").map((part) => parseStamp(part.trim().split(/\s+/)[0]));
      const box = /#xywh=(\d+),(\d+),(\d+),(\d+)/.exec(lines[at + 1]);
      if (box && Number.isFinite(start) && Number.isFinite(end)) {
        found.push({ start, end, x: Number(box[1]), y: Number(box[2]), w: Number(box[3]), h: Number(box[4]) });
      }
    }
    return found;
  }

  if (previews && previews.vtt && previews.sprite) {
    fetch(previews.vtt, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : ""))
      .then((text) => { cues = parseVtt(text); })
      .catch(() => { cues = []; });
  }

  function hover(event) {
    const box = $("hover-thumb");
    const t = fractionAt(event) * duration;
    const local = t - (previewTrack ? previewTrack.offset || 0 : 0);
    const cue = cues.find((c) => local >= c.start && local < c.end);
    const sprite = box.querySelector(".sprite");
    sprite.hidden = !cue;
    if (cue) {
      sprite.style.width = `${cue.w}px`;
      sprite.style.height = `${cue.h}px`;
      sprite.style.backgroundImage = `url(${JSON.stringify(previews.sprite)})`;
      sprite.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    }
    box.querySelector(".at").textContent = clock(t, long);
    box.hidden = false;
    const area = trackArea.getBoundingClientRect();
    const width = box.offsetWidth;
    box.style.left = `${clamp(event.clientX - area.left - width / 2, 0, Math.max(0, area.width - width))}px`;
  }

  // A row of thumbnails (about 20 across the lesson, whatever its length) that seek.
  const thumbs = [];
  if (previews && previews.thumbnails && previews.thumbnails.length) {
    const every = previews.every_s || 10;
    const step = Math.max(1, Math.ceil(previews.thumbnails.length / 20));
    for (let k = 0; k < previews.thumbnails.length; k += step) {
      const at = (previewTrack.offset || 0) + k * every;
      const button = el("button", { type: "button", class: "thumb", title: clock(at, long) },
        el("img", { src: previews.thumbnails[k], alt: "", loading: "lazy" }), el("span", {}, clock(at, long)));
      button.addEventListener("click", () => seek(at));
      thumbs.push({ at, button });
    }
    $("thumbs").replaceChildren(...thumbs.map((thumb) => thumb.button));
  } else {
    $("thumbs").hidden = true;
  }

  function drawTalk() {
    const talk = CONFIG.talk;
    const [teacherLane, studentLane] = $("talk-strip").querySelectorAll(".lane");
    const legend = [];
    if (!talk) {
      $("talk-strip").classList.add("empty");
      $("talk-strip").title = T("review.talk.none");
      return;
    }
    const bar = (interval, title, colour) => {
      const span = el("span", { class: "talk", title });
      span.style.left = pct(interval[0]);
      span.style.width = `max(1px, ${pct(interval[1] - interval[0])})`;
      if (colour) span.style.background = colour;
      return span;
    };
    const teacherName = T("review.talk.teacher");
    teacherLane.replaceChildren(...(talk.teacher || []).map((i) => bar(i, teacherName)));
    legend.push(el("span", { class: "key" }, el("span", { class: "swatch teacher" }), teacherName));
    const parts = [];
    Object.entries(talk.students || {}).forEach(([identity, intervals], n) => {
      const colour = CLASSROOM_COLOURS[n % CLASSROOM_COLOURS.length];
      const name = nameOf(identity);
      for (const interval of intervals || []) parts.push(bar(interval, name, colour));
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = colour;
      legend.push(el("span", { class: "key" }, swatch, name));
    });
    studentLane.replaceChildren(...parts);
    $("talk-legend").replaceChildren(...legend);
  }
  drawTalk();

  const drawHooks = []; // the notes' per-frame work (the comment form's time)
  let lastThumb = null;
  let lastClock = "";
  function draw(t) {
    const text = `${clock(t, long)} / ${clock(duration, long)}`;
    if (text !== lastClock) {
      $("time").textContent = text;
      lastClock = text;
      timeline.setAttribute("aria-valuenow", String(Math.floor(t)));
      timeline.setAttribute("aria-valuetext", clock(t, long));
    }
    $("cursor").style.left = pct(t);
    $("played").style.width = pct(t);
    for (const hook of drawHooks) hook(t);
    let current = null;
    for (const thumb of thumbs) if (thumb.at <= t) current = thumb;
    if (current !== lastThumb) {
      if (lastThumb) lastThumb.button.classList.remove("current");
      if (current) current.button.classList.add("current");
      lastThumb = current;
    }
  }

  function frame() {
    if (clockState.playing) draw(lessonTime());
    requestAnimationFrame(frame);
  }

  // ---- keys, notes, start ---------------------------------------------------------------

  const notes = window.sankeReviewNotes({
    T, el, $, clock, parseClock, recall, remember, say, request, message, pct, seek, toggle,
    lessonTime, CONFIG, api, me, groups, rubric, CATEGORIES, duration, long, drawHooks,
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const target = event.target instanceof Element ? event.target : document.body;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === " " || event.code === "Space") {
      if (target.closest("button, a")) return; // the focused button's own click
      event.preventDefault();
      toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      seek(lessonTime() + (event.key === "ArrowLeft" ? -STEP_S : STEP_S));
    }
  });

  window.sankeReview = {
    lessonTime,
    seek,
    play,
    pause,
    master: master.key,
    get media() { return Object.fromEntries(slots.filter((s) => s.track).map((s) => [s.key, s.element])); },
    get tracks() { return Object.fromEntries(slots.filter((s) => s.track).map((s) => [s.key, s.track])); },
    get comments() { return notes.comments; },
  };

  showPlaying();
  notes.start();
  const start = /(?:^#|&)t=([\d.:]+)/.exec(location.hash);
  seek(start ? parseClock(start[1]) || 0 : 0);
  requestAnimationFrame(frame);
})();
