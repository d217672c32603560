// Numbers for people: money with two decimals and separators, signed changes, times of day.

const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const qty = new Intl.NumberFormat("en-US");

export const fmtMoney = (s) => (s === null || s === undefined ? "—" : money.format(Number(s)));
export const fmtQty = (n) => (n === null || n === undefined ? "—" : qty.format(Number(n)));
export function fmtChange(pct) {
  if (pct === null || pct === undefined) return "—";
  const n = Number(pct);
  return `${n > 0 ? "+" : ""}${n.toFixed(2)}%`;
}
export const tone = (n) => (n === null || n === undefined || Number(n) === 0 ? "flat" : Number(n) > 0 ? "up" : "down");
export function fmtTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toISOString().slice(11, 19);
}
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
