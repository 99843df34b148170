// The job queue's jobs as data (src/io/queue-jobs.ts), its URLs (queue-connection.ts) and the shard files
// (zoo-shards.ts, hypernet-shards.ts), without Redis or a GPU: every field of a job of every kind (zoo, eval,
// sample) is checked and a hostile one refused with a message naming it; a plan's shards tile the zoo or the
// eval's or sample's networks (whole blocks); shard files round-trip and merge into whole sets.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQueueUrl, redactUrl } from '../src/io/queue-connection.js';
import {
  type HypernetSamplePlan,
  hypernetSampleJobId,
  planHypernetSampleShards,
  SAMPLE_SHARD_LIMIT,
  sampleShardFileName,
  validateHypernetSampleJob,
} from '../src/io/hypernet-sample-jobs.js';
import {
  fileSha256,
  readEvalShard,
  readSampleShard,
  sampleLayout,
  writeEvalShard,
  writeSampleShard,
} from '../src/io/hypernet-shards.js';
import type { SafeTensor } from '../src/io/safetensors.js';
import {
  EVAL_SHARD_LIMIT,
  evalShardFileName,
  type HypernetEvalPlan,
  hypernetEvalJobId,
  JobRefused,
  planHypernetEvalShards,
  planZooShards,
  resolveRunFolder,
  shardFileName,
  validateHypernetEvalJob,
  validateZooShardJob,
  type ZooData,
  type ZooPlan,
  type ZooShardJob,
  zooJobId,
} from '../src/io/queue-jobs.js';
import { mergeShards, readShard, type ShardPart, writeShard } from '../src/io/zoo-shards.js';
import { VERSION } from '../src/version.js';

