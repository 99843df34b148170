// A size-bucketed pool of GPU buffers with a cap and live-byte counters.
//
// Sizes are rounded up to a bucket (quarter steps between powers of two, so at most 25% is wasted) and a
// released buffer is reused at once for the next request of the same bucket and usage. That is safe because
// every access to a pooled buffer is a command recorded in order (runtime.ts): no write can overtake the
// commands of its previous owner. It is not a general allocator: no sub-allocation.
//
// Every size is checked against the device's limits before anything is created, so that a tensor too large
// for the device fails at the call that asks for it, naming the limit (Dawn would create an invalid buffer
// and report it later, at a readback, as "[Invalid Buffer] is invalid due to a previous error").
//
// A captured step (capture.ts) pins the buffers it binds: a pinned buffer that is released is held, not
// reused, until the last capture holding it lets go, so that a replay never writes memory the pool has
// handed to someone else; while a capture records, `observer` is told of every acquire and release.

export interface PoolStats {
  liveBytes: number; // in tensors' hands
  liveBuffers: number;
  freeBytes: number; // kept for reuse
  heldBytes: number; // released, but held for captured steps that bind them (capture.ts)
  created: number; // createBuffer calls so far
}

/** Rounds a byte size up to its bucket: 256 B minimum, then quarter steps between powers of two. */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

