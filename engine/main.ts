/** Bundle entry of the engine: the `sed` CLI (and, through `sed serve`, the JSON-RPC child process). */
export { main } from './cli/main';
import { isMainThread } from 'node:worker_threads';
import { main } from './cli/main';
// Worker threads of the bundle (parallel detection) load this file too: only the main thread runs the CLI.
import './detect/parallel';

if (require.main === module && isMainThread) {
  main(process.argv).catch((err: Error) => {
    process.stderr.write(`sed: ${err.message}\n`);
    process.exit(1);
  });
}