const dir = mkdtempSync(join(tmpdir(), 'weightgen-queue-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan: ZooPlan = {
  version: VERSION,
  run: 'runs/zoo',
  sets: ['real', 'real2'],
  models: 10,
  epochs: 3,
  batch: 16,
  lr: 0.005,
  seed: 0,
};

/** The JobRefused message of validating `data` (fails the test if it is accepted). */
function refusal(data: unknown): string {
  try {
    validateZooShardJob(data);
  } catch (e) {
    expect(e).toBeInstanceOf(JobRefused);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(data)}`);
}

describe('zoo shard jobs', () => {
  it('a plan tiles the zoo with near-equal ranges, every job valid, with distinct stable ids', () => {
    for (const [models, shards] of [
      [10, 1],
      [10, 3],
      [10, 10],
      [24, 4],
      [500, 7],
    ] as const) {
      const jobs = planZooShards({ ...plan, models }, shards);
      expect(jobs).toHaveLength(shards);
      let next = 0;
      for (const [i, j] of jobs.entries()) {
        expect([j.first, j.shard, j.shards, j.models]).toEqual([next, i, shards, models]);
        expect(j.count === Math.floor(models / shards) || j.count === Math.ceil(models / shards)).toBe(true);
        next += j.count;
        // through JSON, as a worker sees it, the job is accepted as it is
        expect(validateZooShardJob(JSON.parse(JSON.stringify(j)))).toEqual(j);
      }
      expect(next).toBe(models);
      const ids = jobs.map(zooJobId);
      expect(new Set(ids).size).toBe(shards);
      for (const id of ids) expect(id).toMatch(/^zoo-shard-[0-9a-f]{24}$/); // BullMQ: no ':', not an integer
      expect(planZooShards({ ...plan, models }, shards).map(zooJobId)).toEqual(ids);
    }
    expect(() => planZooShards(plan, 11)).toThrow(/11 shards of a zoo of 10 models: expected 1\.\.10 shards/);
    expect(() => planZooShards(plan, 0)).toThrow(JobRefused);
  });

  it('the id depends on the settings, not on the order of the fields', () => {
    const j = planZooShards(plan, 2)[1]!;
    const reversed = Object.fromEntries(Object.entries(j).reverse()) as unknown as ZooShardJob;
    expect(zooJobId(reversed)).toBe(zooJobId(j));
    expect(zooJobId({ ...j, epochs: 4 })).not.toBe(zooJobId(j));
    expect(zooJobId({ ...j, seed: 1 })).not.toBe(zooJobId(j));
  });

  const job = planZooShards(plan, 2)[1]!; // models 5..9
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'rm -rf /', /data must be a JSON object; got "rm -rf \/"/],
    ['null', null, /must be a JSON object; got null/],
    ['an array', [job], /must be a JSON object/],
    ['code in an extra field', { ...job, code: "require('child_process')" }, /unknown field 'code'/],
    [
      '__proto__',
      JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(job).slice(1)}`),
      /unknown field '__proto__'/,
    ],
    ['constructor', { ...job, constructor: 'x' }, /unknown field 'constructor'/],
    ['a missing field', { ...job, seed: undefined }, /field 'seed': undefined is not allowed/],
    ['a deleted field', (({ lr: _, ...rest }) => rest)(job), /missing field 'lr'/],
    [
      'a path that climbs out',
      { ...job, run: '../../etc' },
      /field 'run': "\.\.\/\.\.\/etc" is not allowed; expected a relative path/,
    ],
    ['a climb in the middle', { ...job, run: 'runs/../../etc' }, /field 'run'/],
    ['an absolute path', { ...job, run: '/etc/cron.d' }, /field 'run'/],
    ['a hidden folder', { ...job, run: 'runs/.ssh' }, /field 'run'/],
    ['a backslash', { ...job, run: 'runs\\..\\x' }, /field 'run'/],
    ['a space', { ...job, run: 'runs/a b' }, /field 'run'/],
    ['an empty run', { ...job, run: '' }, /field 'run'/],
    ['a long run', { ...job, run: 'a'.repeat(201) }, /field 'run'/],
    ['a run that is not a string', { ...job, run: ['runs'] }, /field 'run'/],
    ['an unknown set', { ...job, sets: ['real', 'evil'] }, /field 'sets': \["real","evil"\] is not allowed/],
    ['a set twice', { ...job, sets: ['real', 'real'] }, /field 'sets'/],
    ['sets out of order', { ...job, sets: ['real2', 'real'] }, /field 'sets'/],
    ['no set', { ...job, sets: [] }, /field 'sets'/],
    ['sets as a string', { ...job, sets: 'real' }, /field 'sets'/],
    [
      'a fractional count',
      { ...job, count: 1.5 },
      /field 'count': 1\.5 is not allowed; expected an integer in 1\.\.1048576/,
    ],
    ['a count as text', { ...job, count: '5' }, /field 'count': "5"/],
    ['a huge count', { ...job, count: 1e9 }, /field 'count'/],
    ['a range past the zoo', { ...job, count: 6 }, /models 5\.\.10 are outside the zoo of 10/],
    ['a shard past the plan', { ...job, shard: 2 }, /shard 2 of 2 in a zoo of 10/],
    ['zero epochs', { ...job, epochs: 0 }, /field 'epochs'/],
    ['infinite epochs', { ...job, epochs: Number.POSITIVE_INFINITY }, /field 'epochs'/],
    ['a batch larger than the data', { ...job, batch: 101 }, /field 'batch'/],
    ['a zero learning rate', { ...job, lr: 0 }, /field 'lr': 0 is not allowed; expected a number > 0 and <= 10/],
    ['a NaN learning rate', { ...job, lr: Number.NaN }, /field 'lr'/],
    ['a seed past modelSeed', { ...job, seed: 2 ** 28 }, /field 'seed'/],
    ['a negative seed', { ...job, seed: -1 }, /field 'seed'/],
    ['a version with a command', { ...job, version: '1; rm -rf /' }, /field 'version'/],
  ];
  for (const [what, data, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      expect(refusal(data)).toMatch(message);
    });
  }

  const data: ZooData = {
    csv: 'data/wine.csv',
    sha256: 'ab'.repeat(32),
    label: 'class',
    hidden: 5,
    split: 'stratified',
    splitSeed: 42,
    testSize: 0.33,
    standardise: true,
  };
  const csvJob = planZooShards({ ...plan, data }, 2)[1]!;
  const dataCases: [string, unknown, RegExp][] = [
    [
      'an absolute CSV path',
      { ...data, csv: '/etc/passwd' },
      /field 'data': field 'csv': "\/etc\/passwd" is not allowed/,
    ],
    ['a CSV path that climbs out', { ...data, csv: '../secret.csv' }, /field 'csv': "\.\.\/secret\.csv"/],
    ['a climb in the middle of the CSV path', { ...data, csv: 'data/../../x.csv' }, /field 'csv'/],
    ['a hash that is not hex', { ...data, sha256: 'z'.repeat(64) }, /field 'sha256': .* expected a SHA-256 in hex/],
    ['a short hash', { ...data, sha256: 'ab' }, /field 'sha256'/],
    ['a hidden width as text', { ...data, hidden: '5' }, /field 'hidden': "5" is not allowed; expected an integer/],
    ['a standardise as text', { ...data, standardise: 'yes' }, /field 'standardise': "yes"/],
    ['an unknown split', { ...data, split: 'random' }, /field 'split'/],
    ['a test size of 1', { ...data, testSize: 1 }, /field 'testSize'/],
    ['a label with a newline', { ...data, label: 'a\nb' }, /field 'label'/],
    ['code in the data', { ...data, code: 'process.exit()' }, /unknown field 'code' \(a zoo-shard data job has/],
    ['a data field missing', (({ sha256: _, ...rest }) => rest)(data), /missing field 'sha256'/],
    ['data that is not an object', 'data/wine.csv', /field 'data': a zoo-shard data job's data must be a JSON object/],
  ];
  for (const [what, d, message] of dataCases) {
    it(`refuses a CSV's job with ${what}, naming the field`, () => {
      expect(refusal({ ...csvJob, data: d })).toMatch(message);
    });
  }

  it("a CSV's job round-trips with its data; its id depends on the data; an Iris job's id is as before", () => {
    const back = validateZooShardJob(JSON.parse(JSON.stringify(csvJob)));
    expect(back).toEqual(csvJob);
    expect(back.data).not.toBe(csvJob.data); // a fresh copy
    const other = { ...csvJob, data: { ...data, sha256: 'cd'.repeat(32) } };
    expect(zooJobId(other)).not.toBe(zooJobId(csvJob));
    const iris = planZooShards(plan, 2)[1]!;
    expect(zooJobId(csvJob)).not.toBe(zooJobId(iris));
    expect(shardFileName(csvJob)).toBe(shardFileName(iris));
    // an Iris job's id: the hash of its fields in the order they have always had, with no data
    const order = ['version', 'run', 'sets', 'models', 'first', 'count', 'shard', 'shards', 'epochs', 'batch', 'lr'];
    const form = Object.fromEntries([...order, 'seed'].map((f) => [f, iris[f as keyof ZooShardJob]]));
    const hash = createHash('sha256').update(JSON.stringify(form)).digest('hex');
    expect(zooJobId(iris)).toBe(`zoo-shard-${hash.slice(0, 24)}`);
    expect('data' in iris).toBe(false);
  });

  it('a message shows a long hostile value cut short', () => {
    const msg = refusal({ ...job, run: `${'x/'.repeat(5000)}y` });
    expect(msg.length).toBeLessThan(400);
  });
});

