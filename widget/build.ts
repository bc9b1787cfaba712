/**
 * Builds the site widget (widget/rt.ts) into the single minified IIFE served at /rt.js.
 * The server calls buildWidget() at startup; the result is cached for the process lifetime.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The widget's entry point, next to this file. */
export const WIDGET_ENTRY = fileURLToPath(new URL('./rt.ts', import.meta.url));

/** Module-level cache: a promise, so concurrent first calls share one build. */
let cached: Promise<string> | undefined;

async function compile(): Promise<string> {
  const result = await build({
    entryPoints: [WIDGET_ENTRY],
    write: false,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2018',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output for widget/rt.ts');
  return out.text;
}

/** Returns the minified widget JavaScript (built once per process). */
export async function buildWidget(): Promise<string> {
  cached ??= compile().catch((err: unknown) => {
    cached = undefined; // let a later call retry instead of caching the failure
    throw err;
  });
  return cached;
}
