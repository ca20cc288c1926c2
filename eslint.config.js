// ESLint (flat config): typescript-eslint's recommended rules, no `any`, and no import cycle
// between modules (eslint-plugin-import-x). Cycles between the folders of lib/ are checked by
// scripts/check-folder-cycles.mjs (a folder-level graph, which a per-module rule cannot see).
// Run by `npm run lint` (scripts/lint.sh).
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'build-native/', 'build-cuda/', 'node_modules/', 'native/', 'prebuilds/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Our messages already quote the caught error's text; `cause` chains are not used.
      'preserve-caught-error': 'off',
      // `let x = default` overwritten on every path is a style the code uses for clarity.
      'no-useless-assignment': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', __dirname: 'readonly', module: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The HTTP tests read parsed JSON bodies of any shape.
    files: ['test/serve/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'warn' },
  },
);
