// msgpackr's native extractor (faster string decoding) loads from the prebuilt binary npm installs for
// this platform (@msgpackr-extract/msgpackr-extract-<platform>-<arch>); its install script, which
// would only build it from source, is denied in package.json (`allowScripts`: docs/dependencies.md).
// Where there is a prebuilt, acceleration must be on; elsewhere the JS path runs (same bytes).
import { createRequire } from 'node:module';
import { isNativeAccelerationEnabled } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';

const require = createRequire(import.meta.url);
const prebuilt = `@msgpackr-extract/msgpackr-extract-${process.platform}-${process.arch}`;
const hasPrebuilt = ((): boolean => {
  try {
    require.resolve(`${prebuilt}/package.json`, { paths: [require.resolve('msgpackr-extract')] });
    return true;
  } catch {
    return false;
  }
})();

describe('codec - msgpackr native extractor', () => {
  it(`is on where npm installed a prebuilt for ${process.platform}-${process.arch} (no install script needed)`, () => {
    expect(isNativeAccelerationEnabled).toBe(hasPrebuilt);
    if (process.platform === 'linux' && process.arch === 'x64') expect(hasPrebuilt).toBe(true);
    const frame = { type: 'chunk', seq: 1, deltas: [{ index: 0, text: 'héllo 🌊'.repeat(40) }] };
    expect(decode(encode(frame))).toEqual(frame);
  });
});
