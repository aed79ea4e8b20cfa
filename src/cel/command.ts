import { bind, matches } from './expr.js';

const SHELL = /^(?:\/(?:usr\/)?bin\/)?(?:ba|da|a|z|k)?sh$/;
const SHELL_COMMAND_FLAG = /^-\w*c\w*$/;

/**
 * src/model/command.ts scriptOf() in CEL: the `-c` argument of a shell, else command and args joined by
 * spaces. `command` and `args` are CEL lists of strings. Needs list slice() (Kubernetes 1.35).
 */
export function celScriptOf(command: string, args: string): string {
  return bind(
    'argv',
    `${command} + ${args}`,
    `size(argv) >= 2 && ${matches('argv[0]', SHELL)} && ${matches('argv[1]', SHELL_COMMAND_FLAG)} ? argv.slice(2, size(argv)).join(' ') : argv.join(' ')`,
  );
}
