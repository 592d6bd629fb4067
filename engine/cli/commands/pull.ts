import type { Command } from 'commander';

/** Progress on stderr: an updating line on a terminal, otherwise a line per 10 %. */
function progressPrinter(label: string): { update: (received: number, total: number | undefined) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let lastStep = -1;
  let lastDraw = 0;
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  return {
    update(received, total) {
      const pct = total ? Math.floor((100 * received) / total) : undefined;
      const text = total ? `${label}: ${mb(received)}/${mb(total)} MB (${pct}%)` : `${label}: ${mb(received)} MB`;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && received !== total) return;
        lastDraw = now;
        process.stderr.write(`\r${text}\x1b[K`);
      } else if (pct !== undefined && Math.floor(pct / 10) > lastStep) {
        lastStep = Math.floor(pct / 10);
        process.stderr.write(`${text}\n`);
      }
    },
    end() {
      if (tty && lastDraw) {
        process.stderr.write('\n');
        lastDraw = 0;
      }
    },
  };
}

export function register(program: Command): void {
  program
    .command('pull')
    .description('download a released EfficientSED checkpoint (e.g. fmn10+tf-256_strong) into the model cache and convert it')
    .argument('[name]', 'release name (fmn10+tf-256_strong, fmn04_strong, fmn10_weak, …) or model name (fmn10+tf:256)')
    .option('--cache <dir>', 'model cache folder (default: $SED_CACHE_DIR or ~/.cache/sed-studio/models)')
    .option('--base-url <url>', 'where release files are downloaded from (default: the EfficientSED v0.0.1 GitHub release)')
    .option('--force', 'download and convert again even if cached')
    .option('--sha256 <hex>', 'expected sha256 of the .pt file')
    .option('--classes <file>', 'class names for the converted checkpoint (JSON list or one per line)')
    .option('--list', 'list the released names and which are in the cache')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { cache?: string; baseUrl?: string; force?: boolean; sha256?: string; classes?: string; list?: boolean; json?: boolean }) => {
      const { pullModel, listPulledModels, defaultCacheDir } = await import('../../checkpoint/pull');
      const { RELEASES } = await import('../../checkpoint/releases');
      const { readClassesFile } = await import('../../checkpoint/classes');
      const cacheDir = opts.cache ?? defaultCacheDir();
      if (opts.list || !name) {
        const pulled = new Map(listPulledModels(cacheDir).map((m) => [m.release, m]));
        if (opts.json) {
          process.stdout.write(JSON.stringify(RELEASES.map((r) => ({ ...r, pulled: pulled.get(r.release) ?? null })), null, 2) + '\n');
          return;
        }
        if (!name && !opts.list) process.stderr.write('sed pull: no name given; available releases:\n');
        for (const r of RELEASES) {
          const p = pulled.get(r.release);
          process.stdout.write(`${r.release.padEnd(40)} ${r.model.padEnd(18)} ${String(r.numClasses).padStart(3)} classes${p ? `  pulled → ${p.dir}` : ''}\n`);
        }
        return;
      }
      const progress = progressPrinter(name);
      const pulled = await pullModel(name, {
        cacheDir,
        baseUrl: opts.baseUrl,
        force: opts.force,
        sha256: opts.sha256,
        classes: opts.classes ? readClassesFile(opts.classes) : undefined,
        onProgress: progress.update,
        log: (m) => {
          progress.end();
          process.stderr.write(`${m}\n`);
        },
      });
      progress.end();
      if (opts.json) {
        process.stdout.write(JSON.stringify(pulled, null, 2) + '\n');
        return;
      }
      process.stdout.write(`${pulled.release} → ${pulled.dir}\n  model:   ${pulled.model}\n  classes: ${pulled.numClasses}\n  sha256:  ${pulled.sha256}\n`);
    });
}
