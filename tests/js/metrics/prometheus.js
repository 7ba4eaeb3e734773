// A strict reader of the Prometheus text exposition format (0.0.4), enough
// to hold /metrics to it: every sample's family has one HELP and one TYPE
// line before its samples, a family's samples are together, no series is
// given twice, and every value is a number.

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** The family a sample belongs to: a histogram's `_bucket`/`_sum`/`_count` are its own. */
function familyOf(name, types) {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && ["histogram", "summary"].includes(types.get(base))) return base;
  }
  return name;
}

function splitLabels(text) {
  const labels = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) {
      current += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      labels.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  if (current) labels.push(current);
  return labels;
}

/**
 * Parses `text`; throws on anything the format does not allow. Returns
 * { families: Map<name, {help, type}>, series: Map<'name{a="1",b="2"}', number> }
 * (labels sorted in the key).
 */
export function parse(text) {
  const families = new Map();
  const types = new Map();
  const series = new Map();
  const finished = new Set();
  let current = null;
  text.split("\n").forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === "") return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name, ${where}`);
      const family = families.get(name) ?? {};
      const key = kind.toLowerCase();
      if (family[key] !== undefined) throw new Error(`second ${kind} for ${name}, ${where}`);
      if (finished.has(name) || (current !== name && family.samples)) throw new Error(`${kind} after samples, ${where}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`unknown type, ${where}`);
        types.set(name, rest);
      }
      family[key] = rest;
      families.set(name, family);
      if (current !== name && current !== null) finished.add(current);
      current = name;
      return;
    }
    if (line.startsWith("#")) return;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const [, name, labelText = "", value] = m;
    const family = familyOf(name, types);
    const declared = families.get(family);
    if (!declared?.type || !declared?.help) throw new Error(`sample without HELP and TYPE, ${where}`);
    if (family !== current) {
      if (finished.has(family)) throw new Error(`family ${family} split, ${where}`);
      if (current !== null) finished.add(current);
      current = family;
    }
    declared.samples = true;
    const labels = splitLabels(labelText).map((l) => {
      const lm = LABEL.exec(l);
      if (!lm) throw new Error(`bad label ${l}, ${where}`);
      return `${lm[1]}="${lm[2]}"`;
    });
    const key = labels.length ? `${name}{${labels.sort().join(",")}}` : name;
    if (series.has(key)) throw new Error(`duplicate series ${key}, ${where}`);
    const number = Number(value.replace(/^\+Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
    if (Number.isNaN(number) && value !== "NaN") throw new Error(`bad value, ${where}`);
    series.set(key, number);
  });
  return { families, series };
}
