// The order ticket, built from the API's own OpenAPI document: the order types it offers (the
// `type` enum of POST /api/orders' body, across any oneOf/anyOf variants), the fields each type
// takes, and the times in force, so new types (stop, stop_limit) appear when the API has them.

const FIELDS = {  // the contract's price fields per type
  limit: ["limit_price"],
  market: [],
  stop: ["stop_price"],
  stop_limit: ["stop_price", "limit_price"],
};
const TIFS = {  // the contract's times in force per type
  market: ["ioc"],
  stop: ["gtc", "day"],
  stop_limit: ["gtc", "day"],
};
const LABELS = { limit: "Limit", market: "Market", stop: "Stop", stop_limit: "Stop limit" };

function resolve(doc, schema) {
  let s = schema;
  while (s && s.$ref) s = s.$ref.split("/").slice(1).reduce((o, k) => o && o[k], doc);
  return s || {};
}

// every enum/const value that `prop` can take in `schema` (through $ref, allOf/anyOf/oneOf)
function values(doc, schema, prop, seen = new Set()) {
  const s = resolve(doc, schema);
  if (seen.has(s)) return [];
  seen.add(s);
  const out = [];
  const p = s.properties && s.properties[prop];
  if (p) collect(doc, p, out);
  for (const key of ["allOf", "anyOf", "oneOf"]) for (const sub of s[key] || []) out.push(...values(doc, sub, prop, seen));
  return [...new Set(out)];
}

function collect(doc, schema, out) {
  const s = resolve(doc, schema);
  if (Array.isArray(s.enum)) out.push(...s.enum.filter((v) => v !== null));
  if (s.const !== undefined) out.push(s.const);
  for (const key of ["allOf", "anyOf", "oneOf"]) for (const sub of s[key] || []) collect(doc, sub, out);
}

function properties(doc, schema, seen = new Set()) {
  const s = resolve(doc, schema);
  if (seen.has(s)) return new Set();
  seen.add(s);
  const out = new Set(Object.keys(s.properties || {}));
  for (const key of ["allOf", "anyOf", "oneOf"]) for (const sub of s[key] || []) properties(doc, sub, seen).forEach((k) => out.add(k));
  return out;
}

export function orderModel(doc) {
  const op = doc.paths && doc.paths["/api/orders"] && doc.paths["/api/orders"].post;
  const body = op && op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  const schema = body ? body.schema : {};
  const types = values(doc, schema, "type");
  const props = properties(doc, schema);
  const tifs = values(doc, schema, "time_in_force");
  return {
    types: types.length ? types : ["limit", "market"],
    fields: (type) => (FIELDS[type] || ["limit_price"]).filter((f) => props.has(f)),
    tifs: (type) => (TIFS[type] || tifs).filter((t) => tifs.includes(t)),
    label: (type) => LABELS[type] || type,
  };
}
