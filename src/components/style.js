// Component styles, added to the document once per component.

/** Adds `css` in a <style id="{id}"> unless the document has it already. */
export function injectStyle(id, css) {
  if (document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.textContent = css;
  document.head.append(style);
}
