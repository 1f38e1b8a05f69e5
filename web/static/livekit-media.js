// Sanke media over LiveKit: the interface of the embedded SFU's client (SankeMedia in
// media/static/sfu-client.js) on livekit-client's Room, so that the live pages run the
// same on either backend; live.js (createMedia) picks the class from the token's backend.
//
// How Sanke's terms map onto LiveKit's:
// - A participant's LiveKit identity is its Sanke identity; its role is the participant
//   attribute the server names (ROLE_ATTRIBUTE in media/livekit/tokens.py).
// - A source id is "<identity>/<source>", as in the embedded SFU, with Sanke's source
//   names (camera, microphone, screen, screen_audio) for LiveKit's (SOURCE_NAMES there).
// - Subscriptions are the page's: autoSubscribe is off; subscribe and unsubscribe set a
//   publication's subscription, setLayer the highest video quality it may get.
// - The page publishes its own tracks. The camera goes out simulcast: LiveKit's layers
//   stand for the embedded SFU's separate high and low tracks, so a "low" publish is not
//   sent. Dynacast stops sending the layers nobody receives.
// - Grants: the server changes a participant's LiveKit permission while it is in the
//   room (a classroom called on may speak). canPublish follows it, "grant" is dispatched
//   as for the embedded SFU's grant message, what may no longer be sent is unpublished,
//   and what the page published before and may be sent again is published again.
// - A courseware share that stops (mute("screen", true)) is unpublished; the next share
//   is published afresh (teach.js publishes when no screen is in _published).
// - Weak networks: LiveKit's server picks each subscriber's layer from its measured
//   bandwidth and pauses video before audio; publishers send Opus with DTX and RED.
//   adaptiveStream stays off: it sizes and pauses video by the elements given to
//   livekit-client's track.attach(), and the pages attach tracks themselves (srcObject),
//   so it would pause every video they show.
// - After a network loss livekit-client resumes or rejoins by itself ("reconnecting",
//   then "joined"); if it gives up, this client joins again with backoff, publishes the
//   same tracks and subscribes to the same sources, as SankeMedia does.
//
// The page scripts read three fields besides the public ones, as they do on SankeMedia:
// _published (entries {track, source, layer}), _subscriptions (a Map keyed by source id)
// and, in live.js, _renewing.
"use strict";

class LiveKitMedia extends EventTarget {
  constructor({ url, token, roleAttribute, sources } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.roleAttribute = roleAttribute || "sanke.role";
    // Sanke's source name -> LiveKit's (Track.Source values)
    this.sourceNames = sources || { camera: "camera", microphone: "microphone",
      screen: "screen_share", screen_audio: "screen_share_audio" };
    this._sankeSource = new Map(Object.entries(this.sourceNames).map(([sanke, lk]) => [lk, sanke]));
    this.tracks = [];           // sources others publish: {id, identity, name, source, kind, layers, muted}
    this.participants = [];     // others, not hidden: {identity, name, role}
    this.canPublish = [];       // Sanke source names this participant may publish now
    this.identity = null;
    this.state = "new";         // new | joining | joined | reconnecting | left
    this.room = null;            // the livekit-client Room, once joined
    this._connecting = null;     // the Room joining
    this._published = [];       // what the page publishes: {track, source, layer, sending}
    this._subscriptions = new Map();  // source id -> {kind, layer, track, ready, resolve}
    this._muted = new Map();    // source -> muted, kept over republishing
    this._retry = 0;
    this._retryTimer = null;
    this._left = false;
    this._shown = { tracks: "[]", participants: "[]" };
  }

  // --- public API -------------------------------------------------------------------

  async join() {
    this._left = false;
    try {
      await this._connect();
    } catch (error) {
      // the page says why and tries again itself: no rejoining in the background
      this._left = true;
      this._close();
      this._setState("left");
      throw error;
    }
  }

  async publish(track, source, layer = "high") {
    if (layer !== "high") return;  // simulcast layers of the "high" track stand for it
    const entry = { track, source, layer, sending: null };
    this._published.push(entry);
    if (this.state !== "joined" || !this.canPublish.includes(source)) return;  // sent when it may be
    try {
      await this._send(entry);
    } catch (error) {
      this._published = this._published.filter((p) => p !== entry);
      throw error;
    }
  }

