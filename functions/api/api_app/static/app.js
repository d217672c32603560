// The trading screen: market list, one stock's book, tape and candles, the ticket, the user's
// orders, fills and portfolio — loaded over REST, then kept current by the WebSocket's events.
import * as api from "./api.js";
import { Live } from "./live.js";
import { orderModel } from "./ticket.js";
import { el, fmtChange, fmtMoney, fmtQty, fmtTime, tone } from "./format.js";
import { CandlestickSeries, ColorType, createChart } from "./vendor/lightweight-charts-5.2.1.standalone.production.mjs";

const $ = (id) => document.getElementById(id);
const FINAL = new Set(["filled", "cancelled", "expired", "rejected"]);
const TAPE_ROWS = 40;
const FILL_ROWS = 30;

const state = {
  stocks: new Map(),
  symbol: null,
  bookSeq: -1,
  tradeSeq: null,  // the last trade sequence seen on the selected stock's channel
  trades: [],
  lastBar: null,
  user: null,
  orders: new Map(),
  finished: new Set(),  // ids of orders seen final
  lastPlaced: null,
  fills: [],
  holdings: new Map(),
  cash: null,
  model: null,
};

// ------------------------------------------------------------------ messages
let toastTimer = null;
function toast(message, kind = "error") {
  const t = $("toast");
  t.textContent = message;
  t.dataset.kind = kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}
const report = (err) => toast(err instanceof api.ApiError ? err.message : String(err.message || err));

// ------------------------------------------------------------------ chart
const chart = createChart($("chart"), {
  autoSize: true,
  // the attribution (TradingView's licence terms) is the footer's link: the logo would be inline
  // styles, which the page's CSP refuses
  layout: {
    background: { type: ColorType.Solid, color: "#0d1117" }, textColor: "#8b96a5", fontFamily: "inherit", attributionLogo: false,
  },
  grid: { vertLines: { color: "#161c24" }, horzLines: { color: "#161c24" } },
  rightPriceScale: { borderColor: "#232b36" },
  timeScale: { borderColor: "#232b36", timeVisible: true, secondsVisible: false, barSpacing: 14 },
  crosshair: { mode: 0 },
});
const candles = chart.addSeries(CandlestickSeries, {
  upColor: "#26d07c", downColor: "#ff5c5c", borderVisible: false, wickUpColor: "#26d07c", wickDownColor: "#ff5c5c",
});
const seconds = (iso) => Math.floor(new Date(iso).getTime() / 1000);

function barOf(c) {
  return { time: seconds(c.start), open: +c.open, high: +c.high, low: +c.low, close: +c.close };
}

function addToChart(trade) {
  const bucket = Math.floor(seconds(trade.executed_at) / 60) * 60;
  const p = +trade.price;
  const last = state.lastBar;
  if (last && bucket < last.time) return;  // older than the chart's last bar: already in it
  const bar = last && last.time === bucket
    ? { ...last, high: Math.max(last.high, p), low: Math.min(last.low, p), close: p }
    : { time: bucket, open: p, high: p, low: p, close: p };
  state.lastBar = bar;
  candles.update(bar);
}

// ------------------------------------------------------------------ market list
function renderStocks() {
  const body = $("stock-list");
  body.replaceChildren(...[...state.stocks.values()].map((s) => el("tr",
    { class: s.symbol === state.symbol ? "sel" : "", "data-symbol": s.symbol, onclick: () => select(s.symbol) },
    el("td", { class: "sym", text: s.symbol }),
    el("td", { class: "r num", text: fmtMoney(s.last_price ?? s.reference_price) }),
    el("td", { class: `r num ${tone(s.change_percent)}`, text: fmtChange(s.change_percent) }),
  )));
  const s = state.stocks.get(state.symbol);
  if (s) {
    $("sym-title").textContent = s.symbol;
    $("sym-name").textContent = s.name + (s.status === "halted" ? " · HALTED" : "");
    $("sym-last").textContent = fmtMoney(s.last_price ?? s.reference_price);
    $("sym-change").textContent = fmtChange(s.change_percent);
    $("sym-change").className = `num ${tone(s.change_percent)}`;
  }
}

