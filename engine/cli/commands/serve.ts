import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the engine as a JSON-RPC child process (the VS Code extension starts it); see engine/protocol/protocol.ts')
    .option('--stdio', 'JSON-RPC over stdin/stdout (default)')
    .option('--node-ipc', 'JSON-RPC over the Node IPC channel (child_process.fork)')
    .action(async (opts: { stdio?: boolean; nodeIpc?: boolean }) => {
      if (opts.stdio && opts.nodeIpc) throw new Error('sed serve: choose one of --stdio and --node-ipc');
      // Loaded here so other commands do not pay for the server modules.
      const { runServer } = await import('../../server');
      const code = await runServer(opts.nodeIpc ? 'node-ipc' : 'stdio');
      process.exit(code);
    });
}