  subscribe(sourceId, kind) {
    let entry = this._subscriptions.get(sourceId);
    if (!entry) {
      entry = { kind, layer: "high", track: null };
      this._await(entry);
      this._subscriptions.set(sourceId, entry);
      const publication = this._publication(sourceId);
      if (publication) this._want(publication, entry);
    }
    return entry.track ? Promise.resolve(entry.track) : entry.ready;
  }

  unsubscribe(sourceId) {
    const entry = this._subscriptions.get(sourceId);
    if (!entry) return;
    this._subscriptions.delete(sourceId);
    const publication = this._publication(sourceId);
    if (publication) publication.setSubscribed(false);
  }

  setLayer(sourceId, layer) {
    const entry = this._subscriptions.get(sourceId);
    if (!entry) return;
    entry.layer = layer;
    const publication = this._publication(sourceId);
    if (publication && publication.kind === "video") publication.setVideoQuality(this._quality(layer));
  }

  mute(source, muted) {
    for (const p of this._published) if (p.source === source) p.track.enabled = !muted;
    if (source === "screen" && muted) {  // the share stopped: unpublish it
      const shares = this._published.filter((p) => p.source === "screen");
      this._published = this._published.filter((p) => p.source !== "screen");
      for (const p of shares) this._unpublish(p);
      return;
    }
    this._muted.set(source, muted);
    for (const p of this._published) {
      const publication = p.source === source && this._publicationOf(p);
      if (publication) (muted ? publication.mute() : publication.unmute()).catch(() => {});
    }
  }

  async leave() {
    this._left = true;
    this._cancelRetry();
    const room = this.room;
    this._close();
    if (room) await room.disconnect(false).catch(() => {});
    this._setState("left");
  }

  // Join again with a new token (the old one expired or was refused), publishing and
  // subscribing as before.
  async rejoin(token) {
    this.token = token;
    this._left = false;
    this._cancelRetry();
    this._close();
    this._retry = Math.max(1, this._retry);
    try {
      await this._connect();
    } catch (error) {
      this._lost(error);
    }
  }

  // Stop this page's media: another device or page took over this identity. LiveKit has
  // already sent this session away (DUPLICATE_IDENTITY); leaving ends only this session.
  stop() {
    this._left = true;
    this._cancelRetry();
    this._close();
    this._setState("left");
  }

