import { describe, expect, it } from 'vitest';
import { IRIS_TEST_INDICES, IRIS_TRAIN_INDICES, irisSplit, loadIris } from '../src/data/iris.js';
import fixture from './fixtures/mlp_iris_adam.json';

function classCounts(y: Int32Array): number[] {
  const counts = [0, 0, 0];
  for (const label of y) counts[label]++;
  return counts;
}

describe('Iris data', () => {
  it('loadIris returns 150 raw rows with labels 0..2', () => {
    const { x, y, classes } = loadIris();
    expect(x.length).toBe(150 * 4);
    expect(y.length).toBe(150);
    expect(classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(Array.from(x.subarray(0, 4))).toEqual(Array.from(new Float32Array([5.1, 3.5, 1.4, 0.2])));
    expect(y[0]).toBe(0);
    expect(y[149]).toBe(2);
    expect(classCounts(y)).toEqual([50, 50, 50]);
  });

  it('irisSplit gives the fixed 100/50 split', () => {
    const split = irisSplit();
    expect(split.xTrain.length).toBe(100 * 4);
    expect(split.yTrain.length).toBe(100);
    expect(split.xTest.length).toBe(50 * 4);
    expect(split.yTest.length).toBe(50);
    expect(classCounts(split.yTest)).toEqual([19, 15, 16]);

    const { x, y } = loadIris();
    const first = IRIS_TEST_INDICES[0];
    expect(Array.from(split.xTest.subarray(0, 4))).toEqual(Array.from(x.subarray(first * 4, first * 4 + 4)));
    expect(split.yTest[0]).toBe(y[first]);
  });

  it('split indices match the PyTorch fixture and partition 0..149', () => {
    expect([...IRIS_TRAIN_INDICES]).toEqual(fixture.train_indices);
    expect([...IRIS_TEST_INDICES]).toEqual(fixture.test_indices);
    const train = new Set(IRIS_TRAIN_INDICES);
    expect(train.size).toBe(100);
    expect(IRIS_TEST_INDICES.filter((i) => train.has(i))).toEqual([]);
    const all = [...IRIS_TRAIN_INDICES, ...IRIS_TEST_INDICES].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });
});
