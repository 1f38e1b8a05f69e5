// Watching a live master lesson, hidden: the teacher, the courseware and the
// classroom called on, for teachers and researchers observing (名师课堂).
"use strict";

(() => {
  const lesson = LIVE_CONFIG.lesson;
  const channel = window.sankeLesson = new LessonChannel(lesson);
  const message = document.getElementById("message");
  let media = null;
  let snapshot = null;

  function say(text) {
    message.hidden = !text;
    message.textContent = text || "";
  }

  async function start() {
    if (media) return;
    media = true;
    try {
      media = window.sankeMedia = await joinMedia(lesson);
      media.addEventListener("tracks", follow);
      media.addEventListener("state", (event) => say(event.detail.state === "reconnecting" ? T("live.no_network") : ""));
      follow();
    } catch (error) {
      media = null;
      say(error.message);
    }
  }

  function follow() {
    if (!media || media === true || !snapshot) return;
    const teacher = snapshot.teacher.identity;
    const called = snapshot.controls.called_on;
    for (const s of media.tracks) {
      const wanted = s.identity === teacher || (called && s.identity === called && s.source !== "screen");
      if (!wanted) {
        media.unsubscribe(s.id);
        continue;
      }
      media.subscribe(s.id, s.kind).then((track) => {
        if (s.identity === teacher) {
          const target = { camera: "teacher", microphone: "teacher-audio", screen: "courseware" }[s.source];
          if (target) attach(document.getElementById(target), track);
          if (s.source === "screen") document.getElementById("courseware-tile").hidden = s.muted;
        } else {
          attach(document.getElementById(s.kind === "video" ? "called-video" : "called-audio"), track);
        }
      }).catch(() => {});
    }
    const calledTile = document.getElementById("called-tile");
    calledTile.hidden = !called;
    const receiver = called && snapshot.receivers.find((r) => r.identity === called);
    document.getElementById("called-name").textContent = receiver ? receiver.school : "";
  }

  channel.addEventListener("snapshot", (event) => {
    snapshot = event.detail;
    const state = document.getElementById("state");
    state.textContent = T(`live.state.${snapshot.state}`);
    state.className = `badge state-${snapshot.state}`;
    if (snapshot.state === "open" || snapshot.state === "live") start();
    if (snapshot.state === "ended" || snapshot.state === "archived") {
      say(T("live.ended"));
      if (media && media !== true) media.leave();
      media = null;
    }
    follow();
  });
  channel.addEventListener("final", (event) => say(event.detail.message));
  channel.addEventListener("lost", () => say(T("live.no_server")));
  channel.addEventListener("open", () => say(""));
})();
