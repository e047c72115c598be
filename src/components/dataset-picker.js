// A select of the datasets stored in this browser (src/lib/data/user-datasets.browser.ts), which can be
// refreshed in place when a dataset is saved, without rebuilding the cell (and what depends on it).
// `value` is the chosen dataset's name, or null when none is stored.
let counter = 0;

export function datasetPicker({ label = "Stored dataset", datasets = [], value = null, id } = {}) {
  const wrap = document.createElement("div");
  wrap.className = "dataset-picker";
  const select = document.createElement("select");
  select.id = id ?? `dataset-picker-${++counter}`;
  const caption = document.createElement("label");
  caption.htmlFor = select.id;
  caption.textContent = `${label} `;
  const empty = document.createElement("p");
  empty.textContent =
    "No dataset is stored in this browser yet: record your play on the Play page, or upload a video on the Data page and save it.";
  wrap.append(caption, select, empty);
  function fill(list, wanted) {
    select.replaceChildren(...list.map((d) => new Option(`${d.name} (${d.frames} frames)`, d.name)));
    if (wanted && list.some((d) => d.name === wanted)) select.value = wanted;
    empty.hidden = list.length > 0;
    select.disabled = list.length === 0;
  }
  fill(datasets, value);
  Object.defineProperty(wrap, "value", { get: () => select.value || null });
  /** New list; keeps the choice, or picks `wanted`. Sends no input event. */
  wrap.refresh = (list, wanted = select.value) => fill(list, wanted);
  return wrap;
}
