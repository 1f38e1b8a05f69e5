// Reviewing a lesson recording (评课): every track of the lesson on one clock, a
// timeline (thumbnails, talk time, comment markers), time-coded comments and replies,
// the rubric scores, and clips. The server's side is the review API
// (/api/v1/recordings/{rec}/...); the page's config is GET /api/v1/recordings/{rec}.
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
    if (!atPinned) showAt(t);
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

  // ---- comments ----------------------------------------------------------------------

  let comments = [];
  const categoryOf = (c) => (CATEGORIES.includes(c.category) ? c.category : "note");
  const itemOf = (id) => (rubric.items || []).find((item) => item.id === id) || null;
  const groupName = (id) => (groups.find((g) => g.id === id) || {}).name || "";
  const groupById = (value) => groups.find((g) => String(g.id) === value) || null;
  const spanOf = (c) => (c.until !== null && c.until !== undefined ? `${clock(c.at, long)}–${clock(c.until, long)}` : clock(c.at, long));

  function visibilityText(c) {
    if (c.visibility === "group" && groupName(c.group)) return T("review.visibility.group_named", { name: groupName(c.group) });
    return T(`review.visibility.${c.visibility}`);
  }

  function sortComments() {
    comments.sort((a, b) => a.at - b.at || String(a.created_at).localeCompare(String(b.created_at)));
  }

  function drawComments() {
    $("comments-count").textContent = `(${comments.length})`;
    const list = $("comments");
    if (!comments.length) list.replaceChildren(el("li", { class: "empty muted" }, T("review.comments.none")));
    else list.replaceChildren(...comments.map(commentItem));
    drawMarkers();
  }

  function commentItem(c) {
    const category = categoryOf(c);
    const item = c.rubric_item ? itemOf(c.rubric_item) : null;
    const level = item && (item.scale || []).find((v) => v.value === c.value);
    const at = el("button", { type: "button", class: "at link", title: T("review.comments.seek") }, spanOf(c));
    at.addEventListener("click", () => { seek(c.at); highlight(c.id, false); });
    const remove = c.mine ? el("button", { type: "button", class: "delete link" }, T("review.comments.delete")) : null;
    if (remove) remove.addEventListener("click", () => removeComment(c));
    const head = el("div", { class: "comment-head" }, at,
      el("span", { class: `chip cat-${category}` }, T(`review.category.${category}`)),
      el("span", { class: "author" }, c.author ? c.author.name : ""),
      el("span", { class: `visibility vis-${c.visibility}`, title: visibilityText(c) }, T(`review.visibility.short.${c.visibility}`)),
      remove);
    const scored = item && c.value !== null && c.value !== undefined
      ? el("div", { class: "rubric-ref" }, level
        ? T("review.comments.rubric", { item: item.label, value: c.value, label: level.label })
        : T("review.comments.rubric_plain", { item: item.label, value: c.value }))
      : null;
    const replies = el("ol", { class: "replies" }, ...(c.replies || []).map((r) => el("li", {},
      el("span", { class: "author" }, r.author ? r.author.name : ""), " ", el("span", { class: "text" }, r.text))));
    const node = el("li", { class: `comment cat-${category}`, "data-id": c.id }, head, scored,
      el("p", { class: "text" }, c.text), replies, me.can_review ? replyForm(c) : null);
    return node;
  }

  function replyForm(c) {
    const input = el("input", { type: "text", maxlength: 2000, placeholder: T("review.reply.placeholder"), "aria-label": T("review.reply.placeholder") });
    const error = el("div", { class: "error", role: "alert", hidden: "" });
    const form = el("form", { class: "reply-form", novalidate: "" }, input,
      el("button", { type: "submit", class: "small-button" }, T("review.reply.submit")), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return say(error, T("review.form.error.text"));
      try {
        const reply = await request(`${api}/comments/${encodeURIComponent(c.id)}/replies`, "POST", { text });
        c.replies = [...(c.replies || []), reply];
        const old = document.querySelector(`#comments .comment[data-id="${CSS.escape(String(c.id))}"]`);
        if (old) old.replaceWith(commentItem(c));
      } catch (failure) {
        say(error, failure.message);
      }
    });
    return form;
  }

  async function removeComment(c) {
    if (!window.confirm(T("review.comments.delete_confirm"))) return;
    try {
      await request(`${api}/comments/${encodeURIComponent(c.id)}`, "DELETE");
      comments = comments.filter((other) => other.id !== c.id);
      drawComments();
    } catch (failure) {
      say(message, failure.message);
    }
  }

  function drawMarkers() {
    $("markers").replaceChildren(...comments.map((c) => {
      const range = c.until !== null && c.until !== undefined;
      const category = categoryOf(c);
      const marker = el("button", { type: "button", class: `marker ${range ? "range" : "dot"} cat-${category}`, "data-id": c.id,
        title: T("review.marker.title", { time: spanOf(c), category: T(`review.category.${category}`), text: String(c.text || "").slice(0, 80) }) });
      marker.style.left = pct(c.at);
      if (range) marker.style.width = pct(c.until - c.at);
      marker.addEventListener("click", (event) => {
        event.stopPropagation();
        seek(c.at);
        highlight(c.id, true);
      });
      return marker;
    }));
  }

  function highlight(id, scroll) {
    showTab("comments");
    const key = String(id);
    for (const node of document.querySelectorAll("#comments .comment, #markers .marker")) {
      node.classList.toggle("highlight", node.dataset.id === key);
    }
    const item = document.querySelector(`#comments .comment[data-id="${CSS.escape(key)}"]`);
    if (item && scroll) item.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  async function loadComments() {
    try {
      comments = (await request(`${api}/comments`)) || [];
      sortComments();
      drawComments();
    } catch (failure) {
      comments = [];
      drawComments();
      say(message, T("review.error.comments", { detail: failure.message }));
    }
  }

  // ---- the comment form ------------------------------------------------------------------

  const form = $("comment-form");
  const atInput = $("comment-at");
  const untilInput = $("comment-until");
  const textInput = $("comment-text");
  const itemSelect = $("comment-item");
  const valueSelect = $("comment-value");
  const visibilitySelect = $("comment-visibility");
  const groupSelect = $("comment-group");
  const formError = $("form-error");
  // "at" follows the playhead until the reviewer starts writing (or sets it), then stays.
  let atPinned = false;
  let atValue = 0;
  let untilValue = null;

  function showAt(t) {
    atValue = t;
    atInput.value = clock(t, long);
  }

  function pinAt(t) {
    showAt(t);
    atPinned = true;
  }

  // The typed time, or the exact time behind it when the field still shows it.
  const timeOf = (input, exact) => (exact !== null && input.value === clock(exact, long) ? exact : parseClock(input.value));

  $("comment-category").replaceChildren(...CATEGORIES.map((c) => el("option", { value: c }, T(`review.category.${c}`))));
  itemSelect.append(...(rubric.items || []).map((item) => el("option", { value: item.id }, item.label)));
  itemSelect.disabled = !(rubric.items || []).length;
  itemSelect.addEventListener("change", () => {
    const item = itemOf(itemSelect.value);
    valueSelect.replaceChildren(...(item ? [el("option", { value: "" }, T("review.form.value_choose")),
      ...(item.scale || []).map((v) => el("option", { value: v.value }, `${v.value} · ${v.label}`))] : []));
    valueSelect.disabled = !item;
    $("comment-value-field").hidden = !item;
  });
  groupSelect.replaceChildren(...groups.map((g) => el("option", { value: g.id }, g.name)));
  visibilitySelect.querySelector('option[value="group"]').disabled = !groups.length;
  const remembered = recall("sanke.review.visibility");
  visibilitySelect.value = remembered && (remembered !== "group" || groups.length) ? remembered : groups.length ? "group" : "me";
  const rememberedGroup = recall("sanke.review.group");
  if (rememberedGroup && groupById(rememberedGroup)) groupSelect.value = rememberedGroup;
  const showGroup = () => { $("comment-group-field").hidden = visibilitySelect.value !== "group"; };
  visibilitySelect.addEventListener("change", showGroup);
  showGroup();

  $("comment-now").addEventListener("click", () => pinAt(lessonTime()));
  atInput.addEventListener("input", () => { atPinned = true; });
  $("comment-mark-end").addEventListener("click", () => {
    untilValue = lessonTime();
    untilInput.value = clock(untilValue, long);
  });
  untilInput.addEventListener("input", () => { untilValue = null; });
  textInput.addEventListener("input", () => {
    if (!atPinned) pinAt(lessonTime());
    $("comment-count").textContent = `${textInput.value.length}/2000`;
  });

  // The body to POST, or the sentence saying what is missing.
  function readForm() {
    const at = timeOf(atInput, atValue);
    const until = untilInput.value.trim() ? timeOf(untilInput, untilValue) : null;
    const text = textInput.value.trim();
    if (!Number.isFinite(at) || at < 0 || at > duration + 1) return T("review.form.error.at");
    if (until !== null && !Number.isFinite(until)) return T("review.form.error.until");
    if (until !== null && until <= at) return T("review.form.error.until_order");
    if (!text) return T("review.form.error.text");
    if (text.length > 2000) return T("review.form.error.too_long");
    const body = { at: Math.round(at * 10) / 10, category: $("comment-category").value, text, visibility: visibilitySelect.value };
    if (until !== null) body.until = Math.round(until * 10) / 10;
    if (body.visibility === "group") {
      const group = groupById(groupSelect.value);
      if (!group) return T("review.form.error.group");
      body.group = group.id;
    }
    if (itemSelect.value) {
      if (!valueSelect.value) return T("review.form.error.value");
      body.rubric_item = itemSelect.value;
      body.value = Number(valueSelect.value);
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(formError, "");
    const body = readForm();
    if (typeof body === "string") return say(formError, body);
    const submit = $("comment-submit");
    submit.disabled = true;
    try {
      const created = await request(`${api}/comments`, "POST", body);
      comments.push(created);
      sortComments();
      drawComments();
      highlight(created.id, true);
      remember("sanke.review.visibility", body.visibility);
      if (body.group !== undefined) remember("sanke.review.group", String(body.group));
      textInput.value = "";
      $("comment-count").textContent = "0/2000";
      untilInput.value = "";
      untilValue = null;
      itemSelect.value = "";
      itemSelect.dispatchEvent(new Event("change"));
      atPinned = false;
      showAt(lessonTime());
    } catch (failure) {
      say(formError, failure.message);
    } finally {
      submit.disabled = false;
    }
  });

  if (!me.can_review) {
    form.hidden = true;
    $("comment-readonly").hidden = false;
  }

  // ---- scores (评分量表) ---------------------------------------------------------------

  const scoreInputs = {};

  function drawScoreForm(scale, mine) {
    $("rubric-name").textContent = scale.name || "";
    if (!(scale.items || []).length) {
      $("score-items").replaceChildren(el("p", { class: "muted" }, T("review.scores.no_rubric")));
      $("scores-save").hidden = true;
      return;
    }
    $("score-items").replaceChildren(...scale.items.map((item) => {
      scoreInputs[item.id] = (item.scale || []).map((v) => el("input", { type: "radio", name: `score-${item.id}`, value: v.value,
        checked: mine[item.id] === v.value ? "" : null }));
      return el("fieldset", { class: "score-item", "data-item": item.id }, el("legend", {}, item.label),
        ...(item.scale || []).map((v, i) => el("label", {}, scoreInputs[item.id][i], el("strong", {}, String(v.value)), ` ${v.label}`)));
    }));
  }

  function drawScoreTable(data) {
    const items = (data.rubric || rubric).items || [];
    const number = (value, digits) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));
    const head = el("tr", {}, el("th", {}, T("review.scores.reviewer")), ...items.map((item) => el("th", { class: "num", title: item.label }, item.label)),
      el("th", { class: "num" }, T("review.scores.total")));
    const rows = (data.reviewers || []).map((r) => el("tr", { class: r.complete ? "" : "incomplete" },
      el("td", {}, r.name, r.complete ? null : el("span", { class: "muted" }, ` ${T("review.scores.incomplete")}`)),
      ...items.map((item) => el("td", { class: "num" }, number((r.scores || {})[item.id], 0))),
      el("td", { class: "num" }, `${number(r.total, 0)} / ${number(r.max, 0)}`)));
    const average = data.average || {};
    const foot = el("tr", { class: "average" }, el("th", {}, T("review.scores.average", { n: average.reviewers || 0 })),
      ...items.map((item) => el("td", { class: "num" }, number((average.per_item || {})[item.id], 1))),
      el("td", { class: "num" }, number(average.total, 1)));
    const body = rows.length ? rows : [el("tr", {}, el("td", { colspan: items.length + 2, class: "muted" }, T("review.scores.none")))];
    $("scores-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body), el("tfoot", {}, foot));
  }

  async function loadScores() {
    try {
      const data = await request(`${api}/scores`);
      drawScoreForm(data.rubric || rubric, data.mine || {});
      drawScoreTable(data);
    } catch (failure) {
      say($("scores-result"), failure.message);
    }
  }

  $("scores-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const scores = {};
    for (const [item, inputs] of Object.entries(scoreInputs)) {
      const checked = inputs.find((input) => input.checked);
      if (checked) scores[item] = Number(checked.value);
    }
    const result = $("scores-result");
    if (!Object.keys(scores).length) {
      result.className = "error";
      return say(result, T("review.scores.empty"));
    }
    try {
      const data = await request(`${api}/scores`, "PUT", { scores });
      drawScoreTable(data);
      result.className = "ok";
      say(result, T("review.scores.saved"));
    } catch (failure) {
      result.className = "error";
      say(result, failure.message);
    }
  });
  if (!me.can_review) $("scores-form").hidden = true;

  // ---- clips (剪辑片段) -------------------------------------------------------------------

  let clips = CONFIG.clips || [];
  let clipStart = null;
  let clipEnd = null;
  let pollTimer = null;
  let pollUntil = 0;
  const clipError = $("clip-error");

  $("clip-group").append(...groups.map((g) => el("option", { value: g.id }, g.name)));
  $("clip-set-start").addEventListener("click", () => { clipStart = lessonTime(); $("clip-start").textContent = clock(clipStart, long); });
  $("clip-set-end").addEventListener("click", () => { clipEnd = lessonTime(); $("clip-end").textContent = clock(clipEnd, long); });

  function drawClips() {
    const list = $("clips");
    if (!clips.length) return list.replaceChildren(el("li", { class: "muted" }, T("review.clip.none")));
    list.replaceChildren(...clips.map((clip) => {
      const state = ["queued", "ready", "failed"].includes(clip.state) ? clip.state : "queued";
      const jump = el("button", { type: "button", class: "at link" }, `${clock(clip.start, long)}–${clock(clip.end, long)}`);
      jump.addEventListener("click", () => seek(clip.start));
      return el("li", { class: `clip clip-${state}`, "data-id": clip.id },
        el("strong", {}, clip.title), " ", jump, " ",
        el("span", { class: `badge clip-${state}` }, T(`review.clip.state.${state}`)),
        clip.author ? el("span", { class: "muted" }, ` ${typeof clip.author === "object" ? clip.author.name : clip.author}`) : null,
        state === "ready" && clip.url ? el("a", { href: clip.url, target: "_blank", rel: "noopener", class: "open" }, T("review.clip.open")) : null);
    }));
  }

  async function refreshClips() {
    if (!clips.some((c) => c.state === "queued") || Date.now() > pollUntil) {
      clearInterval(pollTimer);
      pollTimer = null;
      return;
    }
    try {
      clips = (await request(`${api}/clips`)) || [];
      drawClips();
    } catch (failure) { /* the next poll tries again */ }
  }

  // While a clip is being cut: ask every 5 s, for 5 minutes at most.
  function poll() {
    pollUntil = Date.now() + 5 * 60 * 1000;
    if (!pollTimer) pollTimer = setInterval(refreshClips, 5000);
  }

  $("clip-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say(clipError, "");
    const title = $("clip-title").value.trim();
    if (clipStart === null || clipEnd === null) return say(clipError, T("review.clip.error.marks"));
    if (clipEnd <= clipStart) return say(clipError, T("review.clip.error.order"));
    if (!title) return say(clipError, T("review.clip.error.title"));
    const body = { start: Math.round(clipStart * 10) / 10, end: Math.round(clipEnd * 10) / 10, title };
    const group = groupById($("clip-group").value);
    if (group) body.group = group.id;
    const submit = $("clip-submit");
    submit.disabled = true;
    try {
      const clip = await request(`${api}/clips`, "POST", body);
      clips = [clip, ...clips.filter((c) => c.id !== clip.id)];
      drawClips();
      $("clip-title").value = "";
      poll();
    } catch (failure) {
      say(clipError, failure.message);
    } finally {
      submit.disabled = false;
    }
  });
  if (!me.can_review) $("clip-form").hidden = true;

  // ---- tabs, keys, start -----------------------------------------------------------------

  function showTab(name) {
    for (const tab of document.querySelectorAll('.tabs [role="tab"]')) {
      const selected = tab.id === `tab-${name}`;
      tab.setAttribute("aria-selected", String(selected));
      $(tab.getAttribute("aria-controls")).hidden = !selected;
    }
  }
  for (const tab of document.querySelectorAll('.tabs [role="tab"]')) tab.addEventListener("click", () => showTab(tab.id.slice(4)));

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
    get comments() { return comments; },
  };

  showPlaying();
  drawClips();
  if (clips.some((c) => c.state === "queued")) poll();
  loadComments();
  loadScores();
  const start = /(?:^#|&)t=([\d.:]+)/.exec(location.hash);
  seek(start ? parseClock(start[1]) || 0 : 0);
  requestAnimationFrame(frame);
})();
