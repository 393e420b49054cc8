// Live changes over the WebSocket (SPEC §8): reconnects with backoff and resumes from the last
// `seq` seen, so nothing is missed while the connection was down. Listeners get the API's
// messages and, after every reconnect, `{type: "resync"}` (reload what you show).

import { refresh, token } from "./api.js";

const POLICY_VIOLATION = 1008; // bad or revoked token
const TRY_AGAIN_LATER = 1013; // "<why>; resume from <seq>": fell behind, more to replay, unknown seq
const MAX_DELAY_MS = 10000;

export class Live {
  constructor({ onMessage, onState }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.socket = null;
    this.lastSeq = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.wasOpen = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.lastSeq = null;
    this.wasOpen = false;
    if (this.socket) this.socket.close(1000, "signed out");
    this.socket = null;
    this.onState("");
  }

  /** A new access token: reconnect with it now, before the old one is refused. */
  renew() {
    if (this.stopped || !this.socket) return;
    const old = this.socket;
    this.socket = null; // its close event is then ignored
    old.close(1000, "new token");
    this.connect(); // resumes from lastSeq: nothing in between is lost
  }

  connect() {
    clearTimeout(this.timer);
    const current = token();
    if (this.stopped || !current) return;
    const url = new URL("/api/v1/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", current);
    if (this.lastSeq !== null) url.searchParams.set("since", String(this.lastSeq));
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onState("live");
      // `since` replays what was missed, but only once a message gave us a seq: after a
      // reconnect the views reload anyway, so nothing made in the gap can be lost.
      if (this.wasOpen) this.onMessage({ type: "resync" });
      this.wasOpen = true;
    });
    socket.addEventListener("message", (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch {
        return;
      }
      if (typeof message.seq === "number") this.lastSeq = Math.max(this.lastSeq ?? 0, message.seq);
      this.onMessage(message);
    });
    socket.addEventListener("close", (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.onState("reconnecting");
      const resume = e.code === TRY_AGAIN_LATER && /resume from (\d+)$/.exec(e.reason);
      // the server's position, not ours: ours may be one it never issued (a restored database)
      if (resume) this.lastSeq = Number(resume[1]);
      if (e.code === POLICY_VIOLATION) {
        // Expired or revoked: a refresh either gives a new token or ends the session.
        refresh().then((ok) => ok && this.schedule());
      } else {
        this.schedule();
      }
    });
  }

  schedule() {
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
