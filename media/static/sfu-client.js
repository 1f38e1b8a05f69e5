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

  async stats() {
    const out = { inbound: [], outbound: [] };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        out.inbound.push({ kind: s.kind, mid: s.mid, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
          framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0, frameWidth: s.frameWidth || 0,
          bytesReceived: s.bytesReceived, jitter: s.jitter, freezeCount: s.freezeCount || 0, nackCount: s.nackCount || 0,
          pliCount: s.pliCount || 0 });
      } else if (s.type === "outbound-rtp") {
        out.outbound.push({ kind: s.kind, mid: s.mid, packetsSent: s.packetsSent, framesEncoded: s.framesEncoded || 0,
          bytesSent: s.bytesSent, frameWidth: s.frameWidth || 0, nackCount: s.nackCount || 0, pliCount: s.pliCount || 0 });
      }
    });
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

  _lost() {
    if (this._left || this.state === "reconnecting") return;
    this._close();
    this._retry += 1;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this._retry, 5));
    this._setState("reconnecting", { inMs: delay });
    setTimeout(() => {
      if (this._left) return;
      this.state = "rejoin";
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
