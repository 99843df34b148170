// The recording half of step capture (capture.ts): what the runtime tells a capture while fn runs (every
// command, every buffer the pool hands out or takes back, and the counters fn moves), and the checks made
// when fn returns, which refuse a step a replay could not repeat exactly. Not here: replaying (capture.ts).

import { type CaptureHost, type CaptureOptions, CapturedStep, type Counter, type Draw } from './capture.js';
import type { Command } from './encode.js';

const MAP_READ = 0x1;

/** Watches fn run: its commands, the buffers it acquires and releases, the counters it moves. */
export class Recording {
  readonly commands: Command[] = [];
  private readonly mine = new Set<GPUBuffer>(); // acquired during the capture
  /** Buffers that existed before the capture and were released during it. */
  private readonly releasedEarly = new Set<GPUBuffer>();
  private readonly counters: { counter: Counter; field: string; start: number; last: number }[];
  /** Per dispatch: its counter and the offset of its value from the counter's start, or null. */
  private readonly draws: (Draw | null)[] = [];
  private problem: string | null = null;

  constructor(private readonly o: CaptureOptions) {
    this.counters = (o.counters ?? []).map(({ counter, field }) => {
      const p = counter.position;
      return { counter, field, start: p, last: p };
    });
  }

  /** Pool observer: a buffer handed out during the capture. */
  acquired(buf: GPUBuffer): void {
    this.mine.add(buf);
  }

  /** Pool observer: a buffer taken back during the capture. */
  released(buf: GPUBuffer): void {
    if (!this.mine.has(buf)) this.releasedEarly.add(buf);
  }

  command(cmd: Command): void {
    const draw = this.drawOf(cmd);
    if (cmd.kind === 'copy' && cmd.dst.buffer.usage & MAP_READ) {
      this.problem ??=
        'the captured function reads a buffer back (data(), item()), which a replay cannot: read after it';
    }
    if (cmd.kind === 'dispatch') this.draws.push(draw);
    this.commands.push(cmd);
  }

  /** A counter may move only by one, just before a dispatch whose uniform takes the value it moved from. */
  private drawOf(cmd: Command): Draw | null {
    let draw: Draw | null = null;
    this.counters.forEach((c, i) => {
      const p = c.counter.position;
      if (p === c.last) return;
      const v = cmd.kind === 'dispatch' ? cmd.uniforms[c.field] : undefined;
      if (p === c.last + 1 && v === c.last && !draw) {
        draw = { counter: i, offset: c.last - c.start };
        c.last = p;
        return;
      }
      const before = cmd.kind === 'dispatch' ? `dispatch ${cmd.name}` : `a ${cmd.kind}`;
      this.problem ??=
        `counter ${i} (uniform '${c.field}') moved from ${c.last} to ${p} with no dispatch taking its value ` +
        `(before ${before}): a draw on the CPU inside the captured function, which a replay cannot repeat; ` +
        'draw outside it, or do not capture this step';
    });
    return draw;
  }

  /** Checks what fn did and pins the buffers its commands bind; throws, naming why, if it cannot be replayed. */
  finish<T>(value: T, host: CaptureHost): CapturedStep<T> {
    const refuse = (why: string) => new Error(`capture${this.o.label ? ` of ${this.o.label}` : ''} refused: ${why}`);
    if (this.problem) throw refuse(this.problem);
    if (value instanceof Promise) throw refuse('the captured function returned a promise: it must be synchronous');
    this.counters.forEach((c, i) => {
      if (c.counter.position === c.last) return;
      throw refuse(
        `counter ${i} (uniform '${c.field}') moved from ${c.last} to ${c.counter.position} after the last ` +
          'dispatch: a draw on the CPU inside the captured function, which a replay cannot repeat',
      );
    });
    const writes = this.commands.filter((c) => c.kind === 'write');
    if (writes.length && !this.o.constantWrites) {
      throw refuse(
        `the captured function writes data (${writes.length} write${writes.length > 1 ? 's' : ''}, the first ` +
          `${writes[0]!.data.byteLength} bytes into a '${writes[0]!.dst.buffer.label}' buffer: a tensor made from ` +
          "values?): a replay would write the same bytes again, not the next step's. Write per-step data " +
          'outside it, into tensors the step reads (assign(); name them in `inputs`), or pass ' +
          'constantWrites: true if these bytes never change',
      );
    }
    const used = boundBuffers(this.commands);
    for (const buf of this.releasedEarly) {
      if (!used.has(buf)) continue;
      throw refuse(
        `the captured function released a '${buf.label}' buffer of ${buf.size} bytes that existed before it ` +
          'and that its commands use (a tensor made outside, disposed inside): a replay would use memory that ' +
          "is no longer the step's. Dispose it after the capture",
      );
    }
    (this.o.inputs ?? []).forEach((ref, i) => {
      if (!used.has(ref.buffer)) throw refuse(`input ${i} (a '${ref.buffer.label}' buffer) is read by no command`);
    });
    const pinned: GPUBuffer[] = [];
    try {
      for (const buf of used) {
        host.pool.pin(buf);
        pinned.push(buf);
      }
    } catch (e) {
      for (const buf of pinned) host.pool.unpin(buf);
      throw refuse((e as Error).message);
    }
    const watched = pinned.filter((b) => !this.mine.has(b));
    return new CapturedStep(value, this.commands, this.draws, this.o, host, pinned, watched);
  }
}

/** Every buffer the commands bind, write or copy. */
function boundBuffers(commands: Command[]): Set<GPUBuffer> {
  const used = new Set<GPUBuffer>();
  for (const c of commands) {
    if (c.kind === 'dispatch') for (const r of Object.values(c.buffers)) used.add(r.buffer);
    else if (c.kind === 'write') used.add(c.dst.buffer);
    else if (c.kind === 'copy') {
      used.add(c.src.buffer);
      used.add(c.dst.buffer);
    }
  }
  return used;
}