function onTradeForList(t) {
  const s = state.stocks.get(t.symbol);
  if (!s) return;
  s.last_price = t.price;
  const ref = Number(s.reference_price);
  if (ref) s.change_percent = (((Number(t.price) - ref) / ref) * 100).toFixed(2);
  renderStocks();
}

// ------------------------------------------------------------------ book
function renderBook(book) {
  const row = (side) => (l) => el("div", { class: `lrow ${side}` },
    el("span", { class: "num muted", text: fmtQty(l.orders) }),
    el("span", { class: "num", text: fmtQty(l.quantity) }),
    el("span", { class: "num px", text: fmtMoney(l.price) }));
  const asks = book.asks.slice(0, 12).reverse();
  const bids = book.bids.slice(0, 12);
  const max = Math.max(1, ...asks.map((l) => l.quantity), ...bids.map((l) => l.quantity));
  const withDepth = (tr, l) => { tr.style.setProperty("--depth", `${(100 * l.quantity) / max}%`); return tr; };
  $("asks").replaceChildren(...asks.map((l) => withDepth(row("ask")(l), l)));
  $("bids").replaceChildren(...bids.map((l) => withDepth(row("bid")(l), l)));
  const bb = book.bids[0], ba = book.asks[0];
  $("spread").textContent = bb && ba ? `spread ${fmtMoney(Number(ba.price) - Number(bb.price))}` : bb || ba ? "one-sided book" : "empty book";
  $("book-seq").textContent = `seq ${book.sequence}`;
  state.bookSeq = book.sequence;
}

async function fetchBook() {
  const sym = state.symbol;
  const book = await api.get(`api/stocks/${sym}/orderbook?depth=20`);
  if (sym === state.symbol && book.sequence >= state.bookSeq) renderBook(book);
}

function onBook(data) {
  if (data.symbol !== state.symbol || data.sequence <= state.bookSeq) return;
  if (state.bookSeq >= 0 && data.sequence > state.bookSeq + 1) {
    fetchBook().catch(report);  // a gap: some update was missed, the REST book is the truth
    return;
  }
  renderBook(data);
}

// ------------------------------------------------------------------ tape
function renderTape() {
  $("tape").replaceChildren(...state.trades.map((t) => el("tr", { class: t.aggressor_side === "buy" ? "bid" : "ask" },
    el("td", { class: "num muted", text: fmtTime(t.executed_at) }),
    el("td", { class: "r num px", text: fmtMoney(t.price) }),
    el("td", { class: "r num", text: fmtQty(t.quantity) }))));
}

async function fetchTrades() {
  const sym = state.symbol;
  const { trades } = await api.get(`api/stocks/${sym}/trades?limit=${TAPE_ROWS}`);
  if (sym !== state.symbol) return;
  state.trades = trades;
  renderTape();
}

function onTrade(t) {
  onTradeForList(t);
  if (t.symbol !== state.symbol) return;
  if (state.tradeSeq !== null && t.sequence <= state.tradeSeq) return;  // seen already
  const gap = state.tradeSeq !== null && t.sequence > state.tradeSeq + 1;
  state.tradeSeq = t.sequence;
  addToChart(t);
  if (gap) {
    fetchTrades().catch(report);
    return;
  }
  if (!state.trades.some((x) => x.id === t.trade_id)) {
    state.trades.unshift({ id: t.trade_id, price: t.price, quantity: t.quantity, aggressor_side: t.aggressor_side, executed_at: t.executed_at });
    state.trades.length = Math.min(state.trades.length, TAPE_ROWS);
    renderTape();
  }
}

