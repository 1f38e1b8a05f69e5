// Sanke media client: joins a room of the embedded SFU over WebSocket signalling.
//
// The client drives negotiation (no glare): publishing adds sendonly transceivers,
// subscribing adds recvonly ones, and each offer tells the SFU what every new mid is
// for. After a network loss it rejoins by itself with the same identity, publishes
// the same tracks again and re-subscribes to the same sources.
"use strict";

class SankeMedia extends EventTarget {
  constructor({ url, token, rtcConfig } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.rtcConfig = rtcConfig || { iceServers: [] };
    this.tracks = [];           // sources others publish: {id, identity, source, kind, layers, muted}
    this.participants = [];
    this.state = "new";         // new | joining | joined | reconnecting | left
    this._published = [];       // {track, source, layer}
    this._subscriptions = new Map();  // source id -> {kind, transceiver}
    this._pending = null;       // resolve/reject of the answer being waited for
    this._chain = Promise.resolve();
    this._retry = 0;
  }

  // --- public API -------------------------------------------------------------

  async join() {
    this._left = false;
    await this._connect();
  }

  async publish(track, source, layer = "high") {
    const publication = { track, source, layer };
    this._published.push(publication);
    if (this.state !== "joined") return;
    try {
      await this._negotiate([publication], []);
    } catch (error) {
      this._published = this._published.filter((p) => p !== publication);
      throw error;
    }
  }

  async subscribe(sourceId, kind) {
    if (this._subscriptions.has(sourceId)) return this._subscriptions.get(sourceId).transceiver.receiver.track;
    const entry = { kind, transceiver: null };
    this._subscriptions.set(sourceId, entry);
    if (this.state === "joined") await this._negotiate([], [sourceId]);
    return entry.transceiver ? entry.transceiver.receiver.track : null;
  }

  unsubscribe(sourceId) {
    const entry = this._subscriptions.get(sourceId);
    if (!entry) return;
    this._subscriptions.delete(sourceId);
    if (entry.transceiver) this._send({ type: "unsubscribe", mid: entry.transceiver.mid });
  }

  setLayer(sourceId, layer) {
    const entry = this._subscriptions.get(sourceId);
    if (entry && entry.transceiver) this._send({ type: "layer", mid: entry.transceiver.mid, layer });
  }

  mute(source, muted) {
    for (const p of this._published) if (p.source === source) p.track.enabled = !muted;
    this._send({ type: "mute", source, muted });
  }

  async leave() {
    this._left = true;
    this._send({ type: "leave" });
    this._close();
    this._setState("left");
  }

  // Join again with a new token (the old one expired or was refused), publishing and
  // subscribing as before.
  async rejoin(token) {
    this.token = token;
    this._left = false;
    this._close();
    this._retry = Math.max(1, this._retry);
    try {
      await this._connect();
    } catch (error) {
      this._lost();
    }
  }

  // Stop this page's media without leaving the room: another device or page took
  // over this identity, and leaving would throw the newcomer out.
  stop() {
    this._left = true;
    this._close();
    this._setState("left");
  }

