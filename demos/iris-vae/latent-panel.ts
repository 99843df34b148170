// The page's latent-space panel: for the VAE chosen (M1 or M2), every set it is shown with (its zoo, the
// Scrambled zoo for M1, the latest networks sampled from it) placed by latent.ts and drawn by scatter.ts,
// coloured by set or by test accuracy, with its legend, a note and the view readout under the canvas.
//
// Not here: the projection (latent.ts), the drawing (scatter.ts), training (pipeline.ts).

import { vectorLength } from '../../src/models/zoo.js';
import { accuracyColor, drawLegend, setColor } from './colors.js';
import { encodeMeans, fitProjection, project } from './latent.js';
import type { Networks, Trained } from './pipeline.js';
import { type Dot, LatentScatter, type ViewReadout } from './scatter.js';

export type Which = 'M1' | 'M2';

/** One VAE's latent picture: each set's networks on the zoo's two principal axes. */
interface Picture {
  explained: [number, number];
  sets: { name: string; xy: Float32Array; accuracy: Float32Array }[];
}

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Encodes the sets a VAE is shown with (its zoo first, whose axes the picture uses); null until trained. */
async function picture(t: Trained, which: Which): Promise<Picture | null> {
  const vae = which === 'M1' ? t.m1 : t.m2;
  const sets: [string, Networks | null | undefined][] =
    which === 'M1'
      ? [
          ['Real zoo', t.zoos.real],
          ['Scrambled zoo', t.zoos.scrambled],
          ['generated', t.g1],
        ]
      : [
          ['Real-2 zoo', t.zoos.real2],
          ['generated', t.g2],
        ];
  if (!vae || sets.some(([, n]) => !n)) return null;
  const dim = vectorLength(which);
  const means: Float32Array[] = [];
  for (const [, n] of sets) means.push(await encodeMeans(vae, n!.vectors, dim));
  const p = fitProjection(means[0]!, vae.vae.latent);
  return {
    explained: p.explained,
    sets: sets.map(([name, n], i) => ({ name, xy: project(p, means[i]!), accuracy: n!.accuracy })),
  };
}

/** "-0.0434 to 0.0192": to 1/1000 of the range's width or finer (a VAE's latent means may span 0.05 or 50). */
function range(v: [number, number]): string {
  const digits = Math.min(12, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(v[1] - v[0]) || 1))));
  return `${v[0].toFixed(digits)} to ${v[1].toFixed(digits)}`;
}

export class LatentPanel {
  private readonly pictures: Partial<Record<Which, Picture>> = {};
  private scatter!: LatentScatter;
  private readonly which = el<HTMLSelectElement>('latent-of');
  private readonly colorBy = el<HTMLSelectElement>('color-by');

  /** Builds the scatter on #latent and wires #latent-of, #color-by and #reset-view. */
  static async create(device: GPUDevice): Promise<LatentPanel> {
    const panel = new LatentPanel();
    panel.scatter = await LatentScatter.create(device, el<HTMLCanvasElement>('latent'), (r) => panel.readout(r));
    panel.which.addEventListener('change', () => panel.show(true));
    panel.colorBy.addEventListener('change', () => panel.show(false));
    el('reset-view').addEventListener('click', () => panel.scatter.resetView());
    panel.show(true);
    return panel;
  }

  /** Forgets both pictures (a new training begins). */
  clear(): void {
    delete this.pictures.M1;
    delete this.pictures.M2;
    this.show(true);
  }

  /** Recomputes one VAE's picture from what `t` holds now; refits the view if it is the one shown. */
  async update(t: Trained, which: Which, refit: boolean): Promise<void> {
    this.pictures[which] = (await picture(t, which)) ?? undefined;
    if (this.which.value === which) this.show(refit);
  }

  private show(refit: boolean): void {
    const which = this.which.value as Which;
    const p = this.pictures[which];
    const mode = this.colorBy.value as 'set' | 'accuracy';
    const dots: Dot[] = [];
    p?.sets.forEach((s, i) => {
      for (let k = 0; k < s.accuracy.length; k++) {
        const color = mode === 'set' ? setColor(i) : accuracyColor(s.accuracy[k]!);
        dots.push({ x: s.xy[2 * k]!, y: s.xy[2 * k + 1]!, color });
      }
    });
    this.scatter.setDots(dots, refit);
    drawLegend(el('legend'), mode, p?.sets.map((s) => ({ name: s.name, n: s.accuracy.length })) ?? []);
    el('latent-note').textContent = p
      ? `${dots.length} networks, each at its encoder mean, on the two principal axes of the zoo's means`
      : `the ${which === 'M1' ? 'VAE' : 'enhanced VAE'} is not trained yet`;
  }

  private readout(r: ViewReadout): void {
    const p = this.pictures[this.which.value as Which];
    const pc = (k: 0 | 1) => `PC${k + 1} (${(100 * p!.explained[k]).toFixed(0)}% of the variance)`;
    el('view').textContent = p ? `zoom ${r.zoom.toFixed(2)}x · ${pc(0)} ${range(r.x)} · ${pc(1)} ${range(r.y)}` : '';
  }
}
