import type { Command } from 'commander';
import * as path from 'node:path';
import { initBackend } from '../../backend/select';
import { writeFileAtomic } from '../../io/atomicWrite';
import { PAPER_CONFIGS, profileModels, tableRows, toCsv, type ProfileRow } from '../../models/profile';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

function formatRow(r: ProfileRow): string {
  const params = `${(r.params / 1e6).toFixed(3)} M params`;
  const macs = `${(r.macs / 1e6).toFixed(1)} MMACs/clip`;
  const thr = r.throughput === null ? '' : `  ${r.throughput.toFixed(1)} clips/s (batch ${r.batch}, ${r.backend})`;
  return `${r.model.padEnd(18)} ${params.padStart(16)}  ${macs.padStart(18)}${thr}`;
}

interface ProfileCliOptions {
  classes: number;
  batch: number;
  repeats: number;
  warmup: number;
  throughput: boolean;
  json?: boolean;
  sweep?: boolean;
  out?: string;
}

export function register(program: Command): void {
  program
    .command('profile')
    .description('parameters, MACs per 10 s clip and throughput (clips/s on the active backend) of models, e.g. `sed profile fmn10 fmn10+tf:256`')
    .argument('[models...]', 'model names (<backbone>[+<seq>:<hidden>]); with --sweep, default: the paper\'s configurations')
    .option('--classes <n>', 'number of classes', positiveInt('--classes'), 447)
    .option('--batch <n>', 'batch size for throughput', positiveInt('--batch'), 64)
    .option('--repeats <n>', 'timed batches per model (median reported)', positiveInt('--repeats'), 3)
    .option('--warmup <n>', 'untimed warm-up batches per model', (v) => Number(v), 1)
    .option('--no-throughput', 'only count parameters and MACs')
    .option('--json', 'print JSON (one object per model)')
    .option('--sweep', 'profile a list of configurations and write a table (CSV or JSON by --out extension)')
    .option('--out <file>', 'with --sweep: table file (.csv or .json)')
    .action(async (models: string[], opts: ProfileCliOptions) => {
      if (opts.out && !opts.sweep) throw new Error('--out is only used with --sweep');
      if (opts.out && !/\.(csv|json)$/i.test(opts.out)) throw new Error(`--out ${opts.out}: the table must be a .csv or .json file`);
      const names = models.length ? models : opts.sweep ? PAPER_CONFIGS : [];
      if (!names.length) throw new Error('give at least one model name (e.g. sed profile fmn10+tf:256) or --sweep');
      if (opts.throughput) await initBackend(process.env.SED_BACKEND || 'auto');
      const progress = opts.sweep && !opts.json;
      const rows = await profileModels(names, {
        classes: opts.classes, batch: opts.batch, repeats: opts.repeats, warmup: opts.warmup, throughput: opts.throughput,
        onRow: progress ? (r) => process.stderr.write(formatRow(r) + '\n') : undefined,
      });
      if (opts.sweep && opts.out) {
        writeFileAtomic(opts.out, path.extname(opts.out).toLowerCase() === '.json' ? JSON.stringify(tableRows(rows), null, 2) + '\n' : toCsv(rows));
        process.stderr.write(`wrote ${rows.length} rows to ${opts.out}\n`);
      }
      if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else if (opts.sweep && !opts.out) process.stdout.write(toCsv(rows));
      else if (!progress) process.stdout.write(rows.map(formatRow).join('\n') + '\n');
    });
}
