/**
 * The server as a library (the package's `.` export): build the app on a database you open
 * yourself, e.g. to embed it in another Node.js process. `src/main.ts` is the command-line entry.
 */
export { type App, type AppOptions, buildApp } from './app.ts';
export { type Config, loadConfig } from './config.ts';
export { type Database, type DatabaseOptions, openDatabase } from './db/database.ts';
export { AppError } from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
