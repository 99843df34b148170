import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, expectTensor } from '../src/io/safetensors.js';
import tinyJson from './fixtures/tiny.safetensors.json';

const tiny = Uint8Array.from(atob(tinyJson.base64), (c) => c.charCodeAt(0));

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors with metadata', () => {
    const w = Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1);
    const y = Int32Array.from([5, -2, 7]);
    const bytes = encodeSafetensors(
      { 'real.weights': { dtype: 'F32', shape: [3, 4], data: w }, labels: { dtype: 'I32', shape: [3], data: y } },
      { note: 'hello' },
    );
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0); // data is 8-byte aligned
    const f = decodeSafetensors(bytes);
    expect(f.metadata).toEqual({ note: 'hello' });
    expect(f.tensors['real.weights']!.shape).toEqual([3, 4]);
    expect(Array.from(f.tensors['real.weights']!.data)).toEqual(Array.from(w));
    expect(Array.from(f.tensors.labels!.data)).toEqual([5, -2, 7]);
    expect(f.tensors.labels!.data).toBeInstanceOf(Int32Array);
  });

  it('reads a file written by an independent writer (Python, from the spec)', () => {
    const f = decodeSafetensors(tiny, 'tiny.safetensors');
    expect(Array.from(f.tensors.weights!.data)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(f.tensors.weights!.shape).toEqual([2, 3]);
    expect(Array.from(f.tensors.labels!.data)).toEqual([3, -1, 7]);
    expect(f.metadata.made_by).toBe('make_safetensors.py');
  });

  it('gives a clear error for a corrupt or truncated file', () => {
    const good = encodeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => decodeSafetensors(good.subarray(0, 5), 'x.safetensors')).toThrow(
      /x\.safetensors: .*shorter than the 8-byte/,
    );
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'x.safetensors')).toThrow(
      /'a' shape \[4\] does not match its data_offsets/,
    );
    const bad = good.slice();
    bad[9] = 0x7b; // break the JSON
    bad[10] = 0x7b;
    expect(() => decodeSafetensors(bad, 'x.safetensors')).toThrow(/header is not JSON/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 10n ** 12n, true);
    expect(() => decodeSafetensors(huge, 'x.safetensors')).toThrow(/truncated or corrupt/);
  });

  it('names the tensor and both shapes when a shape is wrong', () => {
    const f = decodeSafetensors(
      encodeSafetensors({ 'real.weights': { dtype: 'F32', shape: [2, 14], data: new Float32Array(28) } }),
    );
    expect(() => expectTensor(f, 'real.weights', [-1, 15], 'zoo.safetensors')).toThrow(
      "zoo.safetensors: tensor 'real.weights' has shape [2,14], expected [*,15]",
    );
    expect(() => expectTensor(f, 'g1.weights', [-1, 15], 'zoo.safetensors')).toThrow(
      /no tensor 'g1.weights' \(it has: real.weights\)/,
    );
  });
});
