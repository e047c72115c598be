// Lint: ESLint's and typescript-eslint's recommended rules, no unused variables or imports.
// `npm run lint` runs it (and prettier --check); `npm test` runs lint first.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "dist-test-pages/",
      "src/.observablehq/",
      "src/vendor/",
      "src/assets/",
      "runs/",
      "weights/",
      "python/",
      "test/fixtures/",
      "scratch/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Pages' views and shared components run in the browser; scripts, CLI, tests and configs in Node.
    files: ["src/components/**/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["**/*.ts", "*.js", "scripts/**/*.js"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
