// The patrol wall: the region's live lessons as a grid of low-bitrate tiles that
// rotate; click one to drop in silently at full quality and record an inspection.
// The inspector is hidden: teachers and classrooms do not see it in the room.
"use strict";

(() => {
  const wall = document.getElementById("wall");
  const perPage = document.getElementById("per-page");
  const rotate = document.getElementById("rotate");
  let lessons = [];
  let page = 0;
  let lastTurn = Date.now();
  const tiles = new Map();   // lesson -> {tile, video, media, joining}
  let focus = null;          // {lesson, media}

  async function refresh() {
    let body;
    try {
      body = await fetchJson("/api/v1/patrol");
    } catch (error) {
      if (error.code === "login_required") location.href = "/login?next=/patrol";
      return;
    }
    lessons = body.lessons;
    draw();
    if (LIVE_CONFIG.focus && !focus) {
      const wanted = lessons.find((l) => l.lesson === LIVE_CONFIG.focus);
      if (wanted) dropIn(wanted);
    }
  }

  function pages() {
    return Math.max(1, Math.ceil(lessons.length / Number(perPage.value)));
  }

  function draw() {
    const size = Number(perPage.value);
    page = Math.min(page, pages() - 1);
    wall.className = `wall per-${size}`;
    document.getElementById("empty").hidden = lessons.length > 0;
    document.getElementById("page-label").textContent = T("live.patrol.page", { page: page + 1, pages: pages() });
    const shown = lessons.slice(page * size, page * size + size);
    const keep = new Set(shown.map((l) => l.lesson));
    for (const [id, entry] of tiles) {
      if (!keep.has(id)) {
        if (entry.media) entry.media.leave();
        entry.tile.remove();
        tiles.delete(id);
      }
    }
    for (const lesson of shown) {
      const entry = tiles.get(lesson.lesson) || makeTile(lesson);
      wall.append(entry.tile);  // keeps the order
      update(entry, lesson);
    }
  }

  function makeTile(lesson) {
    const video = el("video", { autoplay: "", playsinline: "", muted: "" });
    video.muted = true;
    const info = el("div", { class: "info" });
    const alerts = el("div", { class: "alerts" });
    const tile = el("button", { class: "tile lesson-tile", type: "button", "data-lesson": lesson.lesson }, video, info, alerts);
    tile.addEventListener("click", () => dropIn(lessons.find((l) => l.lesson === lesson.lesson) || lesson));
    const entry = { tile, video, info, alerts, media: null, joining: false };
    tiles.set(lesson.lesson, entry);
    watch(entry, lesson.lesson);
    return entry;
  }

  async function watch(entry, lesson) {
    entry.joining = true;
    try {
      entry.media = await joinMedia(lesson);
      const follow = () => {
        const snapshot = lessons.find((l) => l.lesson === lesson);
        if (!snapshot || !entry.media) return;
        const camera = sourcesOf(entry.media, snapshot.teacher.identity).find((s) => s.source === "camera");
        if (camera && !entry.media._subscriptions.has(camera.id)) {
          entry.media.subscribe(camera.id, "video").then((track) => {
            entry.media.setLayer(camera.id, "low");
            attach(entry.video, track);
          }).catch(() => {});
        }
      };
      entry.media.addEventListener("tracks", follow);
      follow();
    } catch (error) {
      entry.info.dataset.error = error.message;
    } finally {
      entry.joining = false;
    }
  }

  function alertsOf(lesson) {
    const list = lesson.alerts.map((a) => a.alert);
    if (lesson.state === "live" || lesson.state === "open") {
      if (!lesson.teacher.present) list.unshift("teacher_absent");
    }
    return [...new Set(list)];
  }

  function update(entry, lesson) {
    const joined = lesson.receivers.filter((r) => r.present).length;
    entry.info.replaceChildren(
      el("strong", {}, `${lesson.teacher.school} · ${lesson.subject} ${T("live.grade", { grade: lesson.grade })}`),
      el("span", {}, `${lesson.teacher.name} · ${T(`live.state.${lesson.state}`)} · ${T("live.receivers_joined", { joined, total: lesson.receivers.length })}`),
    );
    const alerts = alertsOf(lesson);
    entry.alerts.replaceChildren(...alerts.map((a) => el("span", { class: `alert alert-${a}` }, T(`live.alert.${a}`))));
    entry.tile.classList.toggle("alerting", alerts.length > 0);
  }

  async function dropIn(lesson) {
    closeDropIn();
    const box = document.getElementById("drop-in");
    box.hidden = false;
    document.getElementById("drop-title").textContent = `${lesson.teacher.school} · ${lesson.subject} · ${lesson.teacher.name}`;
    document.getElementById("inspection-result").textContent = "";
    const current = { lesson: lesson.lesson, media: null };
    focus = current;
    // The wall's tile already holds a connection; the drop-in uses it at full quality.
    const entry = tiles.get(lesson.lesson);
    const media = entry && entry.media ? entry.media : await joinMedia(lesson.lesson).catch(() => null);
    if (!media || focus !== current) return;
    current.media = media;
    current.own = !(entry && entry.media === media);
    const receivers = document.getElementById("drop-receivers");
    receivers.replaceChildren();
    const follow = () => {
      if (focus !== current) return;
      for (const s of media.tracks) {
        const teacher = s.identity === lesson.teacher.identity;
        if (!teacher && s.source !== "camera") continue;
        media.subscribe(s.id, s.kind).then((track) => {
          if (teacher && s.source === "camera") { media.setLayer(s.id, "high"); attach(document.getElementById("drop-teacher"), track); }
          else if (teacher && s.source === "microphone") attach(document.getElementById("drop-audio"), track);
          else if (teacher && s.source === "screen") { const v = document.getElementById("drop-courseware"); v.hidden = false; attach(v, track); }
          else if (!receivers.querySelector(`[data-source="${CSS.escape(s.id)}"]`)) {
            const v = el("video", { autoplay: "", playsinline: "", muted: "" });
            v.muted = true;
            const snapshot = lessons.find((l) => l.lesson === lesson.lesson) || lesson;
            const receiver = snapshot.receivers.find((r) => r.identity === s.identity);
            receivers.append(el("div", { class: "tile", "data-source": s.id }, v,
              el("span", { class: "label" }, receiver ? receiver.school : s.identity)));
            attach(v, track);
          }
        }).catch(() => {});
      }
    };
    current.follow = follow;
    media.addEventListener("tracks", follow);
    follow();
  }

  function closeDropIn() {
    const current = focus;
    focus = null;
    document.getElementById("drop-in").hidden = true;
    document.getElementById("drop-courseware").hidden = true;
    if (!current || !current.media) return;
    current.media.removeEventListener("tracks", current.follow);
    if (current.own) { current.media.leave(); return; }
    for (const id of [...current.media._subscriptions.keys()]) {
      const s = current.media.tracks.find((t) => t.id === id);
      const lesson = lessons.find((l) => l.lesson === current.lesson);
      if (s && lesson && s.identity === lesson.teacher.identity && s.source === "camera") current.media.setLayer(id, "low");
      else current.media.unsubscribe(id);
    }
  }

  function drawChecklist() {
    const box = document.getElementById("checklist");
    box.replaceChildren(...LIVE_CONFIG.checklist.map((item, index) => el("fieldset", { class: "score" },
      el("legend", {}, item),
      ...[1, 2, 3, 4, 5].map((n) => el("label", {}, el("input", { type: "radio", name: `item-${index}`, value: n }), ` ${n}`)))));
  }

  document.getElementById("inspection").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!focus) return;
    const scores = {};
    LIVE_CONFIG.checklist.forEach((item, index) => {
      const checked = document.querySelector(`input[name="item-${index}"]:checked`);
      if (checked) scores[item] = Number(checked.value);
    });
    const result = document.getElementById("inspection-result");
    try {
      await fetchJson(`/api/v1/lessons/${encodeURIComponent(focus.lesson)}/inspections`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ scores, notes: document.getElementById("notes").value }),
      });
      const lesson = lessons.find((l) => l.lesson === focus.lesson);
      const minute = lesson ? Math.max(0, Math.floor((Date.now() - Date.parse(lesson.starts_at)) / 60000)) : 0;
      result.textContent = T("live.patrol.saved", { minute });
      result.className = "ok";
      event.target.reset();
    } catch (error) {
      result.textContent = error.message;
      result.className = "error";
    }
  });

  document.getElementById("drop-close").addEventListener("click", closeDropIn);
  document.getElementById("prev").addEventListener("click", () => { page = (page - 1 + pages()) % pages(); lastTurn = Date.now(); draw(); });
  document.getElementById("next").addEventListener("click", () => { page = (page + 1) % pages(); lastTurn = Date.now(); draw(); });
  perPage.addEventListener("change", () => { page = 0; draw(); });
  setInterval(() => {
    const seconds = Number(rotate.value);
    if (seconds && !focus && pages() > 1 && Date.now() - lastTurn >= seconds * 1000) {
      page = (page + 1) % pages();
      lastTurn = Date.now();
      draw();
    }
  }, 1000);

  drawChecklist();
  refresh();
  setInterval(refresh, 5000);
})();
