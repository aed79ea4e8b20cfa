/** Exit codes others script against: 0 clean, 1 findings at or above --fail-on, 2 usage or input error. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