// ------------------------------------------------------------------ selecting a stock
async function select(symbol) {
  if (!state.stocks.has(symbol)) return;
  state.symbol = symbol;
  state.bookSeq = -1;
  state.tradeSeq = null;
  state.lastBar = null;
  history.replaceState(null, "", `#${symbol}`);
  renderStocks();
  if (state.syncTicket) state.syncTicket();
  const sym = symbol;
  const [, , c] = await Promise.all([fetchBook(), fetchTrades(), api.get(`api/stocks/${sym}/candles?interval=1m`)]);
  if (sym !== state.symbol) return;
  const bars = c.candles.map(barOf);
  candles.setData(bars);
  state.lastBar = bars.length ? bars[bars.length - 1] : null;
  if (bars.length > 60) chart.timeScale().fitContent();
  else chart.timeScale().scrollToRealTime();
  const tick = state.stocks.get(sym).tick_size;
  $("t-limit").step = tick;
  $("t-stop").step = tick;
  if (!$("t-limit").value) $("t-limit").value = state.stocks.get(sym).last_price ?? state.stocks.get(sym).reference_price;
}

// ------------------------------------------------------------------ ticket
function setupTicket(model) {
  state.model = model;
  $("t-type").replaceChildren(...model.types.map((t) => el("option", { value: t, text: model.label(t) })));
  let shownType = null;
  const sync = () => {
    const type = $("t-type").value;
    const typeChanged = type !== shownType;
    shownType = type;
    const fields = model.fields(type);
    for (const label of document.querySelectorAll("[data-field]")) {
      const on = fields.includes(label.dataset.field);
      label.hidden = !on;
      label.querySelector("input").required = on;
    }
    const tifs = model.tifs(type);
    const keep = $("t-tif").value;
    $("t-tif").replaceChildren(...tifs.map((t) => el("option", { value: t, text: t.toUpperCase() })));
    if (!typeChanged && tifs.includes(keep)) $("t-tif").value = keep;  // else the type's default, the first
    const side = new FormData($("ticket")).get("side");
    $("t-submit").textContent = `${side === "buy" ? "Buy" : "Sell"} ${state.symbol || ""}`;
    $("t-submit").className = `btn big-btn ${side}`;
  };
  $("ticket").addEventListener("change", sync);
  sync();
  state.syncTicket = sync;
}

async function placeOrder(ev) {
  ev.preventDefault();
  const msg = $("t-msg");
  if (!state.user) {
    msg.textContent = "Log in to trade.";
    msg.className = "msg error";
    return;
  }
  const f = new FormData($("ticket"));
  const type = f.get("type");
  const body = { symbol: state.symbol, side: f.get("side"), type, quantity: Number(f.get("quantity")) };
  for (const field of state.model.fields(type)) body[field] = String(f.get(field)).trim();
  if (f.get("time_in_force")) body.time_in_force = f.get("time_in_force");
  $("t-submit").disabled = true;
  try {
    const order = await api.post("api/orders", body);
    state.lastPlaced = order.id;
    msg.className = "msg ok";
    msg.textContent = `${order.side} ${fmtQty(order.quantity)} ${order.symbol}: ${order.status}`;
    upsertOrder(order);
  } catch (err) {
    msg.textContent = err.message;
    msg.className = "msg error";
  } finally {
    $("t-submit").disabled = false;
  }
}

// ------------------------------------------------------------------ the user's orders, fills, portfolio
function upsertOrder(o) {
  if (state.finished.has(o.id)) return;  // final already: a late, older view (the POST's answer) changes nothing
  const known = state.orders.get(o.id);
  if (known && Date.parse(known.updated_at) > Date.parse(o.updated_at)) return;  // an older view arrived late
  if (FINAL.has(o.status)) {
    state.orders.delete(o.id);
    state.finished.add(o.id);
  } else {
    state.orders.set(o.id, o);
  }
  if (o.id === state.lastPlaced) {
    const filled = o.filled_quantity ? ` (${fmtQty(o.filled_quantity)} filled at ${fmtMoney(o.average_fill_price)})` : "";
    $("t-msg").textContent = `${o.side} ${fmtQty(o.quantity)} ${o.symbol}: ${o.status}${filled}`;
  }
  renderOrders();
}

