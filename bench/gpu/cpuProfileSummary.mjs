// Summarises a V8 .cpuprofile (node --cpu-prof) where it was taken: the top functions by self time and by
// total time (each function counted once per sample, however deep it recurses), in ms and % of the samples.
// Plain JavaScript with no dependencies, so it runs on the GPU machine beside the bundle (bench/gpu/remote.sh).
// Usage: node bench/gpu/cpuProfileSummary.mjs <file.cpuprofile> [top=40]
import fs from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`;

const self = new Map();
const total = new Map();
const deltas = profile.timeDeltas;
let sum = 0;
profile.samples.forEach((id, i) => {
  const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
  sum += ms;
  const leaf = label(byId.get(id));
  self.set(leaf, (self.get(leaf) ?? 0) + ms);
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at));
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + ms);
  }
});

const print = (title, map) => {
  console.log(`\n${title} (of ${sum.toFixed(0)} ms)`);
  for (const [name, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / sum).toFixed(1).padStart(5)} %  ${name}`);
};
print('self time', self);
print('total time', total);
