// The latent scatter: points drawn by a WebGPU render pipeline of its own (latent-scatter.wgsl: instanced
// quads cut to discs) on the device the training uses, with pan (drag) and zoom (wheel, about the cursor)
// kept as a gl-matrix mat3 and handed to the vertex shader as a uniform. Double-click resets the view.
//
// The pipeline renders into a texture of its own, which is read back and put on a 2-D canvas, rather than
// into a canvas's WebGPU context: in headless Chromium on SwiftShader (the tests' browser), presenting a
// WebGPU canvas destroys the device ("Device was destroyed"), and with it the training that shares it. The
// readback costs one copy of 480 x 480 pixels a frame, and works the same on every adapter.
//
// Not here: what the points are (latent.ts, main.ts), colours (colors.ts), any compute work.

import { mat3, vec2 } from 'gl-matrix';
import { showError } from '../common/page.js';
import shader from './latent-scatter.wgsl';

/** One point: where it is in data units, and its colour (r, g, b in 0..1). */
export interface Dot {
  x: number;
  y: number;
  color: readonly [number, number, number];
}

/** What the view shows: the zoom against the fitted view, and the data ranges in sight. */
export interface ViewReadout {
  zoom: number;
  x: [number, number];
  y: [number, number];
}

const BYTES_PER_DOT = 12; // x, y: f32; r, g, b, a: unorm8
const UNIFORM_BYTES = 64; // mat3x3f (3 columns of 16 bytes), viewport vec2f, radius f32, padding
const FORMAT: GPUTextureFormat = 'rgba8unorm'; // the byte order of ImageData
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 500;

export class LatentScatter {
  private readonly context: CanvasRenderingContext2D;
  private readonly target: GPUTexture; // what the pipeline renders into, (height, width) rgba8
  private readonly readback: GPUBuffer; // the target's rows, each padded to 256 bytes
  private readonly rowBytes: number;
  private readonly uniform: GPUBuffer;
  private readonly bindGroup: GPUBindGroup;
  private instances: GPUBuffer | null = null;
  private count = 0;
  private readonly fit = mat3.create(); // data -> clip, so that the points fill the canvas
  private readonly view = mat3.create(); // clip -> clip: the user's pan and zoom
  private drawing = false; // a frame is being drawn
  private dirty = false; // something changed since that frame began
  /** Frames put on the canvas so far (also in the canvas's data-frames, which the tests read). */
  frames = 0;

