/**
 * Data loader for the quality report page: every committed eval report (`weights/<name>/eval.json`,
 * written by `npm run eval`, schema `EVAL_SCHEMA` of src/lib/play/eval.ts), newest
 * first, each with the folder name it belongs to. An empty list when none is committed yet.
 * Run alone: `npx tsx src/data/eval-report.json.ts`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EVAL_SCHEMA } from "../lib/play/index.js";

const dir = "weights";
const reports: Record<string, unknown>[] = [];
for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
  const file = join(dir, name, "eval.json");
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, "utf8"));
  if (report.schema !== EVAL_SCHEMA) continue;
  reports.push({ name, file, ...report });
}
reports.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
process.stdout.write(JSON.stringify({ schema: EVAL_SCHEMA, reports }));
