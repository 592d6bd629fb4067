import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('convert')
    .description('convert a released EfficientSED PyTorch checkpoint (.pt) into a SED Studio checkpoint folder (config.json + model.safetensors)')
    .argument('<in.pt>', 'torch.save checkpoint (zip format); loaded without executing any code from it')
    .requiredOption('--model <name>', 'model name, e.g. fmn10+tf:256, fmn04, fmn10+bigru:128 (release spelling fmn10+tf-256 works too)')
    .option('--classes <file>', 'class names in head order: JSON list or text file with one per line (default: AudioSet-Strong for 447 classes)')
    .requiredOption('--out <dir>', 'checkpoint folder to write (replaced atomically if it exists)')
    .option('--json', 'print the written config as JSON')
    .action(async (input: string, opts: { model: string; classes?: string; out: string; json?: boolean }) => {
      // Loaded here so other commands do not pay for the model modules.
      const { readClassesFile, readTorchCheckpointTensors, writeCheckpoint } = await import('../../checkpoint');
      const classes = opts.classes ? readClassesFile(opts.classes) : undefined;
      const imported = readTorchCheckpointTensors(input, opts.model, { classes });
      if (imported.warning) process.stderr.write(`sed convert: warning: ${imported.warning}\n`);
      const config = writeCheckpoint(opts.out, imported.config.name, imported.tensors, { classes: imported.classes, source: imported.source });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ dir: opts.out, ...config }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        `${input} → ${opts.out}\n  model:   ${config.model}\n  classes: ${config.classes.length}\n  tensors: ${imported.tensors.size}\n  sha256:  ${imported.source.sha256} (source)\n`,
      );
    });
}
