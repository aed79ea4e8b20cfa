/**
 * Building blocks for CEL text. The compiled policies are strings the API server parses; these helpers keep
 * literals escaped and the few idioms CEL lacks (a `let`, a record of mixed types) in one place.
 */

/** A CEL string literal holding `text` exactly (single-quoted, escapes per the CEL spec's string literals). */
export function str(text: string): string {
  let out = "'";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\\\';
    else if (char === "'") out += "\\'";
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}'`;
}

/** A CEL list literal of string literals. */
export function strList(items: readonly string[]): string {
  return `[${items.map(str).join(', ')}]`;
}

/**
 * `body` with `name` bound to the value of `value`, evaluated once: CEL has no `let` (cel.bind is not in the
 * API server's environment), so the value is wrapped in a one-element list and mapped.
 */
export function bind(name: string, value: string, body: string): string {
  return `[${value}].map(${name}, ${body})[0]`;
}

/**
 * A map literal whose values have different types. The API server checks aggregate literals for one value
 * type (cel.HomogeneousAggregateLiterals); `dyn()` makes them one.
 */
export function record(fields: Readonly<Record<string, string>>): string {
  return `{${Object.entries(fields).map(([key, value]) => `${str(key)}: dyn(${value})`).join(', ')}}`;
}

/** Joins CEL string expressions with `+`, dropping empty literals. */
export function concat(...parts: string[]): string {
  const kept = parts.filter((part) => part !== "''");
  return kept.length === 0 ? "''" : kept.length === 1 ? kept[0]! : `(${kept.join(' + ')})`;
}

/**
 * A JavaScript regular expression as the RE2 pattern CEL's `matches()`/`find()` take. Only the common subset
 * is accepted (no lookaround, no backreferences), so a rule's pattern cannot mean something else in CEL.
 */
export function re2(pattern: RegExp): string {
  const source = pattern.source;
  if (/\(\?[=!<]|\\[1-9]|\\k</.test(source)) throw new Error(`regular expression /${source}/ uses lookaround or backreferences, which RE2 lacks`);
  const unsupported = pattern.flags.replace(/[igu]/g, '');
  if (unsupported !== '') throw new Error(`regular expression /${source}/${pattern.flags}: flag ${unsupported} has no RE2 equivalent here`);
  return pattern.flags.includes('i') ? `(?i)${source}` : source;
}

/** `text` as an RE2 pattern that matches it literally. */
export function escapeRe2(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (char) => `\\${char}`);
}

/** `text` with CEL's `matches()` for a JavaScript regular expression (unanchored, like RegExp.test). */
export function matches(text: string, pattern: RegExp): string {
  return `${text}.matches(${str(re2(pattern))})`;
}

/**
 * A CEL string expression written like the engine's template literals: the literal parts are quoted and each
 * interpolation is a CEL expression of type string, e.g. celText`container '${'c.name'}' exits`.
 */
export function celText(strings: TemplateStringsArray, ...values: string[]): string {
  const parts: string[] = [];
  strings.forEach((literal, index) => {
    if (literal !== '') parts.push(str(literal));
    if (index < values.length) parts.push(`(${values[index]})`);
  });
  return concat(...parts);
}

/** `'<value>'`: a name in single quotes, as the engine's messages write them. */
export function quoted(value: string): string {
  return `"'" + ${value} + "'"`;
}
