#!/usr/bin/env node
// The `sed` CLI: runs the bundled engine (dist/engine.js, built by `npm run build`).
require('../dist/engine.js').main(process.argv).catch((err) => {
  process.stderr.write(`sed: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
