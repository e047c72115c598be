/**
 * The flag parser every CLI shares: `--name value` / `--name=value` flags declared with a type,
 * default, range or choices, checked up front so a typo gets one clear line,
 * `error[CLI_BAD_FLAG]: ...` plus the usage, and exit status 2 (see `runCli`).
 *
 *   const flags = parseFlags(argv, { steps: { type: "int", min: 1, required: true } }, USAGE);
 *   if (!flags) return;            // --help printed the usage
 */
import { parseArgs } from "node:util";
import { GamedreamError, formatErrorLine } from "../src/lib/core/index.js";

export type FlagSpec =
  | { type: "string"; default?: string; required?: boolean; choices?: readonly string[] }
  | { type: "int"; default?: number; required?: boolean; min?: number; max?: number }
  | { type: "number"; default?: number; required?: boolean; min?: number; max?: number }
  | { type: "boolean" };

type ValueOf<F extends FlagSpec> = F extends { type: "boolean" }
  ? boolean
  : F extends { type: "int" | "number" }
    ? number
    : string;
type Known<F extends FlagSpec> = F extends { type: "boolean" }
  ? true
  : F extends { required: true }
    ? true
    : F extends { default: unknown }
      ? true
      : false;

export type Flags<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: Known<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export function badFlag(message: string, usage?: string): GamedreamError {
  return new GamedreamError("CLI_BAD_FLAG", "validation", usage ? `${message}\n${usage}` : message);
}

/** Parses `argv`; returns null after printing `usage` for `--help`/`-h`. */
export function parseFlags<S extends Record<string, FlagSpec>>(
  argv: string[],
  spec: S,
  usage: string,
): Flags<S> | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
      help: { type: "boolean", short: "h" },
    };
    for (const [name, f] of Object.entries(spec)) options[name] = { type: f.type === "boolean" ? "boolean" : "string" };
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw badFlag((e as Error).message, usage);
  }
  if (values.help) {
    console.log(usage);
    return null;
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec)) {
    const raw = values[name];
    if (f.type === "boolean") {
      out[name] = raw === true;
      continue;
    }
    if (raw === undefined || raw === "") {
      if (f.required && f.default === undefined) throw badFlag(`--${name} is required.`, usage);
      out[name] = f.default;
      continue;
    }
    const text = String(raw);
    if (f.type === "string") {
      if (f.choices && !f.choices.includes(text))
        throw badFlag(`--${name} must be one of ${f.choices.join(", ")}, got "${text}".`, usage);
      out[name] = text;
      continue;
    }
    const n = Number(text);
    const kind = f.type === "int" ? "a whole number" : "a number";
    if (!Number.isFinite(n) || (f.type === "int" && !Number.isInteger(n)))
      throw badFlag(`--${name} must be ${kind}, got "${text}".`, usage);
    if (f.min !== undefined && n < f.min) throw badFlag(`--${name} must be ${kind} >= ${f.min}, got "${text}".`, usage);
    if (f.max !== undefined && n > f.max) throw badFlag(`--${name} must be ${kind} <= ${f.max}, got "${text}".`, usage);
    out[name] = n;
  }
  return out as Flags<S>;
}

/** Parses a JSON flag value (an object), or throws CLI_BAD_FLAG naming the flag. */
export function jsonFlag(name: string, text: string | undefined, usage: string): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
    return value as Record<string, unknown>;
  } catch (e) {
    throw badFlag(`--${name} must be a JSON object, e.g. '{"hidden":64}' (${(e as Error).message}).`, usage);
  }
}

/**
 * Runs a CLI's main: failures print `error[CODE]: message` on stderr and set the exit status (2
 * for bad flags, 1 otherwise).
 */
export function runCli(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(formatErrorLine(e));
    process.exitCode = e instanceof GamedreamError && e.code === "CLI_BAD_FLAG" ? 2 : 1;
  });
}