  // A summary of getStats() in the shape SankeMedia.stats() gives (rooms/quality_report.py
  // parses exactly this), from each subscribed and published track's own RTP stats.
  // An inbound "source" is the source id subscribed to, "muted" that its publisher muted
  // it (or it is gone); an outbound "source" is the published source name.
  async stats() {
    const out = { rtt: null, availableOutgoingBitrate: null, inbound: [], outbound: [] };
    const room = this.room;
    if (!room) return out;
    const num = (v) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
    const int = (v) => Math.round(num(v));
    const kindOf = (s) => s.kind || s.mediaType;
    const media = (s) => ["audio", "video"].includes(kindOf(s));
    const seen = new Map();             // one entry per mid (and rid): the one with most packets
    const add = (list, key, entry, packets) => {
      const before = seen.get(key);
      if (before && before.packets >= packets) return;
      if (before) list.splice(list.indexOf(before.entry), 1);
      seen.set(key, { entry, packets });
      list.push(entry);
    };
    const muted = new Map(this.tracks.map((t) => [t.id, Boolean(t.muted)]));
    let sendingPair = null;
    let anyPair = null;
    for (const id of this._subscriptions.keys()) {
      const publication = this._publication(id);
      const report = await this._report(publication && publication.track);
      if (!report) continue;
      anyPair = anyPair || this._pair(report);
      report.forEach((s) => {
        if (s.type !== "inbound-rtp" || !media(s)) return;
        const mid = String(s.mid ?? s.id);
        add(out.inbound, `in ${mid}`, {
          kind: kindOf(s), mid, source: id, muted: muted.get(id) ?? true,
          packetsReceived: int(s.packetsReceived), packetsLost: int(s.packetsLost), bytesReceived: int(s.bytesReceived),
          framesDecoded: int(s.framesDecoded), framesPerSecond: num(s.framesPerSecond),
          frameWidth: int(s.frameWidth), frameHeight: int(s.frameHeight), freezeCount: int(s.freezeCount),
          totalFreezesDuration: num(s.totalFreezesDuration), jitter: num(s.jitter),
          totalAudioEnergy: num(s.totalAudioEnergy), nackCount: int(s.nackCount), pliCount: int(s.pliCount),
        }, int(s.packetsReceived));
      });
    }
    for (const p of this._published) {
      const publication = this._publicationOf(p);
      const report = await this._report(publication && publication.track);
      if (!report) continue;
      sendingPair = sendingPair || this._pair(report);
      report.forEach((s) => {
        if (s.type !== "outbound-rtp" || !media(s)) return;
        const base = String(s.mid ?? s.id);
        const mid = s.rid ? `${base}/${s.rid}` : base;   // simulcast: one entry per encoding
        add(out.outbound, `out ${mid}`, {
          kind: kindOf(s), mid, source: p.source,
          packetsSent: int(s.packetsSent), bytesSent: int(s.bytesSent), framesEncoded: int(s.framesEncoded),
          frameWidth: int(s.frameWidth), qualityLimitationReason: String(s.qualityLimitationReason || "none"),
          nackCount: int(s.nackCount), pliCount: int(s.pliCount),
        }, int(s.packetsSent));
      });
    }
    const pair = sendingPair || anyPair;
    if (pair && typeof pair.currentRoundTripTime === "number") out.rtt = num(pair.currentRoundTripTime);
    if (sendingPair && typeof sendingPair.availableOutgoingBitrate === "number") {
      out.availableOutgoingBitrate = num(sendingPair.availableOutgoingBitrate);
    }
    out.inbound = out.inbound.slice(0, 64);
    out.outbound = out.outbound.slice(0, 64);
    return out;
  }

  // --- connection -------------------------------------------------------------------

