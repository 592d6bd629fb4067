/**
 * `sed` command-line entry. Each subcommand lives in `cli/commands/<name>.ts` and exports
 * `register(program)`. Results go to stdout or `--out`; errors go to stderr with exit code 1.
 */
import { Command } from 'commander';
import { commands } from './commands';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('sed')
    .description('SED Studio engine: sound event detection with EfficientSED models (fmn04…fmn30 + TF/ATT/BiGRU/TCN/MAMBA/HYBRID)')
    .option('--backend <name>', 'force a tfjs backend: auto, tensorflow, webgpu, wasm, cpu (default: $SED_BACKEND or auto)')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.hook('preAction', (cmd) => {
    const backend = cmd.opts().backend as string | undefined;
    if (backend) process.env.SED_BACKEND = backend;
  });
  for (const register of commands) register(program);
  await program.parseAsync(argv);
}

