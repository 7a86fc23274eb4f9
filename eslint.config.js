// Lint rules for Skiff. Type checking is done by `tsc`; this catches what the compiler does not.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.cache/**', 'src/config/validators.generated.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error',
        { selector: 'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip)$/]', message: 'focused or skipped tests hide failures' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // The pipeline flows one way: api -> model -> translate -> config; the proxy imports only config.
    files: ['src/api/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/model/**', '**/translate/**', '**/proxy/**', '**/control/**', '**/sources/**', '**/local/**', '**/cli/**', 'node:fs', 'node:net', 'node:http', 'node:child_process'] }] },
  },
  {
    // Injection and capture rules are pure: the webhook, `skiff inject` and `skiff capture` do the I/O.
    files: ['src/inject/**/*.ts', 'src/capture/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/model/**', '**/translate/**', '**/proxy/**', '**/control/**', '**/sources/**', '**/local/**', '**/cli/**', 'node:fs', 'node:net', 'node:http', 'node:child_process', '@kubernetes/client-node'] }] },
  },
  {
    files: ['src/model/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/translate/**', '**/proxy/**', '**/control/**', '**/sources/**', '**/local/**', '**/cli/**', 'node:fs', 'node:net', 'node:http', 'node:child_process', '@kubernetes/client-node'] }] },
  },
  {
    files: ['src/translate/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/proxy/**', '**/control/**', '**/sources/**', '**/local/**', '**/cli/**', 'node:fs', 'node:net', 'node:http', 'node:child_process', '@kubernetes/client-node'] }] },
  },
  {
    files: ['src/proxy/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/api/**', '**/model/**', '**/translate/**', '**/control/**', '**/sources/**', '**/local/**'] }] },
  },
);