  private constructor(
    private readonly device: GPUDevice,
    readonly canvas: HTMLCanvasElement,
    private readonly pipeline: GPURenderPipeline,
    private readonly onView: (r: ViewReadout) => void,
    private readonly radius: number, // device pixels
  ) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('the latent scatter canvas gives no 2-D context (canvas.getContext("2d") is null)');
    this.context = ctx;
    const [w, h] = [canvas.width, canvas.height];
    this.target = device.createTexture({
      label: 'latent scatter target',
      size: [w, h],
      format: FORMAT,
      usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC,
    });
    this.rowBytes = Math.ceil((4 * w) / 256) * 256; // copyTextureToBuffer's row alignment
    this.readback = device.createBuffer({
      label: 'latent scatter pixels',
      size: this.rowBytes * h,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.uniform = device.createBuffer({
      size: UNIFORM_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.uniform } }],
    });
    this.listen();
  }

  /** Sizes the canvas to its CSS box (in device pixels, within the device's texture limit) and builds the pipeline. */
  static async create(
    device: GPUDevice,
    canvas: HTMLCanvasElement,
    onView: (r: ViewReadout) => void,
    radius = 3.5,
  ): Promise<LatentScatter> {
    const most = device.limits.maxTextureDimension2D;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.min(most, Math.round(canvas.clientWidth * dpr) || 480);
    canvas.height = Math.min(most, Math.round(canvas.clientHeight * dpr) || 480);
    const module = device.createShaderModule({ label: 'latent-scatter.wgsl', code: shader });
    const pipeline = await device.createRenderPipelineAsync({
      label: 'latent scatter',
      layout: 'auto',
      vertex: {
        module,
        entryPoint: 'vs_point',
        buffers: [
          {
            arrayStride: BYTES_PER_DOT,
            stepMode: 'instance',
            attributes: [
              { shaderLocation: 0, offset: 0, format: 'float32x2' },
              { shaderLocation: 1, offset: 8, format: 'unorm8x4' },
            ],
          },
        ],
      },
      fragment: {
        module,
        entryPoint: 'fs_point',
        targets: [
          {
            format: FORMAT,
            blend: {
              color: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha' },
              alpha: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha' },
            },
          },
        ],
      },
      primitive: { topology: 'triangle-list' },
    });
    return new LatentScatter(device, canvas, pipeline, onView, radius * dpr);
  }

  /** Replaces the points; `refit` also fits the view to them (and resets pan and zoom). */
  setDots(dots: readonly Dot[], refit: boolean): void {
    const bytes = new ArrayBuffer(Math.max(1, dots.length) * BYTES_PER_DOT);
    const f = new Float32Array(bytes);
    const u = new Uint8Array(bytes);
    dots.forEach((d, i) => {
      f[3 * i] = d.x;
      f[3 * i + 1] = d.y;
      for (let c = 0; c < 3; c++)
        u[i * BYTES_PER_DOT + 8 + c] = Math.round(255 * Math.min(1, Math.max(0, d.color[c]!)));
      u[i * BYTES_PER_DOT + 11] = 217; // 85% opaque: overlapping points stay visible
    });
    if (!this.instances || this.instances.size < bytes.byteLength) {
      this.instances?.destroy();
      this.instances = this.device.createBuffer({
        label: 'latent scatter points',
        size: bytes.byteLength,
        usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST,
      });
    }
    this.device.queue.writeBuffer(this.instances, 0, bytes);
    this.count = dots.length;
    if (refit) this.fitTo(dots);
    this.redraw();
  }

  /** Back to the fitted view. */
  resetView(): void {
    mat3.identity(this.view);
    this.redraw();
  }

  /** The current zoom and the data ranges in sight. */
  readout(): ViewReadout {
    const inv = mat3.invert(mat3.create(), mat3.multiply(mat3.create(), this.view, this.fit));
    if (!inv) throw new Error('the latent view became singular (a zoom of 0?): double-click the canvas to reset it');
    const lo = vec2.transformMat3(vec2.create(), vec2.fromValues(-1, -1), inv);
    const hi = vec2.transformMat3(vec2.create(), vec2.fromValues(1, 1), inv);
    return { zoom: this.view[0]!, x: [lo[0]!, hi[0]!], y: [lo[1]!, hi[1]!] };
  }

  private fitTo(dots: readonly Dot[]): void {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const d of dots) {
      [x0, x1, y0, y1] = [Math.min(x0, d.x), Math.max(x1, d.x), Math.min(y0, d.y), Math.max(y1, d.y)];
    }
    if (!(x1 >= x0 && y1 >= y0)) [x0, x1, y0, y1] = [-1, 1, -1, 1];
    const half = Math.max(x1 - x0, y1 - y0, 1e-6) * 0.55; // one scale for both axes, 10% margin
    mat3.fromScaling(this.fit, [1 / half, 1 / half]);
    mat3.translate(this.fit, this.fit, [-(x0 + x1) / 2, -(y0 + y1) / 2]); // fit = scale * translate
    mat3.identity(this.view);
  }

  /** Drag pans, the wheel zooms about the cursor, a double click resets. */
  private listen(): void {
    const c = this.canvas;
    const clip = (e: MouseEvent): [number, number] => {
      const r = c.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * 2 - 1, 1 - ((e.clientY - r.top) / r.height) * 2];
    };
    let last: [number, number] | null = null;
    c.addEventListener('pointerdown', (e) => {
      c.setPointerCapture(e.pointerId);
      last = clip(e);
    });
    c.addEventListener('pointermove', (e) => {
      if (!last) return;
      const now = clip(e);
      const t = mat3.fromTranslation(mat3.create(), [now[0] - last[0], now[1] - last[1]]);
      mat3.multiply(this.view, t, this.view);
      last = now;
      this.redraw();
    });
    const end = () => {
      last = null;
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const pixels = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
        const zoom = this.view[0]!;
        const f = Math.min(MAX_ZOOM / zoom, Math.max(MIN_ZOOM / zoom, Math.exp(-pixels * 0.0015)));
        const [px, py] = clip(e);
        // zoom about the cursor: view = T(p) S(f) T(-p) view
        const m = mat3.fromTranslation(mat3.create(), [px, py]);
        mat3.scale(m, m, [f, f]);
        mat3.translate(m, m, [-px, -py]);
        mat3.multiply(this.view, m, this.view);
        this.redraw();
      },
      { passive: false },
    );
    c.addEventListener('dblclick', () => this.resetView());
  }

  /** Draws on the next animation frame; changes while a frame is drawn draw once more after it. */
  private redraw(): void {
    this.onView(this.readout());
    if (this.drawing) {
      this.dirty = true;
      return;
    }
    this.drawing = true;
    requestAnimationFrame(() => void this.frame());
  }

  private async frame(): Promise<void> {
    try {
      do {
        this.dirty = false;
        await this.draw();
      } while (this.dirty);
    } catch (e) {
      showError(e);
    } finally {
      this.drawing = false;
    }
  }

  /** Renders the points into the target, reads it back and puts it on the canvas. */
  private async draw(): Promise<void> {
    const m = mat3.multiply(mat3.create(), this.view, this.fit);
    const u = new Float32Array(UNIFORM_BYTES / 4);
    for (let col = 0; col < 3; col++) for (let row = 0; row < 3; row++) u[4 * col + row] = m[3 * col + row]!;
    const [w, h] = [this.canvas.width, this.canvas.height];
    u.set([w, h, this.radius], 12);
    this.device.queue.writeBuffer(this.uniform, 0, u);
    const encoder = this.device.createCommandEncoder({ label: 'latent scatter' });
    const pass = encoder.beginRenderPass({
      colorAttachments: [
        {
          view: this.target.createView(),
          clearValue: { r: 1, g: 1, b: 1, a: 1 },
          loadOp: 'clear',
          storeOp: 'store',
        },
      ],
    });
    if (this.instances && this.count > 0) {
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, this.bindGroup);
      pass.setVertexBuffer(0, this.instances);
      pass.draw(6, this.count);
    }
    pass.end();
    encoder.copyTextureToBuffer({ texture: this.target }, { buffer: this.readback, bytesPerRow: this.rowBytes }, [
      w,
      h,
    ]);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ);
    const rows = new Uint8Array(this.readback.getMappedRange());
    const image = this.context.createImageData(w, h);
    for (let y = 0; y < h; y++) image.data.set(rows.subarray(y * this.rowBytes, y * this.rowBytes + 4 * w), 4 * w * y);
    this.readback.unmap();
    this.context.putImageData(image, 0, 0);
    this.canvas.dataset.frames = String(++this.frames);
  }
}
