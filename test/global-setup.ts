import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/**
 * Builds the dashboard from the current source once per test run, before any test file starts: browser
 * tests in parallel files would otherwise each rebuild (and empty) dashboard/dist under each other.
 */
export default async function buildDashboard(): Promise<void> {
  await build({
    configFile: fileURLToPath(new URL('../dashboard/vite.config.ts', import.meta.url)),
    logLevel: 'silent',
  });
}