function renderOrders() {
  const rows = [...state.orders.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  $("open-orders").replaceChildren(...rows.map((o) => el("tr", { "data-order": o.id },
    el("td", { class: "sym", text: o.symbol }),
    el("td", { class: o.side === "buy" ? "up" : "down", text: o.side }),
    el("td", { text: o.type }),
    el("td", { class: "r num", text: o.limit_price ? fmtMoney(o.limit_price) : o.stop_price ? `stop ${fmtMoney(o.stop_price)}` : "mkt" }),
    el("td", { class: "r num", text: `${fmtQty(o.filled_quantity)}/${fmtQty(o.quantity)}` }),
    el("td", { class: "muted", text: o.cancel_requested ? "cancelling" : o.status }),
    el("td", {}, el("button", { class: "btn tiny", type: "button", text: "Cancel", onclick: () => cancel(o.id) })),
  )));
}

async function cancel(id) {
  try {
    upsertOrder(await api.del(`api/orders/${id}`));
  } catch (err) {
    report(err);
  }
}

function renderFills() {
  $("fills").replaceChildren(...state.fills.map((f) => el("tr", {},
    el("td", { class: "num muted", text: fmtTime(f.executed_at) }),
    el("td", { class: "sym", text: f.symbol }),
    el("td", { class: f.side === "buy" ? "up" : "down", text: f.side }),
    el("td", { class: "r num", text: fmtMoney(f.price) }),
    el("td", { class: "r num", text: fmtQty(f.quantity) }))));
}

function renderPortfolio(equity) {
  const c = state.cash;
  $("cash-available").textContent = c ? fmtMoney(c.available) : "—";
  $("cash-reserved").textContent = c ? fmtMoney(c.reserved) : "—";
  if (equity !== undefined) $("equity").textContent = fmtMoney(equity);
  const rows = [...state.holdings.values()].filter((h) => h.quantity > 0).sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  $("holdings").replaceChildren(...rows.map((h) => el("tr", { "data-holding": h.symbol },
    el("td", { class: "sym", text: h.symbol }),
    el("td", { class: "r num", text: fmtQty(h.quantity) }),
    el("td", { class: "r num", text: fmtMoney(h.average_cost) }),
    el("td", { class: "r num", text: fmtMoney(h.market_value) }),
    el("td", { class: `r num ${tone(h.unrealized_pnl)}`, text: fmtMoney(h.unrealized_pnl) }))));
}

async function fetchPortfolio() {
  const p = await api.get("api/portfolio");
  state.cash = p.cash;
  state.holdings = new Map(p.holdings.map((h) => [h.symbol, h]));
  renderPortfolio(p.equity);
}

let portfolioTimer = null;
function refetchPortfolioSoon() {  // equity and market values: the REST view, once the burst is over
  clearTimeout(portfolioTimer);
  portfolioTimer = setTimeout(() => { if (state.user) fetchPortfolio().catch(report); }, 800);
}

async function loadUser() {
  const [orders, fills] = await Promise.all([api.get("api/orders?status=open&limit=100"), api.get(`api/portfolio/fills?limit=${FILL_ROWS}`)]);
  state.orders = new Map(orders.orders.map((o) => [o.id, o]));
  state.fills = fills.fills;
  renderOrders();
  renderFills();
  await fetchPortfolio();
}

function clearUser() {
  state.orders.clear();
  state.fills = [];
  state.holdings.clear();
  state.cash = null;
  renderOrders();
  renderFills();
  renderPortfolio("0");
  $("equity").textContent = "—";
}

function onUserEvent(msg) {
  const d = msg.data;
  switch (msg.type) {
    case "ORDER_ACCEPTED":
    case "ORDER_TRIGGERED":
    case "ORDER_CANCELLED":
    case "ORDER_EXPIRED":
      upsertOrder(d);
      break;
    case "ORDER_REJECTED":
      upsertOrder(d);
      toast(`${d.symbol} order rejected: ${d.reason || d.reject_reason || "refused"}`);
      break;
    case "ORDER_FILLED":
      upsertOrder(d);
      if (d.fill && !state.fills.some((f) => f.trade_id === d.fill.trade_id && f.order_id === d.id)) {
        state.fills.unshift({ ...d.fill, order_id: d.id, symbol: d.symbol, side: d.side });
        state.fills.length = Math.min(state.fills.length, FILL_ROWS);
        renderFills();
      }
      break;
    case "PORTFOLIO_UPDATED":
      state.cash = d.cash;
      if (d.holding) state.holdings.set(d.holding.symbol, { ...state.holdings.get(d.holding.symbol), ...d.holding });
      renderPortfolio();
      refetchPortfolioSoon();
      break;
    default:
  }
}

// ------------------------------------------------------------------ live
function onEvent(msg) {
  if (msg.type === "error") {
    toast(`live updates: ${msg.error && msg.error.message}`);
    return;
  }
  if (!msg.channel) return;
  if (msg.channel.startsWith("user:")) onUserEvent(msg);
  else if (msg.type === "TRADE_EXECUTED") onTrade(msg.data);
  else if (msg.type === "ORDER_BOOK_UPDATED") onBook(msg.data);
}

const live = new Live(document.querySelector('meta[name="ws-url"]').content, {
  onEvent,
  onState: (s, text) => { $("ws-status").dataset.state = s; $("ws-status").textContent = text; },
  onOpen: () => {  // (re)connected: whatever happened while away is in the REST views
    if (state.symbol) { fetchBook().catch(report); fetchTrades().catch(report); }
    if (state.user) loadUser().catch(report);
  },
});

// ------------------------------------------------------------------ session
api.onSession((session) => {
  const before = state.user && state.user.id;
  state.user = session ? session.user : null;
  $("auth-form").hidden = !!state.user;
  $("who").hidden = !state.user;
  $("who-name").textContent = state.user ? state.user.display_name || state.user.email : "";
  if ((state.user && state.user.id) !== before) {
    live.start(api.token());
    if (state.user) loadUser().catch(report);
    else clearUser();
  }
});

async function auth(action) {
  const form = $("auth-form");
  if (!form.reportValidity()) return;
  try {
    await action($("auth-email").value.trim(), $("auth-password").value);
    $("auth-password").value = "";
  } catch (err) {
    report(err);
  }
}

$("auth-form").addEventListener("submit", (ev) => { ev.preventDefault(); auth(api.login); });
$("register").addEventListener("click", () => auth(api.register));
$("logout").addEventListener("click", () => api.logout().catch(report));
$("ticket").addEventListener("submit", placeOrder);

// ------------------------------------------------------------------ start
async function start() {
  const [doc, { stocks }] = await Promise.all([fetch("openapi.json").then((r) => r.json()).catch(() => ({})), api.get("api/stocks")]);
  setupTicket(orderModel(doc));
  state.stocks = new Map(stocks.map((s) => [s.symbol, s]));
  live.subscribe(stocks.slice(0, 50).map((s) => `stock:${s.symbol}`));
  const wanted = location.hash.slice(1);
  const first = state.stocks.has(wanted) ? wanted : stocks.length ? stocks[0].symbol : null;
  const session = await api.refresh();  // a session from the refresh cookie, if the browser has one
  if (!session) live.start(null);
  if (first) await select(first);
  state.syncTicket();
  document.body.dataset.ready = "1";
}

start().catch(report);