  _setState(state, detail) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...(detail || {}) } }));
  }

  async _connect() {
    const LK = LivekitClient;
    this._setState(this._retry ? "reconnecting" : "joining");
    this._close();
    const room = new LK.Room({
      adaptiveStream: false,
      dynacast: true,
      stopLocalTrackOnUnpublish: false,  // the page owns its tracks, and publishes them again
      publishDefaults: { simulcast: true, dtx: true, red: true },
    });
    this._connecting = room;
    this._listen(room);  // its events count once it is this.room: joined
    let failure = null;
    try {
      await room.connect(this.url, this.token, { autoSubscribe: false });
    } catch (error) {
      failure = this._failure(error);
    }
    const current = this._connecting === room;  // not left, nor joining anew, meanwhile
    if (current) this._connecting = null;
    if (failure || !current || this._left) {
      room.disconnect(false).catch(() => {});
      throw failure || Object.assign(new Error("left or joined anew while joining"), { code: "left" });
    }
    this.room = room;
    this._retry = 0;
    this.identity = room.localParticipant.identity;
    this.canPublish = this._permitted(room);
    for (const p of this._published) p.sending = null;
    for (const entry of this._subscriptions.values()) this._await(entry);
    this._setState("joined");
    this._sync(room, true);
    await this._publishAll();
  }

  // What went wrong joining, as a code the pages know: a refused token ("token_*": live.js
  // asks for a new one) or a media server out of reach.
  _failure(error) {
    const message = (error && error.message) || String(error);
    let code = "media_unreachable";
    if (error && error.reasonName === "NotAllowed" && [401, 403].includes(error.status)) {
      code = /expired/i.test(message) ? "token_expired" : "token_refused";
    }
    return Object.assign(new Error(message), { code });
  }

  _listen(room) {
    const E = LivekitClient.RoomEvent;
    const on = (event, handler) => room.on(event, (...args) => { if (this.room === room) handler(...args); });
    for (const event of [E.ParticipantConnected, E.ParticipantDisconnected, E.TrackPublished,
      E.TrackUnpublished, E.TrackMuted, E.TrackUnmuted, E.ParticipantAttributesChanged,
      E.ParticipantNameChanged]) {
      on(event, () => this._sync(room));
    }
    on(E.TrackSubscribed, (track, publication, participant) => this._arrived(room, track, publication, participant));
    on(E.TrackUnsubscribed, (track, publication, participant) => this._gone(room, publication, participant));
    on(E.ParticipantPermissionsChanged, (previous, participant) => {
      if (participant === room.localParticipant) this._regranted(room);
    });
    on(E.SignalReconnecting, () => this._setState("reconnecting"));
    on(E.Reconnecting, () => this._setState("reconnecting"));
    on(E.Reconnected, () => { this._setState("joined"); this._sync(room, true); });
    on(E.Disconnected, (reason) => this._disconnected(reason));
  }

  _disconnected(reason) {
    this.room = null;
    if (this._left) return;
    const R = LivekitClient.DisconnectReason;
    if (reason === R.DUPLICATE_IDENTITY) {
      this._end("replaced", "another page joined the room as this participant");
    } else if (reason === R.ROOM_DELETED || reason === R.ROOM_CLOSED) {
      this._end("lesson_ended", "the lesson's room has closed");
    } else {
      this._lost();
    }
  }

  _end(code, message) {
    this._left = true;
    this._cancelRetry();
    this._setState("left", { code });
    this.dispatchEvent(new CustomEvent("error", { detail: { code, message } }));
  }

  // Called by every way a session can fail after it joined once; one retry at a time,
  // backing off to 5 s. A refused token is passed to the page (live.js renews it and
  // calls rejoin), not retried.
  _lost(error) {
    if (this._left || this._retryTimer || (error && error.code === "left")) return;
    this._close();
    this._retry += 1;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this._retry, 5));
    this._setState("reconnecting", { inMs: delay });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (this._left) return;
      if (error && error.code.startsWith("token_")) {
        this.dispatchEvent(new CustomEvent("error", { detail: { code: error.code, message: error.message } }));
        return;
      }
      this._connect().catch((failure) => this._lost(failure));
    }, delay);
  }

  _cancelRetry() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
  }

  _close() {
    for (const room of [this.room, this._connecting]) if (room) room.disconnect(false).catch(() => {});
    this.room = null;
    this._connecting = null;
  }

  // --- participants, tracks, subscriptions ------------------------------------------

  // Others and their sources as the pages know them; subscribes what the page wants as
  // soon as it is published. "tracks" and "participants" go out when they changed (or
  // always with ``force``: after a subscription, so that pages attach the new track).
  _sync(room, force) {
    const tracks = [];
    const participants = [];
    for (const participant of room.remoteParticipants.values()) {
      const name = participant.name || "";
      const role = (participant.attributes || {})[this.roleAttribute] || "";
      participants.push({ identity: participant.identity, name, role });
      for (const publication of participant.trackPublications.values()) {
        const source = this._sankeSource.get(publication.source);
        if (!source) continue;
        const id = `${participant.identity}/${source}`;
        const video = publication.kind === "video";
        tracks.push({ id, identity: participant.identity, name, source, kind: publication.kind,
          layers: video && publication.simulcasted ? ["high", "low"] : ["high"], muted: publication.isMuted });
        const entry = this._subscriptions.get(id);
        if (entry && !publication.isDesired) this._want(publication, entry);
      }
    }
    const shown = { tracks: JSON.stringify(tracks), participants: JSON.stringify(participants) };
    if (force || shown.participants !== this._shown.participants) {
      this.participants = participants;
      this.dispatchEvent(new CustomEvent("participants", { detail: participants }));
    }
    if (force || shown.tracks !== this._shown.tracks) {
      this.tracks = tracks;
      this.dispatchEvent(new CustomEvent("tracks", { detail: tracks }));
    }
    this._shown = shown;
  }

  _want(publication, entry) {
    publication.setSubscribed(true);
    if (publication.kind === "video") publication.setVideoQuality(this._quality(entry.layer));
  }

  _quality(layer) {
    const Q = LivekitClient.VideoQuality;
    return layer === "low" ? Q.LOW : Q.HIGH;
  }

  _await(entry) {
    entry.track = null;
    entry.ready = new Promise((resolve) => { entry.resolve = resolve; });
  }

  _idOf(publication, participant) {
    const source = this._sankeSource.get(publication.source);
    return source ? `${participant.identity}/${source}` : null;
  }

  _arrived(room, track, publication, participant) {
    const entry = this._subscriptions.get(this._idOf(publication, participant));
    if (!entry) {  // no longer wanted
      publication.setSubscribed(false);
      return;
    }
    entry.track = track.mediaStreamTrack;
    entry.resolve(entry.track);
    this._sync(room, true);
  }

  _gone(room, publication, participant) {
    const entry = this._subscriptions.get(this._idOf(publication, participant));
    if (entry) this._await(entry);
    this._sync(room);
  }

  _publication(sourceId) {
    const room = this.room;
    const cut = sourceId.lastIndexOf("/");
    if (!room || cut < 0) return null;
    const participant = room.remoteParticipants.get(sourceId.slice(0, cut));
    const wanted = this.sourceNames[sourceId.slice(cut + 1)];
    if (!participant || !wanted) return null;
    for (const publication of participant.trackPublications.values()) {
      if (publication.source === wanted) return publication;
    }
    return null;
  }

  // --- publishing -------------------------------------------------------------------

  _permitted(room) {
    const permission = room.localParticipant.permissions;
    if (!permission || !permission.canPublish) return [];
    const listed = permission.canPublishSources || [];
    const allowed = listed.length  // LiveKit: no list means every source
      ? listed.map((s) => LivekitClient.Track.sourceFromProto(s))
      : Object.values(this.sourceNames);
    return Object.keys(this.sourceNames).filter((s) => allowed.includes(this.sourceNames[s])).sort();
  }

  async _regranted(room) {
    const before = JSON.stringify(this.canPublish);
    this.canPublish = this._permitted(room);
    if (JSON.stringify(this.canPublish) === before) return;
    for (const p of this._published) {
      if (!this.canPublish.includes(p.source)) this._unpublish(p);
    }
    this.dispatchEvent(new CustomEvent("grant", { detail: { type: "grant", can_publish: this.canPublish } }));
    await this._publishAll();
  }

  async _publishAll() {
    for (const p of this._published) {
      if (this._publicationOf(p) || !this.canPublish.includes(p.source)) continue;
      try {
        await this._send(p);
      } catch (error) { /* not allowed after all, or the room went: the next grant or join sends it */ }
    }
  }

  _send(entry) {
    const published = this._publicationOf(entry);
    if (published) return Promise.resolve(published);
    if (entry.sending) return entry.sending;
    const room = this.room;
    const sending = (async () => {
      try {
        const publication = await room.localParticipant.publishTrack(entry.track, {
          source: this.sourceNames[entry.source], name: entry.source, simulcast: entry.source === "camera",
        });
        if (this.room !== room || !this._published.includes(entry)) {
          room.localParticipant.unpublishTrack(publication.track, false).catch(() => {});
          return null;
        }
        if (this._muted.get(entry.source)) await publication.mute();
        return publication;
      } finally {
        entry.sending = null;
      }
    })();
    entry.sending = sending;
    return sending;
  }

  _unpublish(entry) {
    const publication = this._publicationOf(entry);
    if (publication) this.room.localParticipant.unpublishTrack(publication.track, false).catch(() => {});
  }

  // The publication sending one of the page's tracks now (livekit-client publishes them
  // anew after a full reconnect: a publication is looked up, never kept).
  _publicationOf(entry) {
    const room = this.room;
    if (!room) return null;
    for (const publication of room.localParticipant.trackPublications.values()) {
      if (publication.track && publication.track.mediaStreamTrack === entry.track) return publication;
    }
    return null;
  }

  _report(track) {
    return track ? track.getRTCStatsReport().catch(() => undefined) : Promise.resolve(undefined);
  }

  // The selected ICE candidate pair of a stats report (its rtt and outgoing bitrate).
  _pair(report) {
    let pair = null;
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
    });
    report.forEach((s) => {
      if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    return pair;
  }
}

window.LiveKitMedia = LiveKitMedia;
