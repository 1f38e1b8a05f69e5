// The teacher console: own preview, courseware, a tile per receiving classroom, the
// one-key controls, chat and the lesson timer.
"use strict";

(() => {
  const lesson = LIVE_CONFIG.lesson;
  const channel = window.sankeLesson = new LessonChannel(lesson);
  const receivers = document.getElementById("receivers");
  const message = document.getElementById("message");
  let media = null;
  let starting = false;
  let snapshot = null;
  let camera = null;
  let screen = null;
  let stopStats = null;
  let retryTimer = null;  // a failed join is tried again by itself, later and later
  let retries = 0;
  const tiles = new Map();  // classroom identity -> {tile, video, audio}

  function say(text) {
    message.hidden = !text;
    message.textContent = text || "";
  }

  function cameraLive() {
    return camera !== null && camera.getTracks().some((t) => t.readyState === "live");
  }

  async function start() {
    if (media || starting) return;
    starting = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    let joined = null;
    try {
      if (!cameraLive()) {  // a try after a failed one publishes the camera already open
        try {
          camera = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
          attach(document.getElementById("preview"), camera.getVideoTracks()[0]);
        } catch (error) {
          camera = null;
          say(T("live.no_camera"));
        }
      }
      joined = await joinMedia(lesson);
      media = window.sankeMedia = joined;
      media.addEventListener("tracks", () => subscribeClassrooms());
      media.addEventListener("state", (event) => {
        const state = event.detail.state;
        if (state === "reconnecting") say(T("live.no_network"));
        else if (state === "joined") say("");
      });
      media.addEventListener("error", (event) => {
        if ((event.detail.code || "").startsWith("lesson_")) stopMedia();
      });
      if (camera) {
        const video = camera.getVideoTracks()[0];
        const low = video.clone();
        await low.applyConstraints({ width: 320, height: 180, frameRate: 15 }).catch(() => {});
        await media.publish(video, "camera", "high");
        await media.publish(low, "camera", "low");
        for (const audio of camera.getAudioTracks()) await media.publish(audio, "microphone", "high");
      }
      stopStats = reportStats(media, channel);
      subscribeClassrooms();
      if (snapshot) applyPause(snapshot.controls.paused);
      retries = 0;
    } catch (error) {
      say(error.message || String(error));
      if (joined) joined.leave();  // joined, then failed to publish: out, and in again
      media = null;
      if (!(error.code && FINAL_CODES.has(error.code))) {
        retries += 1;
        retryTimer = setTimeout(start, Math.min(10000, 1000 * 2 ** Math.min(retries - 1, 4)));
      }
    } finally {
      starting = false;
    }
  }

  function stopMedia() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stopStats) stopStats();
    stopStats = null;
    if (media) media.leave();
    media = null;
    if (camera) camera.getTracks().forEach((t) => t.stop());
    camera = null;
  }

  function subscribeClassrooms() {
    if (!media || !snapshot) return;
    for (const receiver of snapshot.receivers) {
      const entry = tiles.get(receiver.identity);
      if (!entry) continue;
      for (const source of sourcesOf(media, receiver.identity)) {
        if (source.source !== "camera" && source.source !== "microphone") continue;
        media.subscribe(source.id, source.kind).then((track) => {
          attach(source.kind === "video" ? entry.video : entry.audio, track);
        }).catch(() => {});
      }
    }
  }

  function tileFor(receiver) {
    let entry = tiles.get(receiver.identity);
    if (entry) return entry;
    const video = el("video", { autoplay: "", playsinline: "", muted: "" });
    video.muted = true;
    const audio = el("audio", { autoplay: "" });
    const status = el("div", { class: "status" });
    const call = el("button", { class: "call", type: "button" });
    call.addEventListener("click", () => {
      const on = snapshot && snapshot.controls.called_on === receiver.identity;
      channel.control(on ? "end_call" : "call_on", receiver.identity);
    });
    const tile = el("div", { class: "tile receiver", "data-identity": receiver.identity },
      video, audio, el("span", { class: "label" }, receiver.school), status, call);
    receivers.append(tile);
    entry = { tile, video, audio, status, call };
    tiles.set(receiver.identity, entry);
    return entry;
  }

  function render(s) {
    snapshot = s;
    const state = document.getElementById("state");
    state.textContent = T(`live.state.${s.state}`);
    state.className = `badge state-${s.state}`;
    for (const receiver of s.receivers) {
      const entry = tileFor(receiver);
      entry.tile.classList.toggle("absent", !receiver.present);
      entry.tile.classList.toggle("hand", receiver.hand);
      entry.tile.classList.toggle("speaking", receiver.called_on);
      const bits = [receiver.present ? T("live.joined") : T("live.absent")];
      if (receiver.present && receiver.quality !== "unknown") bits.push(T(`live.quality.${receiver.quality}`));
      if (receiver.hand) bits.push(T("live.hand"));
      if (receiver.called_on) bits.push(T("live.speaking"));
      entry.status.textContent = bits.join(" · ");
      entry.call.textContent = receiver.called_on ? T("live.end_call") : T("live.call_on");
      entry.call.disabled = s.controls.interaction_disabled && !receiver.called_on;
    }
    const c = s.controls;
    setToggle("mute-all", c.muted_all, "unmute_all", "mute_all", "live.unmute_all", "live.mute_all");
    setToggle("interaction", c.interaction_disabled, "enable_interaction", "disable_interaction",
      "live.enable_interaction", "live.disable_interaction");
    setToggle("pause", c.paused, "resume", "pause", "live.resume", "live.pause");
    applyPause(c.paused);
    renderChat(s.chat);
    if (s.state === "open" || s.state === "live") start();
    if (s.state === "ended" || s.state === "archived") {
      say(T("live.ended"));
      stopMedia();
    }
    subscribeClassrooms();
  }

  function setToggle(id, on, actionOn, actionOff, labelOn, labelOff) {
    const button = document.getElementById(id);
    button.dataset.action = on ? actionOn : actionOff;
    button.textContent = T(on ? labelOn : labelOff);
    button.classList.toggle("active", on);
  }

  let pausedNow = false;
  function applyPause(paused) {
    if (!media || paused === pausedNow) return;
    pausedNow = paused;
    media.mute("camera", paused);
    media.mute("microphone", paused);
  }

  function renderChat(lines) {
    const log = document.getElementById("chat-log");
    log.replaceChildren(...lines.map((line) => el("li", {}, el("strong", {}, line.name), " ", line.text)));
    log.scrollTop = log.scrollHeight;
  }

  for (const id of ["mute-all", "interaction", "pause"]) {
    document.getElementById(id).addEventListener("click", (event) => channel.control(event.currentTarget.dataset.action));
  }
  document.getElementById("end").addEventListener("click", () => {
    if (confirm(T("live.end_confirm"))) channel.send({ type: "end" });
  });
  document.getElementById("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("chat-input");
    if (input.value.trim()) channel.send({ type: "chat", text: input.value });
    input.value = "";
  });
  document.getElementById("share").addEventListener("click", async () => {
    if (!media) return;
    if (screen) {
      screen.getTracks().forEach((t) => t.stop());
      media.mute("screen", true);
      screen = null;
      document.getElementById("courseware-tile").hidden = true;
      document.getElementById("share").textContent = T("live.share");
      return;
    }
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 } });
    } catch (error) {
      return;
    }
    const track = screen.getVideoTracks()[0];
    track.contentHint = "detail";
    attach(document.getElementById("courseware"), track);
    document.getElementById("courseware-tile").hidden = false;
    document.getElementById("share").textContent = T("live.share_stop");
    if (media.canPublish.includes("screen") && !media._published.some((p) => p.source === "screen")) {
      await media.publish(track, "screen", "high");
    } else {
      const published = media._published.find((p) => p.source === "screen");
      if (published) {
        const sender = media.pc.getSenders().find((s) => s.track === published.track);
        if (sender) await sender.replaceTrack(track);
        published.track = track;
      }
      media.mute("screen", false);
    }
    track.addEventListener("ended", () => { if (screen) document.getElementById("share").click(); });
  });

  channel.addEventListener("snapshot", (event) => render(event.detail));
  channel.addEventListener("lost", () => say(T("live.no_server")));
  channel.addEventListener("open", () => say(""));
  channel.addEventListener("error", (event) => say(event.detail.message));
  channel.addEventListener("final", (event) => { say(event.detail.message); stopMedia(); });

  setInterval(() => {
    if (!snapshot) return;
    const now = Date.now();
    const starts = Date.parse(snapshot.starts_at);
    const ends = Date.parse(snapshot.ends_at);
    const label = document.getElementById("timer-label");
    if (now < starts) {
      label.textContent = T("live.bell");
      document.getElementById("timer").textContent = mmss((starts - now) / 1000);
    } else {
      label.textContent = `${T("live.timer")} / ${T("live.left")}`;
      document.getElementById("timer").textContent = `${mmss((now - starts) / 1000)} / ${mmss((ends - now) / 1000)}`;
    }
  }, 1000);
})();
