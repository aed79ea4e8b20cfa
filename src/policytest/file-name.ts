/** The name `podpatterns test` looks for, at any depth under the directories it is given. */
export const TEST_FILE_NAME = 'podpatterns-test.yaml';