describe('run folders under the root', () => {
  it('resolves a run folder inside the root, and refuses one a symbolic link leads out of', () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'runs'), { recursive: true });
    expect(resolveRunFolder(root, 'runs/zoo')).toBe(join(root, 'runs/zoo'));
    symlinkSync(tmpdir(), join(root, 'runs/out'));
    expect(() => resolveRunFolder(root, 'runs/out/zoo')).toThrow(/leads to .*, outside .*symbolic link/);
    symlinkSync(join(root, 'runs'), join(root, 'inside'));
    expect(resolveRunFolder(root, 'inside/zoo')).toBe(join(root, 'inside/zoo')); // a link within the root is fine
    expect(() => resolveRunFolder(root, '../x')).toThrow(JobRefused);
  });
});

describe('queue URLs', () => {
  it('reads redis:// and rediss:// with user, password and database', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6400')).toEqual({
      host: '127.0.0.1',
      port: 6400,
      db: 0,
      maxRetriesPerRequest: null,
    });
    expect(parseQueueUrl('rediss://weights:p%40ss@redis.example:6380/2')).toEqual({
      host: 'redis.example',
      port: 6380,
      db: 2,
      username: 'weights',
      password: 'p@ss',
      tls: { servername: 'redis.example' },
      maxRetriesPerRequest: null,
    });
    expect(parseQueueUrl('redis://:secret@[::1]')).toMatchObject({ host: '::1', port: 6379, password: 'secret' });
    expect(parseQueueUrl('rediss://10.0.0.5:6380').tls).toEqual({});
  });

  it('refuses other URLs, never printing the password', () => {
    expect(() => parseQueueUrl('http://x:secret@host:80')).toThrow(/the scheme http: is not Redis's/);
    expect(() => parseQueueUrl('redis://x:secret@host:80/db')).toThrow(/the database 'db' is not a number/);
    expect(() => parseQueueUrl('redis://host?tls=1')).toThrow(/query/);
    expect(() => parseQueueUrl('localhost:6379')).toThrow(/expected redis:\/\//);
    for (const bad of ['http://x:secret@host:80', 'redis://x:secret@host:80/db']) {
      try {
        parseQueueUrl(bad);
      } catch (e) {
        expect((e as Error).message).not.toMatch(/secret/);
      }
    }
    expect(redactUrl('redis://user:secret@host:1/0')).toBe('redis://user:***@host:1/0');
    expect(redactUrl('redis://host:1')).toBe('redis://host:1');
  });
});

