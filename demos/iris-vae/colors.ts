// Colours of the latent scatter and its legend: a colour a set (Vega's category10, as the charts use), or a
// network's test accuracy on viridis (dark at chance, 33%, and below; yellow at 100%). Not here: drawing (scatter.ts).

export type Rgb = readonly [number, number, number];

const hex = (h: string): Rgb => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16) / 255) as never;

/** Vega's category10, in the order of the sets. */
export const SET_COLORS: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];

/** Viridis at 0, 0.25, 0.5, 0.75, 1. */
const VIRIDIS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

export function setColor(i: number): Rgb {
  return hex(SET_COLORS[i % SET_COLORS.length]!);
}

/** Accuracies at or below chance (three classes) take the ramp's first colour. */
const CHANCE = 1 / 3;

/** The colour of an accuracy in [0, 1]: viridis from chance to 100%. */
export function accuracyColor(a: number): Rgb {
  const t = Math.min(1, Math.max(0, (a - CHANCE) / (1 - CHANCE))) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const [p, q] = [hex(VIRIDIS[i]!), hex(VIRIDIS[i + 1]!)];
  const f = t - i;
  return [0, 1, 2].map((k) => p[k]! + f * (q[k]! - p[k]!)) as never;
}

/** The legend: a swatch a set with its count, or the accuracy ramp with chance marked. */
export function drawLegend(box: HTMLElement, mode: 'set' | 'accuracy', sets: { name: string; n: number }[]): void {
  box.replaceChildren();
  if (mode === 'set') {
    sets.forEach((s, i) => {
      const item = document.createElement('span');
      item.className = 'swatch';
      item.style.setProperty('--c', SET_COLORS[i % SET_COLORS.length]!);
      item.textContent = `${s.name} (${s.n})`;
      box.append(item);
    });
    return;
  }
  const bar = document.createElement('span');
  bar.className = 'ramp';
  bar.style.background = `linear-gradient(to right, ${VIRIDIS.join(', ')})`;
  const label = (t: string) => Object.assign(document.createElement('span'), { textContent: t });
  box.append(label('test accuracy: chance (33%) or less'), bar, label('100%'));
}
