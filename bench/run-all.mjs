#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) one after another.
// Each prints a table with ratios to the reference and writes bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const only = process.argv.slice(2);
const benches = fs.readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).filter((f) => !only.length || only.some((o) => f.includes(o)));
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b} ===`);
  const r = spawnSync('npx', ['tsx', `bench/${b}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
