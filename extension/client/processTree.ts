/**
 * Kills a child process and everything it started. On POSIX the engine is spawned as the leader of its
 * own process group (`detached: true`), so one signal to the group reaches grandchildren too; on
 * Windows `taskkill /T` walks the tree.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';

export function killProcessTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    spawnSync('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true });
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // No such group (already gone) or not a group leader: fall back to the process itself.
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
  }
}
