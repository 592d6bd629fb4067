/**
 * Locations of the shared reference material, overridable by environment variables so the same tests
 * can run against any directory of fixtures in the same format. Relative paths resolve against the
 * repository root (not the current directory), so tests behave the same wherever mocha is started.
 */
import * as path from 'node:path';

/** The repository root (this file lives in <root>/test/helpers). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

function fromEnv(name: string, fallback: string): string {
  return path.resolve(REPO_ROOT, process.env[name] || fallback);
}

/** Directory of upstream parity fixtures (`SED_PARITY_DIR`, default `../shared/fixtures/parity`). */
export const PARITY_DIR = fromEnv('SED_PARITY_DIR', '../shared/fixtures/parity');

/** Directory of PSDS fixtures (`SED_PSDS_DIR`, default `../shared/fixtures/psds`). */
export const PSDS_DIR = fromEnv('SED_PSDS_DIR', '../shared/fixtures/psds');

/** The shared reference folder (`SHARED_DIR`, default `../shared`). */
export const SHARED_DIR = fromEnv('SHARED_DIR', '../shared');
