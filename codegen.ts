import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the SPA, generated from the Go server's schema.
// documentMode 'string' keeps graphql-js out of the learner bundle: each
// operation is a plain string that still carries its result/variable types.
const config: CodegenConfig = {
  schema: 'graph/schema.graphqls',
  documents: ['frontend/src/**/*.{ts,tsx}', '!frontend/src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'frontend/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { Time: 'string' },
        strictScalars: true,
      },
    },
  },
};

export default config;
