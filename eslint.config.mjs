// Strict lint with the promise rules (STYLE 13): a floating promise in a
// security service is a check that may never run.
import tseslint from 'typescript-eslint';

// Import boundaries (ARCHITECTURE.md, "Layout"): libs are domains that the
// processes in apps/ assemble, so a lib never reaches back into apps/ nor
// depends on the NestJS wiring; attestors get ports and never touch the
// database. A flat config's later entry replaces a rule's options instead
// of merging them, so the attestors' entry repeats the libs' patterns.
const libsBoundary = [
  { regex: '(^|/|@)apps(/|$)', message: 'libs/ must not import from apps/: move the shared code into a lib.' },
  { regex: '^@nestjs/', message: 'libs/ must not depend on NestJS: the wiring lives in apps/.' },
];
const attestorsBoundary = [
  { regex: '^pg$', message: 'Attestors never touch the database: take a port instead.' },
  { regex: '^@prisma/', message: 'Attestors never touch the database: take a port instead.' },
  { regex: '(^|/)persistence(/|$)', message: 'Attestors never touch the database: take a port instead.' },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'libs/persistence/generated/', 'coverage/', 'data/', '*.js', '*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: libsBoundary }] },
  },
  {
    files: ['libs/attestors/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...libsBoundary, ...attestorsBoundary] }] },
  },
);
