/** The list of `sed` subcommands; each module registers one. */
import type { Command } from 'commander';
import { register as info } from './info';
import { register as serve } from './serve';
import { register as convert } from './convert';
import { register as pull } from './pull';
import { register as mel } from './mel';
import { register as detect } from './detect';
import { register as profile } from './profile';
import { register as train } from './train';
import { register as pseudoLabel } from './pseudoLabel';
import { register as evaluate } from './eval';
import { register as recalibrateBn } from './recalibrateBn';

export const commands: Array<(program: Command) => void> = [info, serve, convert, pull, mel, detect, profile, train, pseudoLabel, evaluate, recalibrateBn];
