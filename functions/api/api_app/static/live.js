// The WebSocket: one connection, with ?token= when signed in (then the server subscribes it to the
// user's own channel), public stock:{SYMBOL} channels subscribed on top. Reconnects with a backoff
// and re-subscribes; the caller re-fetches what it may have missed (onOpen).

export class Live {
  constructor(url, { onEvent, onState, onOpen }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.channels = new Set();
    this.token = null;
    this.ws = null;
    this.backoff = 500;
    this.timer = null;
    this.closedByUs = false;
  }

  start(token) {
    this.token = token;
    this.restart();
  }

  restart() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.closedByUs = true;
      this.ws.close();
    }
    if (!this.url) {
      this.onState("off", "no WebSocket URL");
      return;
    }
    const url = this.token ? `${this.url}${this.url.includes("?") ? "&" : "?"}token=${encodeURIComponent(this.token)}` : this.url;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.closedByUs = false;
    this.onState("connecting", "connecting");
    ws.onopen = () => {
      this.backoff = 500;
      this.onState("live", this.token ? "live · signed in" : "live");
      this.send({ action: "subscribe", channels: [...this.channels] });
      this.onOpen();
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      this.onEvent(msg);
    };
    ws.onclose = () => {
      if (ws !== this.ws || this.closedByUs) return;
      this.onState("off", "reconnecting");
      this.timer = setTimeout(() => this.restart(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }

  send(body) {
    if (body.channels && !body.channels.length) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(body));
  }

  subscribe(channels) {
    const fresh = channels.filter((c) => !this.channels.has(c));
    fresh.forEach((c) => this.channels.add(c));
    this.send({ action: "subscribe", channels: fresh });
  }
}
