/**
 * "SED: Pull Pretrained Model": downloads a released EfficientSED checkpoint and converts it, by running
 * the engine's `sed pull` in the engine's Node runtime (a separate short-lived process, so the download
 * never blocks the running engine's job queue). Pulled models then appear in the model picker.
 */
import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import { RELEASES } from '../../engine/checkpoint/releases';
import { resolveNodeRuntime } from '../client/nodeRuntime';
import type { SedEngine } from '../engine';
import { readSettings } from '../settings';

const KIND_TEXT = { strong: 'AudioSet Strong, 447 classes', weak: 'AudioSet Weak backbone, 527 classes', 'advanced-kd': 'advanced KD (weak + strong), 447 classes' };

/** `release` argument: pull without asking. Resolves with the engine CLI's last output line. */
export async function pullModelCommand(engine: SedEngine, release?: string): Promise<string | undefined> {
  if (!release) {
    const pick = await vscode.window.showQuickPick(
      RELEASES.map((r) => ({ label: r.release, description: r.model, detail: KIND_TEXT[r.kind] })),
      { title: 'SED: pretrained EfficientSED checkpoint to download', matchOnDescription: true },
    );
    if (!pick) return undefined;
    release = pick.label;
  } else if (!RELEASES.some((r) => r.release === release)) {
    throw new Error(`unknown release "${release}" (valid: ${RELEASES.map((r) => r.release).join(', ')})`);
  }
  const name = release;
  const settings = readSettings();
  const runtime = await resolveNodeRuntime(settings.nodePath || undefined);
  const args = [engine.enginePath, 'pull', name];
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SED: pulling ${name}`, cancellable: true }, (progress, token) =>
    new Promise<string>((resolve, reject) => {
      engine.output.appendLine(`$ ${runtime.command} ${args.join(' ')}`);
      const child = spawn(runtime.command, args, { env: { ...process.env, ...runtime.env, ...engine.childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let last = '';
      const onData = (d: Buffer) => {
        for (const line of String(d).split(/\r?\n|\r/).filter((l) => l.trim())) {
          engine.output.appendLine(line);
          last = line;
          progress.report({ message: line.slice(0, 120) });
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      token.onCancellationRequested(() => child.kill('SIGTERM'));
      child.on('error', (err) => reject(new Error(`could not run the engine CLI with '${runtime.command}': ${err.message}`)));
      child.on('exit', (code, signal) => {
        if (code === 0) {
          void vscode.window.showInformationMessage(`SED: ${name} is ready; it is listed under "Pulled reference checkpoints" in the model picker.`);
          resolve(last);
        } else if (token.isCancellationRequested) reject(new Error(`pulling ${name} was cancelled`));
        else reject(new Error(`pulling ${name} failed (${signal ?? `exit code ${code}`}): ${last} — see the "SED Engine" output`));
      });
    }),
  );
}
