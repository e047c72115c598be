// Data loader: every committed benchmark run in bench/results/, flattened to one row per result,
// for the benchmarks page's history plots.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = "bench/results";
const rows: Record<string, unknown>[] = [];
for (const file of existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
  : []) {
  const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
  if (report.schema !== "gamedream-bench/1") continue;
  for (const r of report.results) {
    rows.push({
      file,
      createdAt: report.createdAt,
      commit: report.commit,
      quick: report.quick,
      host: r.host,
      backend: r.backend,
      name: r.name,
      params: r.params
        ? Object.entries(r.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")
        : "",
      metric: r.metric,
      value: r.value,
      unit: r.unit,
    });
  }
}
process.stdout.write(JSON.stringify(rows));
