/**
 * Fixes to the HTML that Framework 1.13 writes, applied to dist/ after the build
 * (scripts/finish-dist.ts) and to pages served by the dev server (scripts/dev.ts), so both pass
 * axe (WCAG 2.1 AA): the document has a language, zooming is allowed, and the sidebar's close
 * control is not a child of a list.
 */
export function patchHtml(html: string): string {
  return html
    .replace(/<html>/, '<html lang="en">')
    .replace(
      /<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1">/,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
    )
    .replace(
      /(<nav id="observablehq-sidebar">\s*)<ol>(\s*)(<label id="observablehq-sidebar-close"[^>]*><\/label>)/,
      "$1$3$2<ol>",
    );
}
