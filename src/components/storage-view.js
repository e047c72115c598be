// Views for the storage and device pages: plain, labelled DOM (tables with captions, real buttons,
// <progress> with names), so every control works from the keyboard and axe finds nothing. Tables
// and buttons are the pages' own (table.js, controls.js).
import { button } from "./controls.js";
import { dataTable } from "./table.js";

/** `el("button", {type: "button", onclick}, "text")`: attributes, properties (on*) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function formatBytes(bytes) {
  if (bytes == null) return "unknown";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

/** A table with a caption, a header row and one row per item (an array of cells: text or nodes); a line when there is none. */
export function table(caption, headers, rows, { id, empty = "Nothing stored." } = {}) {
  if (rows.length === 0) return el("p", { id, className: "storage-empty" }, `${caption}: ${empty}`);
  const asIs = (v) => (typeof v === "number" ? String(v) : v);
  return dataTable(
    rows.map((cells) => Object.fromEntries(headers.map((h, i) => [h, cells[i]]))),
    {
      id,
      caption,
      columns: headers,
      format: Object.fromEntries(headers.map((h) => [h, asIs])),
      maxRows: Infinity,
    },
  );
}

/** A status line that screen readers announce when it changes. */
export function statusLine(id) {
  return el("p", { id, role: "status", "aria-live": "polite", className: "storage-status" });
}

/** Runs `action` from a button: disables it meanwhile and reports success or the error's message. */
export function actionButton(label, action, status, { id } = {}) {
  const b = button(
    label,
    async () => {
      b.disabled = true;
      try {
        const message = await action();
        if (message) status.textContent = message;
      } catch (error) {
        status.textContent = error?.message ?? String(error);
        status.dataset.error = error?.code ?? "ERROR";
      } finally {
        b.disabled = false;
      }
    },
    { id },
  );
  return b;
}

/** One row per queued file: name, a labelled progress bar, and the outcome. */
export function queueList(items) {
  return el(
    "ul",
    { id: "ingest-queue", className: "ingest-queue" },
    items.map((item) =>
      el(
        "li",
        { "data-status": item.status, "data-name": item.file.name },
        el("span", { className: "queue-name" }, item.file.name),
        " ",
        el("progress", {
          max: 1,
          value: item.status === "done" ? 1 : item.fraction,
          "aria-label": `Progress of ${item.file.name}`,
        }),
        " ",
        el(
          "span",
          { className: "queue-outcome" },
          item.status === "failed"
            ? `failed: ${item.error.message}`
            : item.status === "done"
              ? `done: ${item.result.frames} frames at 256x256, cached`
              : item.status === "running"
                ? `${item.framesDone} / ${item.framesTotal || "?"} frames`
                : item.status,
        ),
      ),
    ),
  );
}
