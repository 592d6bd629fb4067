import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { chooseRuntime } from '../../onnx/select';

export function register(program: Command): void {
  program
    .command('info')
    .description('print the active tfjs backend, its device and versions (and why better backends were skipped), and the inference runtime (onnx or tfjs; $SED_RUNTIME)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const info = await initBackend(process.env.SED_BACKEND || 'auto');
      const runtime = await chooseRuntime(process.env.SED_RUNTIME || 'auto', info.backend);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...info, runtime }, null, 2) + '\n');
        return;
      }
      const runtimeLine = runtime.runtime === 'onnx'
        ? `runtime: onnx (onnxruntime-node ${runtime.version ?? '?'}, CPU; detection's model part, frontend on ${info.backend})`
        : `runtime: tfjs (onnx not used: ${runtime.reason})`;
      const lines = [`backend: ${info.backend}`, `device:  ${info.device}`, runtimeLine, ...Object.entries(info.versions).map(([k, v]) => `${k}: ${v}`)];
      for (const [k, v] of Object.entries(info.skipped)) lines.push(`skipped ${k}: ${v}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
