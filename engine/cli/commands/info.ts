import type { Command } from 'commander';
import { initBackend } from '../../backend/select';

export function register(program: Command): void {
  program
    .command('info')
    .description('print the active tfjs backend, its device and versions (and why better backends were skipped)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const info = await initBackend(process.env.SED_BACKEND || 'auto');
      if (opts.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const lines = [`backend: ${info.backend}`, `device:  ${info.device}`, ...Object.entries(info.versions).map(([k, v]) => `${k}: ${v}`)];
      for (const [k, v] of Object.entries(info.skipped)) lines.push(`skipped ${k}: ${v}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
