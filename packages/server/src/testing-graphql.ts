/** graphql-js for the end-to-end tests in tests/ (a dependency of the server, not of the workspace root). */
export * from 'graphql';
