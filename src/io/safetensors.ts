// The safetensors format (https://huggingface.co/docs/safetensors): 8 bytes of little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian data. Python's `safetensors` and PyTorch read what this writes. Works on
// bytes, so it runs in the browser too; reading and writing files is in files.ts.

export type SafeDType = 'F32' | 'I32';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const HEADER_LIMIT = 100 * 2 ** 20; // a header above 100 MiB means a corrupt file

export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (n !== t.data.length)
      throw new Error(`safetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    const expect = t.dtype === 'F32' ? Float32Array : Int32Array;
    if (!(t.data instanceof expect))
      throw new Error(`safetensors: '${name}' is ${t.dtype} but its data is not a ${expect.name}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafeFile {
  const fail = (why: string) => new Error(`${source}: not a valid safetensors file: ${why}`);
  if (bytes.length < 8) throw fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > HEADER_LIMIT || 8 + headerLen > bytes.length) {
    throw fail(`header length ${headerLen} does not fit in ${bytes.length} bytes (truncated or corrupt)`);
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = header.__metadata__ ?? {};
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e?.dtype !== 'F32' && e?.dtype !== 'I32')
      throw fail(`tensor '${name}' has dtype ${e?.dtype}; only F32 and I32 are read`);
    const [begin, end] = e.data_offsets ?? [];
    const n = (e.shape as number[]).reduce((p, d) => p * d, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLen || end - begin !== 4 * n) {
      throw fail(
        `tensor '${name}' shape [${e.shape}] does not match its data_offsets [${begin}, ${end}] (data: ${dataLen} bytes)`,
      );
    }
    // An aligned copy of its own (a Node Buffer's slice() would share the whole pool's memory).
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data = e.dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    tensors[name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

/** Returns tensor `name` after checking its shape; the error says what was found instead. */
export function expectTensor(file: SafeFile, name: string, shape: number[], source = 'file'): SafeTensor {
  const t = file.tensors[name];
  if (!t) throw new Error(`${source}: no tensor '${name}' (it has: ${Object.keys(file.tensors).join(', ') || 'none'})`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] !== -1 && d !== shape[i])) {
    throw new Error(
      `${source}: tensor '${name}' has shape [${t.shape}], expected [${shape.map((d) => (d === -1 ? '*' : d))}]`,
    );
  }
  return t;
}
