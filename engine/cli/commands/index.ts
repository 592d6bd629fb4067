/** The list of `sed` subcommands; each module registers one. */
import type { Command } from 'commander';
import { register as info } from './info';
import { register as serve } from './serve';

export const commands: Array<(program: Command) => void> = [info, serve];