describe('shard files', () => {
  /** Made-up trained parts: model g of set s holds values 1000 s + 100 g + k. */
  const parts = (j: ZooShardJob): Record<string, ShardPart> =>
    Object.fromEntries(
      j.sets.map((name, s) => {
        const P = name === 'real' ? 15 : 43;
        const v = Float32Array.from(
          { length: j.count * P },
          (_, i) => 1000 * s + 100 * (j.first + Math.floor(i / P)) + (i % P),
        );
        const acc = Float32Array.from({ length: j.count }, (_, g) => (j.first + g) / 100);
        return [name, { vectors: v, testAccuracy: acc }];
      }),
    );

  it('a shard file round-trips; one made for another job is refused, naming the file', () => {
    const run = join(dir, 'shards-a');
    const [j0] = planZooShards(plan, 3);
    expect(readShard(run, j0!)).toBeNull();
    const path = writeShard(run, j0!, parts(j0!));
    expect(path).toBe(join(run, shardFileName(j0!)));
    expect(readShard(run, j0!)).toEqual(parts(j0!));
    expect(() => readShard(run, { ...j0!, epochs: 4 })).toThrow(
      /models-0000000-0000003\.safetensors was made for another job/,
    );
  });

  it('a plan merges into whole sets, each model from its one shard; a missing shard is named', () => {
    const run = join(dir, 'shards-b');
    const jobs = planZooShards(plan, 3);
    for (const j of jobs.slice(0, 2)) writeShard(run, j, parts(j));
    expect(() => mergeShards(run, jobs)).toThrow(
      /1 of 3 shards are not in .* yet \(zoo-shards\/models-0000007-0000009/,
    );
    writeShard(run, jobs[2]!, parts(jobs[2]!));
    const whole = planZooShards(plan, 1)[0]!; // the same zoo as one shard: the reference
    const merged = mergeShards(run, jobs);
    expect(Object.keys(merged)).toEqual(['real.weights', 'real.test_accuracy', 'real2.weights', 'real2.test_accuracy']);
    const ref = parts(whole);
    expect(merged['real.weights']!.shape).toEqual([10, 15]);
    expect(merged['real2.weights']!.data).toEqual(ref.real2!.vectors);
    expect(merged['real.test_accuracy']!.data).toEqual(ref.real!.testAccuracy);
    // a plan whose ranges overlap or leave a gap is refused: a model would be counted twice or lost
    const overlap = [jobs[0]!, { ...jobs[1]!, first: jobs[1]!.first - 1 }, jobs[2]!];
    expect(() => mergeShards(run, overlap)).toThrow(/do not tile models 0\.\.9/);
    expect(() => mergeShards(run, [jobs[0]!, jobs[2]!])).toThrow(/do not tile/);
    expect(() => mergeShards(run, jobs.slice(0, 2))).toThrow(/end at model 6 of 10/);
  });

  it('a corrupt shard file is an error naming it', () => {
    const run = join(dir, 'shards-c');
    const [j0] = planZooShards(plan, 2);
    mkdirSync(join(run, 'zoo-shards'), { recursive: true });
    writeFileSync(join(run, shardFileName(j0!)), 'not a safetensors file');
    expect(() => readShard(run, j0!)).toThrow(/models-0000000-0000004\.safetensors: not a valid safetensors file/);
  });
});

describe('hypernetwork eval shard jobs', () => {
  const evalPlan: HypernetEvalPlan = {
    version: VERSION,
    run: 'runs/hypernet',
    preset: 'ci',
    lambda: 1000,
    steps: 1000,
    faithful: false,
    seed: 5,
    checkpoint: 'ab'.repeat(32),
    networks: 100,
    images: 50,
    block: 32,
  };

  function evalRefusal(data: unknown): string {
    try {
      validateHypernetEvalJob(data);
    } catch (e) {
      expect(e).toBeInstanceOf(JobRefused);
      return (e as Error).message;
    }
    throw new Error(`accepted: ${JSON.stringify(data)}`);
  }

  it('a plan is whole blocks, tiling the networks; ids are stable and distinct', () => {
    for (const [networks, shards, counts] of [
      [100, 1, [100]],
      [100, 2, [64, 36]],
      [100, 3, [64, 32, 4]],
      [100, 4, [32, 32, 32, 4]],
      [64, 2, [32, 32]],
      [20, 1, [20]],
    ] as const) {
      const jobs = planHypernetEvalShards({ ...evalPlan, networks }, shards);
      expect(jobs.map((j) => j.count)).toEqual(counts);
      let next = 0;
      for (const [i, j] of jobs.entries()) {
        expect([j.first, j.shard, j.shards]).toEqual([next, i, shards]);
        next += j.count;
        expect(validateHypernetEvalJob(JSON.parse(JSON.stringify(j)))).toEqual(j);
      }
      expect(next).toBe(networks);
      const ids = jobs.map(hypernetEvalJobId);
      expect(new Set(ids).size).toBe(shards);
      for (const id of ids) expect(id).toMatch(/^hypernet-eval-shard-[0-9a-f]{24}$/);
    }
    const j = planHypernetEvalShards(evalPlan, 2)[1]!;
    const reversed = Object.fromEntries(Object.entries(j).reverse()) as typeof j;
    expect(hypernetEvalJobId(reversed)).toBe(hypernetEvalJobId(j));
    expect(hypernetEvalJobId({ ...j, checkpoint: 'cd'.repeat(32) })).not.toBe(hypernetEvalJobId(j));
    expect(() => planHypernetEvalShards(evalPlan, 5)).toThrow(
      /5 shards of 100 networks in blocks of 32: expected 1\.\.4 shards/,
    );
    // the paper's scale in one shard is too big a file: the message says how many shards it takes
    expect(() => planHypernetEvalShards({ ...evalPlan, networks: 4000, images: 10_000 }, 2)).toThrow(
      /more than 8388608 networks x images: use at least 5 shards/,
    );
    expect(planHypernetEvalShards({ ...evalPlan, networks: 4000, images: 10_000 }, 5)).toHaveLength(5);
  });

  const job = planHypernetEvalShards(evalPlan, 4)[1]!; // networks 32..63
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'rm -rf /', /a hypernet-eval-shard job's data must be a JSON object/],
    ['code in an extra field', { ...job, code: 'process.exit()' }, /unknown field 'code'/],
    ['a zoo field', { ...job, sets: ['real'] }, /unknown field 'sets'/],
    ['a missing field', (({ checkpoint: _, ...rest }) => rest)(job), /missing field 'checkpoint'/],
    ['a path that climbs out', { ...job, run: '../../etc' }, /field 'run': "\.\.\/\.\.\/etc" is not allowed/],
    ['an absolute path', { ...job, run: '/root/.ssh' }, /field 'run'/],
    ['a data folder', { ...job, run: 'runs/x', data: '/etc' }, /unknown field 'data'/],
    ['an unknown preset', { ...job, preset: 'huge' }, /field 'preset': "huge" is not allowed; expected one of/],
    ['a preset from the prototype', { ...job, preset: 'constructor' }, /field 'preset'/],
    ['a huge count', { ...job, count: 1e9 }, /field 'count': 1000000000 is not allowed/],
    ['a huge network total', { ...job, networks: 2 ** 21 }, /field 'networks'/],
    ['more images than the test set', { ...job, images: 10_001 }, /field 'images'/],
    ['a range past the eval', { ...job, first: 96, count: 32 }, /networks 96\.\.127 are outside the eval of 100/],
    ['a range off the blocks', { ...job, first: 33 }, /do not start and end on blocks of 32/],
    [
      'a shard too big a file',
      { ...job, networks: 4000, first: 0, count: 1024, images: 10_000 },
      new RegExp(`more than ${EVAL_SHARD_LIMIT} in one shard`),
    ],
    ['a shard past the plan', { ...job, shard: 4 }, /shard 4 of 4 in an eval of 100 networks/],
    ['a checkpoint that is not a hash', { ...job, checkpoint: '../hypernet.ckpt' }, /field 'checkpoint'/],
    ['a lambda of text', { ...job, lambda: '1e3' }, /field 'lambda'/],
    ['faithful as text', { ...job, faithful: 'yes' }, /field 'faithful'/],
    ['a seed past 2^48', { ...job, seed: 2 ** 48 }, /field 'seed'/],
    ['a block of zero', { ...job, block: 0 }, /field 'block'/],
  ];
  for (const [what, data, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      expect(evalRefusal(data)).toMatch(message);
    });
  }

  it('a shard file round-trips; one of another job or shape is refused, naming the file', () => {
    const run = join(dir, 'eval-a');
    const probs = Float32Array.from({ length: job.count * job.images * 10 }, (_, i) => (i % 10) / 45);
    expect(readEvalShard(run, job, 10)).toBeNull();
    const path = writeEvalShard(run, job, probs, 10);
    expect(path).toBe(join(run, evalShardFileName(job)));
    expect(evalShardFileName(job)).toBe('eval-shards/networks-0000032-0000063.safetensors');
    expect(readEvalShard(run, job, 10)).toEqual(probs);
    expect(() => readEvalShard(run, { ...job, checkpoint: 'cd'.repeat(32) }, 10)).toThrow(
      /networks-0000032-0000063\.safetensors was made for another job/,
    );
    expect(() => readEvalShard(run, job, 11)).toThrow(/tensor 'probabilities' has shape \[32,50,10\]/);
    expect(() => writeEvalShard(run, job, probs.subarray(1), 10)).toThrow(/expected 32 x 50 x 10/);
    expect(fileSha256(path)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('hypernetwork sample shard jobs', () => {
  const samplePlan: HypernetSamplePlan = {
    version: VERSION,
    run: 'runs/hypernet',
    preset: 'ci',
    lambda: 1000,
    steps: 1000,
    faithful: false,
    seed: 5,
    checkpoint: 'ab'.repeat(32),
    networks: 70,
    block: 32,
  };

  function sampleRefusal(data: unknown): string {
    try {
      validateHypernetSampleJob(data);
    } catch (e) {
      expect(e).toBeInstanceOf(JobRefused);
      return (e as Error).message;
    }
    throw new Error(`accepted: ${JSON.stringify(data)}`);
  }

  it("a plan is whole blocks, tiling the networks; ids are stable, distinct and not the eval's", () => {
    for (const [networks, shards, counts] of [
      [70, 1, [70]],
      [70, 2, [64, 6]],
      [70, 3, [32, 32, 6]],
      [10, 1, [10]],
      [4096 * 3, 3, [4096, 4096, 4096]],
    ] as const) {
      const jobs = planHypernetSampleShards({ ...samplePlan, networks }, shards);
      expect(jobs.map((j) => j.count)).toEqual(counts);
      let next = 0;
      for (const [i, j] of jobs.entries()) {
        expect([j.first, j.shard, j.shards]).toEqual([next, i, shards]);
        next += j.count;
        expect(validateHypernetSampleJob(JSON.parse(JSON.stringify(j)))).toEqual(j);
      }
      expect(next).toBe(networks);
      const ids = jobs.map(hypernetSampleJobId);
      expect(new Set(ids).size).toBe(shards);
      for (const id of ids) expect(id).toMatch(/^hypernet-sample-shard-[0-9a-f]{24}$/);
    }
    const j = planHypernetSampleShards(samplePlan, 2)[1]!;
    const reversed = Object.fromEntries(Object.entries(j).reverse()) as typeof j;
    expect(hypernetSampleJobId(reversed)).toBe(hypernetSampleJobId(j));
    expect(hypernetSampleJobId({ ...j, seed: 6 })).not.toBe(hypernetSampleJobId(j));
    const asEval = planHypernetEvalShards({ ...samplePlan, images: 1 }, 2)[1]!;
    expect(hypernetEvalJobId(asEval).slice(-24)).not.toBe(hypernetSampleJobId(j).slice(-24));
    expect(() => planHypernetSampleShards(samplePlan, 4)).toThrow(
      /4 shards of 70 networks in blocks of 32: expected 1\.\.3 shards/,
    );
    expect(() => planHypernetSampleShards({ ...samplePlan, networks: 100_000 }, 20)).toThrow(
      new RegExp(`more than ${SAMPLE_SHARD_LIMIT}: use at least 25 shards`),
    );
    expect(planHypernetSampleShards({ ...samplePlan, networks: 100_000 }, 25)).toHaveLength(25);
  });

  const job = planHypernetSampleShards(samplePlan, 3)[1]!; // networks 32..63
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'rm -rf /', /a hypernet-sample-shard job's data must be a JSON object/],
    ['code in an extra field', { ...job, code: 'process.exit()' }, /unknown field 'code'/],
    ['an eval field', { ...job, images: 100 }, /unknown field 'images'/],
    ['a path of its own', { ...job, out: '/etc/passwd' }, /unknown field 'out'/],
    ['a missing field', (({ checkpoint: _, ...rest }) => rest)(job), /missing field 'checkpoint'/],
    ['a path that climbs out', { ...job, run: '../../etc' }, /field 'run': "\.\.\/\.\.\/etc" is not allowed/],
    ['an absolute path', { ...job, run: '/root/.ssh' }, /field 'run'/],
    ['an unknown preset', { ...job, preset: 'huge' }, /field 'preset': "huge" is not allowed; expected one of/],
    ['a preset from the prototype', { ...job, preset: '__proto__' }, /field 'preset'/],
    ['a huge count', { ...job, count: 1e9 }, /field 'count': 1000000000 is not allowed/],
    ['a shard over the file limit', { ...job, networks: 10_000, first: 0, count: 4128 }, /field 'count'/],
    ['more networks than sample makes', { ...job, networks: 100_001 }, /field 'networks'/],
    ['a range past the sample', { ...job, first: 64, count: 32 }, /networks 64\.\.95 are outside the sample of 70/],
    ['a range off the blocks', { ...job, first: 33 }, /do not start and end on blocks of 32/],
    ['a shard past the plan', { ...job, shard: 3 }, /shard 3 of 3 in a sample of 70 networks/],
    ['more shards than blocks', { ...job, shards: 4 }, /shard 1 of 4 in a sample of 70 networks/],
    ['a checkpoint that is not a hash', { ...job, checkpoint: '../hypernet.ckpt' }, /field 'checkpoint'/],
    ['a fractional seed', { ...job, seed: 0.5 }, /field 'seed'/],
    ['a negative first', { ...job, first: -32 }, /field 'first'/],
    ['an array', [job], /must be a JSON object/],
  ];
  for (const [what, data, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      expect(sampleRefusal(data)).toMatch(message);
    });
  }

  /** Networks first..first+count-1 as samples.safetensors names them, with values that say where they are. */
  function networks(first: number, count: number): Record<string, SafeTensor> {
    const out: Record<string, SafeTensor> = {};
    for (let g = first; g < first + count; g++) {
      for (const [k, [name, shape]] of sampleLayout().entries()) {
        const n = shape.reduce((p, d) => p * d, 1);
        out[`net${g}.${name}`] = {
          dtype: 'F32',
          shape,
          data: Float32Array.from({ length: n }, (_, i) => g + k / 8 + i / n),
        };
      }
    }
    return out;
  }

  it('the layout is the PyTorch names and shapes of the MNIST target', () => {
    expect(sampleLayout()).toEqual([
      ['conv1.weight', [32, 1, 5, 5]],
      ['conv1.bias', [32]],
      ['conv2.weight', [16, 32, 5, 5]],
      ['conv2.bias', [16]],
      ['fc1.weight', [8, 784]],
      ['fc1.bias', [8]],
      ['fc2.weight', [10, 8]],
      ['fc2.bias', [10]],
    ]);
  });

  it('a shard file round-trips in order; one of another job, other networks or a NaN is refused, naming it', () => {
    const run = join(dir, 'sample-a');
    const small = planHypernetSampleShards(samplePlan, 3)[2]!; // networks 64..69
    expect(readSampleShard(run, small)).toBeNull();
    const tensors = networks(64, 6);
    const path = writeSampleShard(run, small, tensors);
    expect(path).toBe(join(run, sampleShardFileName(small)));
    expect(sampleShardFileName(small)).toBe('sample-shards/networks-0000064-0000069.safetensors');
    const back = readSampleShard(run, small)!;
    expect(Object.keys(back)).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) expect(back[name]!.data).toEqual(t.data);
    expect(() => readSampleShard(run, { ...small, checkpoint: 'cd'.repeat(32) })).toThrow(
      /networks-0000064-0000069\.safetensors was made for another job/,
    );
    expect(() => writeSampleShard(run, small, networks(63, 6))).toThrow(/tensor 0 should be net64\.conv1\.weight/);
    expect(() => writeSampleShard(run, small, networks(64, 5))).toThrow(
      /should be net69\.conv1\.weight .*found nothing/,
    );
    expect(() => writeSampleShard(run, small, networks(64, 7))).toThrow(
      /56 tensors, expected 48 \(networks 64\.\.69\)/,
    );
    const swapped = networks(64, 6);
    const [a, b] = [swapped['net64.conv1.weight']!, swapped['net64.conv1.bias']!];
    delete swapped['net64.conv1.weight'];
    delete swapped['net64.conv1.bias'];
    const reordered = { 'net64.conv1.bias': b, 'net64.conv1.weight': a, ...swapped };
    expect(() => writeSampleShard(run, small, reordered)).toThrow(/tensor 0 should be net64\.conv1\.weight/);
    const nan = networks(64, 6);
    (nan['net66.fc1.bias']!.data as Float32Array)[3] = Number.NaN;
    writeSampleShard(join(dir, 'sample-b'), small, nan);
    expect(() => readSampleShard(join(dir, 'sample-b'), small)).toThrow(/net66\.fc1\.bias/);
  });
});
