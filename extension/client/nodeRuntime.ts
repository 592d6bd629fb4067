/**
 * Picks the Node runtime that runs the engine: the configured path, else `node` on PATH, else the
 * editor's own runtime (Electron run as Node), with a message saying why when it falls back.
 */
import { execFile } from 'node:child_process';

/** Oldest Node major the engine supports (tfjs-wasm, fetch, AbortSignal behaviour). */
export const MIN_NODE_MAJOR = 20;

export interface NodeRuntime {
  /** Executable to spawn. */
  command: string;
  /** `process.versions.node` of that runtime. */
  version: string;
  /** Extra environment (ELECTRON_RUN_AS_NODE for the editor's runtime). */
  env: Record<string, string>;
  /** Why this runtime was chosen when it is not the first choice (for the log / a notification). */
  note?: string;
}

function probe(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, ['-p', 'process.versions.node'], { env, timeout: 15000, windowsHide: true }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.trim());
    });
  });
}

function major(version: string): number {
  return Number(version.split('.')[0]);
}

/**
 * `configured`: the user's setting (empty = automatic). A configured runtime that is missing or too old
 * is an error naming it (no silent fallback); automatic mode falls back to `process.execPath`.
 */
export async function resolveNodeRuntime(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, settingName = 'sedStudio.nodePath'): Promise<NodeRuntime> {
  if (configured) {
    let version: string;
    try {
      version = await probe(configured, env);
    } catch (err) {
      throw new Error(`The Node runtime '${configured}' (setting ${settingName}) could not be run: ${(err as Error).message.split('\n')[0]}. Install Node ${MIN_NODE_MAJOR}+ or clear the setting to use 'node' on PATH.`);
    }
    if (!(major(version) >= MIN_NODE_MAJOR)) throw new Error(`The Node runtime '${configured}' (setting ${settingName}) is v${version}; the SED engine needs Node ${MIN_NODE_MAJOR} or newer.`);
    return { command: configured, version, env: {} };
  }
  let why: string;
  try {
    const version = await probe('node', env);
    if (major(version) >= MIN_NODE_MAJOR) return { command: 'node', version, env: {} };
    why = `'node' on PATH is v${version}, older than ${MIN_NODE_MAJOR}`;
  } catch {
    why = `no 'node' found on PATH`;
  }
  const own = process.versions.node;
  if (!(major(own) >= MIN_NODE_MAJOR)) {
    throw new Error(`${why}, and the editor's own runtime is Node v${own}; install Node ${MIN_NODE_MAJOR}+ and set ${settingName}.`);
  }
  return {
    command: process.execPath,
    version: own,
    // Electron behaves as plain Node with this variable; plain Node ignores it.
    env: { ELECTRON_RUN_AS_NODE: '1' },
    note: `${why}: running the engine with the editor's own runtime (Node v${own}); only pure-JS backends (wasm, cpu) are available there. Set ${settingName} to a Node ${MIN_NODE_MAJOR}+ for native backends.`,
  };
}