// STORAGE, as a number: in Node the GPUBufferUsage global exists only once Dawn is loaded.
const STORAGE = 0x80;

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  private stats: PoolStats = { liveBytes: 0, liveBuffers: 0, freeBytes: 0, heldBytes: 0, created: 0 };
  /** Buffers captured steps bind: how many captures hold each, and whether its owner released it. */
  private pins = new Map<GPUBuffer, { holds: number; released: boolean }>();
  private readonly maxBufferSize: number;
  private readonly maxBindingSize: number;

  /** Told of every buffer the pool destroys (the runtime drops the bind groups that hold it). */
  onDestroy: ((buf: GPUBuffer) => void) | null = null;

  /** Told of every acquire and release while a step is being captured (capture.ts). */
  observer: { acquired(buf: GPUBuffer): void; released(buf: GPUBuffer): void } | null = null;

  /** capBytes bounds live + held + free bytes; free buffers are destroyed first when it is reached. */
  constructor(
    private device: GPUDevice,
    public capBytes: number,
  ) {
    this.maxBufferSize = device.limits.maxBufferSize;
    this.maxBindingSize = device.limits.maxStorageBufferBindingSize;
  }

  /**
   * Throws unless a buffer of `bytes` with `usage` fits this device: maxBufferSize, and for storage buffers
   * (every tensor's) maxStorageBufferBindingSize, since a kernel binds a tensor whole. `what` names the
   * request in the error, e.g. "zeros((300000000))".
   */
  checkSize(bytes: number, usage: GPUBufferUsageFlags, what: string): void {
    const over = (limit: number, name: string, why: string) =>
      new Error(
        `${what}: ${fmtBytes(bytes)} is over this device's ${name} of ${fmtBytes(limit)}${why}. Use smaller ` +
          'tensors (a smaller batch, fewer models at once, or the work split into parts), or an adapter with ' +
          'higher limits (`weightgen info` names the adapter in use).',
      );
    if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`${what}: ${bytes} bytes is not a buffer size`);
    if (usage & STORAGE && bytes > this.maxBindingSize) {
      throw over(this.maxBindingSize, 'maxStorageBufferBindingSize', ' (a kernel binds a tensor whole)');
    }
    if (bytes > this.maxBufferSize) throw over(this.maxBufferSize, 'maxBufferSize', '');
  }

  acquire(bytes: number, usage: GPUBufferUsageFlags, label = ''): GPUBuffer {
    this.checkSize(bytes, usage, `a GPU buffer for '${label}'`);
    const size = Math.min(bucketSize(bytes), this.maxBufferSize); // rounding up may not pass the limit
    const key = `${usage}:${size}`;
    let buf = this.free.get(key)?.pop();
    if (buf) {
      this.stats.freeBytes -= size;
    } else {
      const { liveBytes, heldBytes } = this.stats;
      if (liveBytes + heldBytes + size > this.capBytes) {
        const held = heldBytes ? ` (and ${mib(heldBytes)} held for captured steps)` : '';
        throw new Error(
          `GPU buffer pool cap reached: ${mib(liveBytes)} live in ${this.stats.liveBuffers} buffers${held}, ` +
            `${mib(size)} more asked for '${label}', cap ${mib(this.capBytes)}. Dispose tensors you no longer ` +
            'need (or wrap the work in scope(), or dispose captured steps), or raise the cap: ' +
            '`gpu().pool.capBytes = bytes` (it starts at 4 x maxBufferSize, at most 8 GiB).',
        );
      }
      if (liveBytes + heldBytes + this.stats.freeBytes + size > this.capBytes) this.trim(this.capBytes - size);
      buf = this.device.createBuffer({ size, usage, label });
      this.stats.created++;
    }
    this.live.add(buf);
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    this.observer?.acquired(buf);
    return buf;
  }

  /** Gives a buffer back for reuse (or, if a captured step binds it, to that step until it lets go). */
  release(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) throw new Error(`buffer '${buf.label}' released twice or not from this pool`);
    this.stats.liveBytes -= buf.size;
    this.stats.liveBuffers--;
    const pin = this.pins.get(buf);
    if (pin) {
      pin.released = true;
      this.stats.heldBytes += buf.size;
    } else this.toFree(buf);
    this.observer?.released(buf);
  }

  private toFree(buf: GPUBuffer): void {
    const key = `${buf.usage}:${buf.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
    this.stats.freeBytes += buf.size;
  }

  /**
   * Keeps `buf` for a captured step: a live buffer, once released, is held instead of reused; a free one
   * (a step's intermediate, released within the step) leaves the free list and is held now. Throws for a
   * buffer that is neither live nor free (destroyed, or not this pool's).
   */
  pin(buf: GPUBuffer): void {
    const pin = this.pins.get(buf);
    if (pin) {
      pin.holds++;
      return;
    }
    if (this.live.has(buf)) {
      this.pins.set(buf, { holds: 1, released: false });
      return;
    }
    const list = this.free.get(`${buf.usage}:${buf.size}`);
    const i = list ? list.indexOf(buf) : -1;
    if (i < 0) throw new Error(`buffer '${buf.label}' (${buf.size} bytes) is neither live nor free in this pool`);
    list!.splice(i, 1);
    this.stats.freeBytes -= buf.size;
    this.stats.heldBytes += buf.size;
    this.pins.set(buf, { holds: 1, released: true });
  }

  /** Lets go of a pin(); a buffer released meanwhile becomes free once no capture holds it. */
  unpin(buf: GPUBuffer): void {
    const pin = this.pins.get(buf);
    if (!pin) throw new Error(`buffer '${buf.label}' is not pinned`);
    if (--pin.holds > 0) return;
    this.pins.delete(buf);
    if (pin.released) {
      this.stats.heldBytes -= buf.size;
      this.toFree(buf);
    }
  }

  /** Whether a pinned buffer was released by its owner since it was pinned (false for one not pinned). */
  isReleased(buf: GPUBuffer): boolean {
    return this.pins.get(buf)?.released ?? false;
  }

  /** Destroys free buffers until live + held + free <= targetBytes. */
  trim(targetBytes = 0): void {
    for (const list of this.free.values()) {
      while (list.length && this.stats.liveBytes + this.stats.heldBytes + this.stats.freeBytes > targetBytes) {
        const buf = list.pop()!;
        this.stats.freeBytes -= buf.size;
        this.onDestroy?.(buf);
        buf.destroy();
      }
    }
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** "1,200,000,000 bytes (1144.4 MiB)" */
function fmtBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes (${mib(bytes)})`;
}
