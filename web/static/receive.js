// The receiving-classroom kiosk: no one at the keyboard. It shows the next lesson,
// joins by itself when the room opens, shows the teacher and the courseware full
// screen, publishes the classroom camera (and the microphone while called on), and
// comes back by itself after a network loss, a server restart or a reboot.
"use strict";

(() => {
  const classroom = LIVE_CONFIG.classroom;
  const me = LIVE_CONFIG.identity;
  const notice = document.getElementById("notice");
  const hand = document.getElementById("hand");
  let lesson = null;       // the lesson joined
  let channel = null;
  let media = null;
  let joining = false;
  let snapshot = null;
  let camera = null;
  let microphone = null;
  let stopStats = null;
  let stopped = false;     // another device took over: do nothing until reloaded
  let problem = "";        // what the page says is wrong (camera, network)

  function say(text, kind) {
    notice.textContent = text || "";
    notice.className = `notice ${kind || ""}`;
    notice.hidden = !text;
  }

  function sayProblems() {
    if (stopped) return;
    if (problem) return say(problem, "warn");
    if (!snapshot) return;
    if (snapshot.controls.paused) return say(T("live.paused"), "info");
    if (!snapshot.teacher.present) return say(T("live.teacher_waiting"), "info");
    say("");
  }

  async function poll() {
    if (stopped) return;
    let lessons;
    try {
      lessons = await fetchJson(`/api/v1/classrooms/${encodeURIComponent(classroom)}/lessons`);
    } catch (error) {
      if (error.code === "login_required") { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
      if (!lesson) say(T("live.no_server"), "warn");
      return;
    }
    const now = Date.now();
    const current = lessons.find((l) => l.state === "open" || l.state === "live");
    if (current && current.lesson !== lesson) return join(current);
    if (!current && !lesson) {
      const next = lessons.find((l) => l.state === "scheduled" && Date.parse(l.ends_at) > now);
      document.getElementById("lesson-title").textContent = "";
      if (next) {
        const opens = new Date(Date.parse(next.starts_at) - 10 * 60000);
        say(`${T("live.next")}：${next.subject} · ${T("live.grade", { grade: next.grade })} · ${next.teacher}（${next.school}）\n${clock(new Date(next.starts_at))} · ${T("live.opens_at", { time: clock(opens) })}`, "info");
      } else {
        const cancelled = lessons.find((l) => l.end_reason === "cancelled" && Date.parse(l.ends_at) > now);
        say(cancelled ? T("lesson.error.cancelled") : T("live.no_more"), "info");
      }
    }
  }

  async function join(row) {
    if (joining) return;
    joining = true;
    leave();
    lesson = row.lesson;
    document.getElementById("lesson-title").textContent = `${row.subject} · ${T("live.grade", { grade: row.grade })} · ${row.teacher}`;
    say(T("live.waiting"), "info");
    try {
      channel = window.sankeLesson = new LessonChannel(lesson, classroom);
      channel.addEventListener("snapshot", (event) => render(event.detail));
      channel.addEventListener("final", (event) => final(event.detail));
      channel.addEventListener("lost", () => { problem = T("live.no_network"); sayProblems(); });
      channel.addEventListener("open", () => { problem = camera ? "" : problem; sayProblems(); });
      try {
        camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 15 } });
        attach(document.getElementById("preview"), camera.getVideoTracks()[0]);
      } catch (error) {
        problem = T("live.no_camera");
      }
      media = window.sankeMedia = await joinMedia(lesson, classroom);
      media.addEventListener("tracks", () => follow());
      media.addEventListener("grant", () => speak());
      media.addEventListener("state", (event) => {
        if (event.detail.state === "reconnecting") { problem = T("live.no_network"); sayProblems(); }
        if (event.detail.state === "joined") { problem = camera ? "" : T("live.no_camera"); sayProblems(); }
      });
      media.addEventListener("error", (event) => {
        const code = event.detail.code || "";
        if (code.startsWith("lesson_")) { leave(); say(T("live.ended"), "info"); }
      });
      if (camera) await media.publish(camera.getVideoTracks()[0], "camera", "high");
      stopStats = reportStats(media, channel);
      follow();
      speak();
    } catch (error) {
      if (error.code && FINAL_CODES.has(error.code)) {
        leave();
        say(error.message, "warn");
      } else {
        leave();  // try again at the next poll
        say(T("live.no_server"), "warn");
      }
    } finally {
      joining = false;
    }
  }

  function leave() {
    if (stopStats) stopStats();
    stopStats = null;
    if (channel) channel.close();
    if (media) media.leave();
    if (camera) camera.getTracks().forEach((t) => t.stop());
    if (microphone) microphone.getTracks().forEach((t) => t.stop());
    channel = media = camera = microphone = snapshot = null;
    lesson = null;
    hand.disabled = true;
  }

  function final(detail) {
    if (detail.code === "replaced") {
      stopped = true;
      if (media) media.stop();  // without leaving: the other device is in the room now
      media = null;
      if (channel) channel.close();
      for (const stream of [camera, microphone]) if (stream) stream.getTracks().forEach((t) => t.stop());
      hand.disabled = true;
      say(detail.message, "warn");
      const button = el("button", { type: "button", class: "take-over" }, T("live.take_over"));
      button.addEventListener("click", () => location.reload());
      notice.append(el("br"), button);
      return;
    }
    if (detail.code === "login_required") { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
    leave();
    say(detail.message, "info");
  }

  // The teacher's camera (or the courseware, teacher in the corner), the teacher's
  // microphone, and the classroom called on if it is not us.
  function follow() {
    if (!media || !snapshot) return;
    const teacher = snapshot.teacher.identity;
    const sources = sourcesOf(media, teacher);
    const screen = sources.find((s) => s.source === "screen" && !s.muted);
    const want = new Map();
    for (const s of sources) if (["camera", "microphone", "screen"].includes(s.source)) want.set(s.id, s);
    const called = snapshot.controls.called_on;
    if (called && called !== me) {
      for (const s of sourcesOf(media, called)) if (s.source === "camera" || s.source === "microphone") want.set(s.id, s);
    }
    for (const id of [...media._subscriptions.keys()]) if (!want.has(id)) media.unsubscribe(id);
    for (const s of want.values()) {
      media.subscribe(s.id, s.kind).then((track) => {
        if (s.identity === teacher) {
          if (s.source === "camera") { attach(document.getElementById("teacher"), track); attach(document.getElementById("teacher-pip"), track); }
          if (s.source === "microphone") attach(document.getElementById("teacher-audio"), track);
          if (s.source === "screen") attach(document.getElementById("courseware"), track);
        } else {
          attach(document.getElementById(s.kind === "video" ? "called-video" : "called-audio"), track);
        }
      }).catch(() => {});
    }
    document.getElementById("courseware").hidden = !screen;
    document.getElementById("teacher-pip").hidden = !screen;
    document.getElementById("teacher").hidden = !!screen;
    const calledTile = document.getElementById("called-tile");
    calledTile.hidden = !(called && called !== me);
    if (called && called !== me) {
      const receiver = snapshot.receivers.find((r) => r.identity === called);
      document.getElementById("called-name").textContent = receiver ? receiver.school : "";
    }
  }

  // While the grant includes the microphone, publish it; the SFU mutes it otherwise.
  async function speak() {
    if (!media || !media.canPublish) return;
    const allowed = media.canPublish.includes("microphone");
    document.getElementById("speaking").hidden = !allowed;
    if (!allowed) {  // the SFU stops forwarding it; stop capturing too
      if (microphone) microphone.getAudioTracks().forEach((t) => { t.enabled = false; });
      return;
    }
    if (!microphone) {
      try {
        microphone = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
        await media.publish(microphone.getAudioTracks()[0], "microphone", "high");
      } catch (error) {
        microphone = null;
      }
    } else {
      microphone.getAudioTracks().forEach((t) => { t.enabled = true; });
    }
  }

  function render(s) {
    snapshot = s;
    if (s.state === "ended" || s.state === "archived") {
      leave();
      say(s.end_reason === "cancelled" ? T("lesson.error.cancelled") : T("live.ended"), "info");
      return;
    }
    const mine = s.receivers.find((r) => r.identity === me);
    const raised = mine && mine.hand;
    hand.disabled = s.controls.interaction_disabled || (mine && mine.called_on);
    hand.classList.toggle("raised", !!raised);
    hand.querySelector("span").textContent = s.controls.interaction_disabled ? T("live.interaction_off") : raised ? T("live.lower_hand") : T("live.raise_hand");
    sayProblems();
    follow();
  }

  hand.addEventListener("click", () => {
    if (!channel || !snapshot) return;
    const mine = snapshot.receivers.find((r) => r.identity === me);
    channel.control(mine && mine.hand ? "lower_hand" : "raise_hand");
  });

  setInterval(() => { document.getElementById("clock").textContent = clock(new Date()); }, 1000);
  poll();
  setInterval(poll, 5000);
})();