  // A summary of getStats() (W3C webrtc-stats names) for the quality monitor, which
  // parses exactly this (rooms/quality_report.py). Counters are cumulative; rtt and
  // jitter in seconds; a missing number is 0, rtt and availableOutgoingBitrate null.
  // An inbound "source" is the SFU source id its mid is subscribed to, "muted" that
  // the SFU forwards nothing (muted, not granted or gone); an outbound "source" is
  // the published source name (camera, ...).
  async stats() {
    const out = { rtt: null, availableOutgoingBitrate: null, inbound: [], outbound: [] };
    const pc = this.pc;
    if (!pc) return out;
    const report = await pc.getStats();
    const num = (v) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
    const int = (v) => Math.round(num(v));
    const subscribedTo = new Map();     // mid -> source id
    for (const [id, entry] of this._subscriptions) {
      if (entry.transceiver && entry.transceiver.mid !== null) subscribedTo.set(entry.transceiver.mid, id);
    }
    const midOfTrack = new Map();       // receiver or sender track id -> mid, for browsers without stats' mid
    const publishedAs = new Map();      // mid -> published source name
    for (const t of pc.getTransceivers()) {
      if (t.mid === null) continue;
      midOfTrack.set(t.receiver.track.id, t.mid);
      const publication = t.sender.track && this._published.find((p) => p.track === t.sender.track);
      if (publication) {
        midOfTrack.set(t.sender.track.id, t.mid);
        publishedAs.set(t.mid, publication.source);
      }
    }
    const muted = new Map(this.tracks.map((t) => [t.id, Boolean(t.muted)]));
    let pair = null;                    // the selected ICE candidate pair
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
    });
    report.forEach((s) => {
      if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    if (pair && typeof pair.currentRoundTripTime === "number") out.rtt = num(pair.currentRoundTripTime);
    if (pair && typeof pair.availableOutgoingBitrate === "number") {
      out.availableOutgoingBitrate = num(pair.availableOutgoingBitrate);
    }
    const kindOf = (s) => s.kind || s.mediaType;
    const seen = new Map();             // one entry per mid (and rid): the one with most packets
    const add = (list, key, entry, packets) => {
      const before = seen.get(key);
      if (before && before.packets >= packets) return;
      if (before) list.splice(list.indexOf(before.entry), 1);
      seen.set(key, { entry, packets });
      list.push(entry);
    };
    report.forEach((s) => {
      if ((s.type !== "inbound-rtp" && s.type !== "outbound-rtp") || !["audio", "video"].includes(kindOf(s))) return;
      if (s.type === "inbound-rtp") {
        const mid = String(s.mid ?? midOfTrack.get(s.trackIdentifier) ?? s.id);
        const source = subscribedTo.get(mid) ?? null;
        add(out.inbound, `in ${mid}`, {
          kind: kindOf(s), mid, source, muted: source !== null && (muted.get(source) ?? true),
          packetsReceived: int(s.packetsReceived), packetsLost: int(s.packetsLost), bytesReceived: int(s.bytesReceived),
          framesDecoded: int(s.framesDecoded), framesPerSecond: num(s.framesPerSecond),
          frameWidth: int(s.frameWidth), frameHeight: int(s.frameHeight), freezeCount: int(s.freezeCount),
          totalFreezesDuration: num(s.totalFreezesDuration), jitter: num(s.jitter),
          totalAudioEnergy: num(s.totalAudioEnergy), nackCount: int(s.nackCount), pliCount: int(s.pliCount),
        }, int(s.packetsReceived));
      } else {
        const media = s.mediaSourceId ? report.get(s.mediaSourceId) : undefined;
        const base = String(s.mid ?? (media && midOfTrack.get(media.trackIdentifier)) ?? s.id);
        const mid = s.rid ? `${base}/${s.rid}` : base;   // simulcast: one entry per encoding
        add(out.outbound, `out ${mid}`, {
          kind: kindOf(s), mid, source: publishedAs.get(base) ?? null,
          packetsSent: int(s.packetsSent), bytesSent: int(s.bytesSent), framesEncoded: int(s.framesEncoded),
          frameWidth: int(s.frameWidth), qualityLimitationReason: String(s.qualityLimitationReason || "none"),
          nackCount: int(s.nackCount), pliCount: int(s.pliCount),
        }, int(s.packetsSent));
      }
    });
    out.inbound = out.inbound.slice(0, 64);
    out.outbound = out.outbound.slice(0, 64);
    return out;
  }

  // --- connection -----------------------------------------------------------------

  _setState(state, detail) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...(detail || {}) } }));
  }

  _connect() {
    this._setState(this._retry ? "reconnecting" : "joining");
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let joined = false;
      ws.onopen = () => ws.send(JSON.stringify({ type: "join", token: this.token }));
      ws.onmessage = async (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "joined") {
          joined = true;
          this._retry = 0;
          this.identity = message.identity;
          this.canPublish = message.can_publish;
          this.tracks = message.tracks;
          this.participants = message.participants;
          this._newPeerConnection();
          this._setState("joined");
          this.dispatchEvent(new CustomEvent("tracks", { detail: this.tracks }));
          try {
            await this._negotiate(this._published, [...this._subscriptions.keys()]);
            resolve();
          } catch (error) {
            reject(error);
          }
        } else {
          this._onMessage(message, joined ? null : reject);
        }
      };
      ws.onclose = () => {
        if (!joined) reject(new Error("signalling closed before join"));
        this._lost();
      };
    });
  }

  _newPeerConnection() {
    if (this.pc) this.pc.close();
    const pc = new RTCPeerConnection(this.rtcConfig);
    this.pc = pc;
    for (const entry of this._subscriptions.values()) entry.transceiver = null;
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      this.dispatchEvent(new CustomEvent("connection", { detail: pc.connectionState }));
      if (pc.connectionState === "failed") this._lost();
    };
  }

  _onMessage(message, rejectJoin) {
    if (message.type === "answer" && this._pending) {
      this._pending.resolve(message.sdp);
      this._pending = null;
    } else if (message.type === "error") {
      const error = Object.assign(new Error(message.message), { code: message.code });
      if (message.code === "replaced" || (message.code || "").startsWith("lesson_")) {
        this._left = true;  // another page took this seat, or the room closed: do not rejoin
        this._close();
        this._setState("left", { code: message.code });
      }
      if (this._pending) {
        this._pending.reject(error);
        this._pending = null;
      } else if (rejectJoin) {
        this._left = true;  // a refused token does not get better by retrying
        rejectJoin(error);
      }
      this.dispatchEvent(new CustomEvent("error", { detail: { code: message.code, message: message.message } }));
    } else if (message.type === "tracks") {
      this.tracks = message.tracks;
      this.dispatchEvent(new CustomEvent("tracks", { detail: this.tracks }));
    } else if (message.type === "participants") {
      this.participants = message.participants;
      this.dispatchEvent(new CustomEvent("participants", { detail: this.participants }));
    } else if (message.type === "grant") {
      this.canPublish = message.can_publish;
      this.dispatchEvent(new CustomEvent("grant", { detail: message }));
    }
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  _close() {
    if (this.ws) { this.ws.onclose = null; this.ws.close(); }
    if (this.pc) this.pc.close();
    this.ws = null;
    this.pc = null;
  }

  // Called by every way a session can fail (socket closed, ICE failed, join refused or
  // unreachable); one retry at a time, backing off to 5 s, until it rejoins.
  _lost() {
    if (this._left || this._retryTimer) return;
    this._close();
    this._retry += 1;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this._retry, 5));
    this._setState("reconnecting", { inMs: delay });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (this._left) return;
      this._connect().catch(() => this._lost());
    }, delay);
  }

  // --- negotiation ------------------------------------------------------------------

  _negotiate(publications, sourceIds) {
    const run = async () => {
      if (!publications.length && !sourceIds.length) return;
      const pc = this.pc;
      const publish = {};
      const subscribe = {};
      const added = [];
      for (const p of publications) {
        const t = pc.addTransceiver(p.track, { direction: "sendonly" });
        added.push(() => { publish[t.mid] = { source: p.source, layer: p.layer }; });
      }
      for (const id of sourceIds) {
        const entry = this._subscriptions.get(id);
        if (!entry || entry.transceiver) continue;
        const t = pc.addTransceiver(entry.kind, { direction: "recvonly" });
        entry.transceiver = t;
        added.push(() => { subscribe[t.mid] = id; });
      }
      await pc.setLocalDescription(await pc.createOffer());
      added.forEach((f) => f());
      let answer;
      try {
        answer = await new Promise((resolve, reject) => {
          this._pending = { resolve, reject };
          this._send({ type: "offer", sdp: pc.localDescription.sdp, publish, subscribe });
        });
      } catch (error) {
        // refused (e.g. not granted): undo the offer, drop what it added
        await pc.setLocalDescription({ type: "rollback" });
        for (const t of pc.getTransceivers()) {
          if ((t.mid === null || publish[t.mid] || subscribe[t.mid]) && t.currentDirection === null) t.stop();
        }
        for (const [id, entry] of this._subscriptions) if (subscribe[entry.transceiver && entry.transceiver.mid] === id) entry.transceiver = null;
        throw error;
      }
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
    };
    this._chain = this._chain.then(run, run);
    return this._chain;
  }
}

window.SankeMedia = SankeMedia;
