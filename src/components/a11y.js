// Accessibility fixes for library widgets, applied where pages create them.

/**
 * Plot puts aria-label on <g> elements, which axe rejects without a role. Give the chart itself
 * role="img" with a description and mark the inner groups as presentation.
 */
export function accessiblePlot(svgOrFigure, description) {
  const svgs = svgOrFigure.tagName?.toLowerCase() === "svg" ? [svgOrFigure] : [...svgOrFigure.querySelectorAll("svg")];
  for (const svg of svgs) {
    if (!svg.closest("[role=img]") || svg === svgs.at(-1)) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", svg === svgs.at(-1) ? description : "legend");
    }
    for (const g of svg.querySelectorAll("g[aria-label]")) g.removeAttribute("aria-label");
  }
  return svgOrFigure;
}

/**
 * Inputs.range labels its number box but not its slider; give the slider the same name.
 */
export function labelInput(form) {
  const label = form.querySelector("label")?.textContent?.trim();
  for (const input of form.querySelectorAll("input, select, textarea")) {
    if (!input.labels?.length && !input.getAttribute("aria-label") && label) input.setAttribute("aria-label", label);
  }
  return form;
}
