import type { Rule } from '../engine/types.js';
import { portConflict } from './port-conflict.js';

/** Every rule podpatterns ships, in the order the README documents them. Ids are stable. */
export const ALL_RULES: readonly Rule[] = [portConflict];
