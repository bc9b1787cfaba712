import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildWidget } from '../../widget/build.js';

/** rt.js is loaded on every page of every customer site: its size is a feature. */
const BUDGET_GZIP_BYTES = 3584; // 3.5 KB

describe('widget bundle', () => {
  it(`is at most ${BUDGET_GZIP_BYTES} bytes gzipped`, async () => {
    const js = await buildWidget();
    const gzipped = gzipSync(js, { level: 9 }).length;
    console.info(`rt.js: ${js.length} bytes, ${gzipped} bytes gzipped`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  it('is one self-contained minified IIFE, built once', async () => {
    const js = await buildWidget();
    expect(js).toMatch(/^("use strict";)?\(\(\)=>\{/);
    expect(js).not.toMatch(/\bimport\b|\brequire\(/);
    expect(js.split('\n').filter(Boolean)).toHaveLength(1);
    expect(await buildWidget()).toBe(js);
  });
});
