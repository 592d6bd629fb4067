/** Bundle entry of the engine: the `sed` CLI (and, through `sed serve`, the JSON-RPC child process). */
export { main } from './cli/main';
import { main } from './cli/main';

if (require.main === module) {
  main(process.argv).catch((err: Error) => {
    process.stderr.write(`sed: ${err.message}\n`);
    process.exit(1);
  });
}
