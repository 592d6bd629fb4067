/** The list of `sed` subcommands; each module registers one. */
import type { Command } from 'commander';
import { register as info } from './info';
import { register as serve } from './serve';
import { register as convert } from './convert';
import { register as pull } from './pull';

export const commands: Array<(program: Command) => void> = [info, serve, convert, pull];
