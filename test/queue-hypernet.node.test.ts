// A hypernetwork eval sharded over workers through the job queue, end to end with the built CLI (dist/cli.js)
// as separate processes: this test starts its own Redis (Debian's redis-server, with a password, on a free
// loopback port, in a temporary folder), two `weightgen worker`s and a `weightgen hypernet eval --shards`
// producer; kills one worker with SIGKILL mid-shard; and checks that the merged eval.json, accuracy.svg and
// accuracy.png are byte for byte those `weightgen hypernet eval` writes in one process, with every shard done
// exactly once. Hostile and malformed eval jobs put straight on the queue are refused with a message while
// both workers keep running. A sample of the same run sharded over the same two workers: samples.safetensors
// byte for byte that of `weightgen hypernet sample` in one process (the kill is the eval's: the same queue
// code retries either kind of job). The run is a freshly initialised hypernetwork saved through the normal
// checkpoint path as a finished `ci` run (the test is about the sharding, not accuracy). Before that, in this
// process: the noise a range of networks gets is the GPU generator's, and the streamed tally of eval's
// numbers equals the whole-array functions. It stops Redis and every process it started, whatever happens.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeneratedEvalTally } from '../src/analysis/generated-eval.js';
import { CKPT, type HypernetOptions, networkNoise, settingsOf } from '../src/cli/hypernet.js';
import { fileCheckpointer } from '../src/io/checkpoint.js';
import { readSafetensors } from '../src/io/files.js';
import { fileSha256 } from '../src/io/hypernet-shards.js';
import { RunManifest } from '../src/io/manifest.js';
import {
  type HypernetSampleShardJob,
  hypernetSampleJobId,
  planHypernetSampleShards,
} from '../src/io/hypernet-sample-jobs.js';
import { type HypernetEvalShardJob, hypernetEvalJobId, planHypernetEvalShards } from '../src/io/queue-jobs.js';
import { Hypernet, MNIST_HYPERNET } from '../src/models/hypernet.js';
import { accuracies, ensembleAccuracy, HYPERNET_PRESETS, mean, recalibrate } from '../src/models/hypernet-train.js';
import { MNIST_TARGET } from '../src/models/target-net.js';
import { Rng } from '../src/tensor/index.js';
import { VERSION } from '../src/version.js';
import { cpuRng, setupGpu } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, `dist/queue-hypernet-test-${process.pid}.js`); // a private copy of the built CLI
const work = mkdtempSync(join(tmpdir(), 'weightgen-queue-hypernet-'));
const password = `pw-${process.pid}-${Date.now()}`;
const STALLED = 8; // seconds before a dead worker's shard goes to the other
const SEED = 5;
const NETWORKS = 100; // blocks of 32: shards of 32, 32, 32 and 4 networks
const IMAGES = 20;
const ENSEMBLE = 6; // ensemble 5 (networks 30..35) spans two shards
const EVAL_FLAGS = ['--preset', 'ci', '--seed', `${SEED}`, '--networks', `${NETWORKS}`, '--images', `${IMAGES}`];
const SAMPLES = 70; // blocks of 32: shards of 32, 32 and 6 networks
const SAMPLE_FLAGS = ['--preset', 'ci', '--seed', `${SEED}`, '--samples', `${SAMPLES}`];

interface Proc {
  name: string;
  child: ChildProcess;
  out: string;
  exit: Promise<number | null>;
}
const procs: Proc[] = [];
let port = 0;
let url = '';
let queue: Queue;

function start(name: string, command: string, args: string[]): Proc {
  const child = spawn(command, args, { cwd: work, env: { ...process.env, WEIGHTGEN_POLL: 'patient' } });
  const p: Proc = { name, child, out: '', exit: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.on('data', (d) => (p.out += d));
  child.stderr!.on('data', (d) => (p.out += d));
  procs.push(p);
  return p;
}
const weightgen = (name: string, ...args: string[]) => start(name, process.execPath, [cli, ...args]);

async function waitFor(ps: Proc[], re: RegExp, seconds: number): Promise<[Proc, RegExpMatchArray]> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    for (const p of ps) {
      const m = p.out.match(re);
      if (m) return [p, m];
    }
    if (Date.now() > until || ps.every((p) => p.child.exitCode !== null)) {
      throw new Error(`no ${re} within ${seconds} s; output:\n${ps.map((p) => `--- ${p.name}\n${p.out}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function stopAll(): Promise<void> {
  const running = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;
  for (const p of procs) if (running(p) && p.name !== 'redis') p.child.kill('SIGKILL');
  for (const redis of procs.filter((p) => p.name === 'redis' && running(p))) {
    redis.child.kill('SIGTERM');
    const timer = setTimeout(() => redis.child.kill('SIGKILL'), 5000);
    await redis.exit;
    clearTimeout(timer);
  }
  await Promise.all(procs.map((p) => p.exit));
}
process.on('exit', () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

/** The options `hypernet eval` gets from EVAL_FLAGS, for the manifest's record of the checkpoint. */
const options = (run: string): HypernetOptions => ({
  run,
  preset: 'ci',
  seed: SEED,
  faithful: false,
  samples: 10,
  evalNetworks: NETWORKS,
  evalImages: IMAGES,
  ensemble: ENSEMBLE,
});

/**
 * A freshly initialised hypernetwork (batch norm calibrated, as training leaves it) saved as the finished
 * checkpoint of a `ci` run, recorded in the manifest as `hypernet train --preset ci` records it.
 */
async function fakeTrainedRun(run: string): Promise<void> {
  mkdirSync(run, { recursive: true });
  const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(SEED));
  recalibrate(net);
  const p = HYPERNET_PRESETS.ci;
  fileCheckpointer(join(run, CKPT), 1).save({
    epoch: p.steps / p.evalEvery,
    losses: [0],
    rngPosition: 0,
    model: await net.stateDict(),
    optim: { t: 0, lr: p.lr, m: new Float32Array(1), v: new Float32Array(1) },
    extra: {},
  });
  net.dispose();
  RunManifest.open(run).record(CKPT, settingsOf(options(run)).train);
}

beforeAll(async () => {
  await setupGpu();
  for (let attempt = 1; ; attempt++) {
    const b = spawnSync(process.execPath, [join(root, 'esbuild.config.mjs')], { cwd: root, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    copyFileSync(join(root, 'dist/cli.js'), cli);
    const help = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
    if (help.status === 0 && help.stdout.includes('  worker ')) break;
    expect(attempt, `the built CLI does not run: ${help.stderr}`).toBeLessThan(3);
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error("redis-server is not installed: `npm run setup` installs Debian's redis-server");
  }
  port = await freePort();
  url = `redis://:${password}@127.0.0.1:${port}`;
  const data = join(work, 'redis');
  mkdirSync(data);
  const redis = start('redis', 'redis-server', [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', data, '--requirepass', password],
    ...['--save', '', '--appendonly', 'no', '--daemonize', 'no'],
  ]);
  await waitFor([redis], /Ready to accept connections/, 20);
  const { Queue } = await import('bullmq');
  queue = new Queue('weightgen', { connection: { host: '127.0.0.1', port, password, maxRetriesPerRequest: null } });
  await queue.waitUntilReady();
  await fakeTrainedRun(join(work, 'runs/single'));
  cpSync(join(work, 'runs/single'), join(work, 'runs/sharded'), { recursive: true });
  // the samples in folders of their own: a folder's eval refuses a sample of other settings than its own
  for (const run of ['sample-single', 'sample-sharded']) {
    cpSync(join(work, 'runs/single'), join(work, 'runs', run), { recursive: true });
  }
}, 180_000);

afterAll(async () => {
  await queue?.close().catch(() => {});
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  rmSync(cli, { force: true });
}, 60_000);

describe('what both paths share', () => {
  it("a range of networks gets the rows of the GPU generator's one draw, wherever the range starts", async () => {
    const seed = 11;
    const all = new Rng(seed * 16 + 3).uniform([70, MNIST_HYPERNET.noise], -1, 1);
    const want = await all.data();
    all.dispose();
    for (const [first, count] of [
      [0, 70],
      [0, 1],
      [32, 32],
      [65, 5],
    ] as const) {
      const z = networkNoise(seed, 2, first, count);
      const got = await z.data();
      z.dispose();
      const w = MNIST_HYPERNET.noise;
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.slice(first * w, (first + count) * w).buffer))).toBe(true);
    }
  });

  it('the tally of blocks equals accuracies and ensembleAccuracy over the whole array, ties included', () => {
    const r = cpuRng(3);
    const [G, N, K] = [23, 30, 4];
    // coarse probabilities: many exact ties between classes and between members
    const probs = Float32Array.from({ length: G * N * K }, () => Math.round(r.next() * 4) / 4);
    const labels = Int32Array.from({ length: N }, () => r.int(0, K));
    for (const [size, blocks] of [
      [5, [23]],
      [5, [7, 9, 7]],
      [4, [1, 1, 21]],
      [30, [10, 13]],
    ] as const) {
      const t = new GeneratedEvalTally(labels, K, G, size);
      let at = 0;
      for (const b of blocks) {
        t.add(at, probs.slice(at * N * K, (at + b) * N * K));
        at += b;
      }
      const got = t.result();
      const acc = accuracies(probs, labels, G);
      expect(got.accuracy.all).toEqual([...acc]);
      expect(got.accuracy.mean).toBe(mean(acc));
      expect(got.accuracy.std).toBe(Math.sqrt(mean(acc.map((a) => (a - mean(acc)) ** 2))));
      expect([got.accuracy.min, got.accuracy.max]).toEqual([Math.min(...acc), Math.max(...acc)]);
      const s = Math.min(size, G);
      expect([got.ensembles.size, got.ensembles.count]).toEqual([s, Math.floor(G / s)]);
      for (const rule of ['vote', 'mean', 'confident'] as const) {
        const want = Array.from({ length: Math.floor(G / s) }, (_, e) =>
          ensembleAccuracy(
            probs,
            labels,
            G,
            Array.from({ length: s }, (_, i) => e * s + i),
            rule,
          ),
        );
        expect(got.ensembles[rule], `${rule}, ensembles of ${size}`).toEqual(want);
      }
    }
    const t = new GeneratedEvalTally(labels, K, G, 5);
    expect(() => t.add(1, probs.slice(0, N * K))).toThrow(/add whole networks, in order/);
  });
});

describe('a hypernetwork eval sharded over two workers through Redis', () => {
  let workers: Proc[] = [];

  it('usage errors come before any GPU or queue is touched', async () => {
    const sharded = ['--run', 'runs/sharded', '--root', work];
    const cases: [string[], RegExp][] = [
      [['--shards', '2', ...sharded], /--shards needs --queue URL \(redis:\/\/host:port\), or --merge/],
      [['--status', '--run', 'runs/sharded'], /--status needs --queue URL/],
      [['--merge', ...sharded], /--queue, --root, --merge and --detach go with --shards N/],
      [['--shards', '2', '--queue', url, '--run', '../x'], /--run \.\.\/x: the part "\.\." is not a plain folder/],
      [['--shards', '2', '--queue', url, '--data', '/tmp', ...sharded], /--data: a sharded eval reads MNIST/],
      [['--shards', '5', '--queue', url, ...sharded], /5 shards of 100 networks in blocks of 32: expected 1\.\.4/],
      [
        ['sample', '--shards', '4', '--queue', url, ...sharded],
        /4 shards of 70 networks in blocks of 32: expected 1\.\.3/,
      ],
      [['sample', '--shards', '2', '--data', '/tmp', ...sharded], /hypernet sample: --data: a sharded sample takes/],
      [['sample', '--status', '--run', 'runs/sharded'], /hypernet sample: --status needs --queue URL/],
    ];
    for (const [args, message] of cases) {
      const step =
        args[0] === 'sample' ? ['sample', ...SAMPLE_FLAGS, ...args.slice(1)] : ['eval', ...EVAL_FLAGS, ...args];
      const p = weightgen(args.join(' '), 'hypernet', ...step);
      expect(await p.exit, p.out).toBe(2);
      expect(p.out).toMatch(message);
      expect(p.out).not.toMatch(/adapter:|pw-/); // no GPU started, no password printed
    }
    expect(readdirSync(join(work, 'runs/sharded')).sort()).toEqual(['hypernet.ckpt.safetensors', 'manifest.json']);
  }, 120_000);

  it('hostile and malformed eval jobs are refused with a message, and the workers keep running', async () => {
    const args = ['worker', '--queue', url, '--root', work, '--stalled-seconds', String(STALLED)];
    workers = [weightgen('worker A', ...args), weightgen('worker B', ...args)];
    for (const w of workers) {
      await waitFor([w], /takes zoo-shard jobs, hypernet-eval-shard jobs and hypernet-sample-shard jobs/, 240);
    }
    const good = planHypernetEvalShards(
      {
        version: VERSION,
        run: 'runs/sharded',
        preset: 'ci',
        lambda: HYPERNET_PRESETS.ci.lambda,
        steps: HYPERNET_PRESETS.ci.steps,
        faithful: false,
        seed: SEED,
        checkpoint: fileSha256(join(work, 'runs/sharded', CKPT)),
        networks: NETWORKS,
        images: IMAGES,
        block: 32,
      },
      4,
    )[0]!;
    const kind = 'hypernet-eval-shard';
    const sample = 'hypernet-sample-shard';
    const { images: _images, ...plan } = { ...good, networks: SAMPLES };
    const goodSample = planHypernetSampleShards(plan, 3)[0]!;
    const hostile: [string, string, unknown, RegExp][] = [
      ['climb', kind, { ...good, run: '../../etc' }, /field 'run': "\.\.\/\.\.\/etc" is not allowed/],
      ['extra', kind, { ...good, module: '/tmp/evil.js' }, /unknown field 'module'/],
      ['count', kind, { ...good, count: 1e9 }, /field 'count': 1000000000 is not allowed/],
      ['kind', 'hypernet-eval', good, /unknown job kind "hypernet-eval" \(this worker runs: zoo-shard, hyper/],
      ['zoo-kind', 'zoo-shard', good, /unknown field 'preset'/],
      ['version', kind, { ...good, version: '0.0.0-other' }, /made by weightgen 0\.0\.0-other/],
      ['retrained', kind, { ...good, checkpoint: 'ab'.repeat(32) }, /is not the checkpoint the job was made for/],
      ['settings', kind, { ...good, lambda: 7 }, /was not trained with the job's settings: lambda: 1000 in the file/],
      ['s-climb', sample, { ...goodSample, run: '../../etc' }, /field 'run': "\.\.\/\.\.\/etc" is not allowed/],
      ['s-path', sample, { ...goodSample, out: '/tmp/evil.safetensors' }, /unknown field 'out'/],
      ['s-eval-data', sample, good, /unknown field 'images'/],
      ['s-count', sample, { ...goodSample, count: 5000 }, /field 'count': 5000 is not allowed/],
      ['s-retrained', sample, { ...goodSample, checkpoint: 'cd'.repeat(32) }, /is not the checkpoint the job was made/],
      ['s-version', sample, { ...goodSample, version: '0.0.0-other' }, /made by weightgen 0\.0\.0-other/],
    ];
    for (const [id, name, data] of hostile) await queue.add(name, data, { jobId: `hostile-${id}`, attempts: 3 });
    for (const [id, , , message] of hostile) {
      for (let t = 0; (await queue.getJobState(`hostile-${id}`)) !== 'failed'; t++) {
        expect(t, `job hostile-${id} not refused within 60 s`).toBeLessThan(600);
        await new Promise((r) => setTimeout(r, 100));
      }
      const j = (await queue.getJob(`hostile-${id}`))!;
      expect(j.failedReason).toMatch(/^refused: /);
      expect(j.failedReason).toMatch(message);
      expect(j.attemptsMade, `hostile-${id} retried`).toBe(1);
    }
    for (const w of workers) expect(w.child.exitCode, `${w.name} exited:\n${w.out}`).toBeNull();
    expect(existsSync(join(work, 'runs/sharded/eval-shards'))).toBe(false); // nothing evaluated or written
    expect(existsSync(join(work, 'runs/sharded/sample-shards'))).toBe(false);
    for (const [id] of hostile) await queue.remove(`hostile-${id}`);
  }, 400_000);

  it('a sample over both workers: samples.safetensors equals the single-process sample byte for byte', async () => {
    const t0 = Date.now();
    const single = weightgen(
      'single sample',
      'hypernet',
      'sample',
      ...SAMPLE_FLAGS,
      '--run',
      join(work, 'runs/sample-single'),
    );
    expect(await single.exit, single.out).toBe(0);
    const singleSeconds = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    const flags = [...SAMPLE_FLAGS, '--run', 'runs/sample-sharded', '--root', work];
    const producer = weightgen('sample producer', 'hypernet', 'sample', '--shards', '3', '--queue', url, ...flags);
    expect(await producer.exit, producer.out).toBe(0);
    console.log(
      `sample of ${SAMPLES} networks: one process ${singleSeconds.toFixed(1)} s; 3 shards over 2 workers ` +
        `${((Date.now() - t1) / 1000).toFixed(1)} s`,
    );
    expect(producer.out).toMatch(/3 shards: 3 enqueued/);
    expect(producer.out).toMatch(/merging 3 shards of 70 sampled networks/);
    expect(producer.out).not.toMatch(/adapter:/); // the producer needs no GPU
    const file = (run: string) => readFileSync(join(work, run, 'samples.safetensors'));
    expect(file('runs/sample-sharded').equals(file('runs/sample-single')), 'samples.safetensors differs').toBe(true);
    const f = readSafetensors(join(work, 'runs/sample-sharded/samples.safetensors'));
    expect(Object.keys(f.tensors)).toHaveLength(SAMPLES * 8);
    expect(Object.keys(f.tensors).at(-1)).toBe(`net${SAMPLES - 1}.fc2.bias`);
    const manifest = (run: string) => JSON.parse(readFileSync(join(work, run, 'manifest.json'), 'utf8'));
    expect(manifest('runs/sample-sharded').files['samples.safetensors'].settings).toEqual(
      manifest('runs/sample-single').files['samples.safetensors'].settings,
    );

    // each planned shard completed once, by whichever worker; nothing failed or left
    const done = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j?.name === 'hypernet-sample-shard');
    const planned = planHypernetSampleShards({ ...(done[0]!.data as HypernetSampleShardJob), networks: SAMPLES }, 3);
    expect(done.map((j) => j.id).sort()).toEqual(planned.map(hypernetSampleJobId).sort());
    expect(done.map((j) => [j.data.first, j.data.count]).sort((x, y) => x[0] - y[0])).toEqual([
      [0, 32],
      [32, 32],
      [64, 6],
    ]);
    for (const state of ['failed', 'active', 'waiting', 'delayed'] as const) {
      const left = (await queue.getJobs([state], 0, -1)).filter((j) => j?.name === 'hypernet-sample-shard');
      expect(left, state).toEqual([]);
    }

    const status = weightgen(
      'sample status',
      'hypernet',
      'sample',
      '--status',
      '--queue',
      url,
      '--run',
      'runs/sample-sharded',
    );
    expect(await status.exit, status.out).toBe(0);
    expect(status.out).toMatch(
      /run runs\/sample-sharded: sample of 70 networks .* in 3 shards: 3 done, 0 running, 0 waiting, 0 failed; 70 of 70 networks sampled/,
    );
    // again: nothing to do; --merge alone makes the same bytes from the shard files
    const again = weightgen('sample again', 'hypernet', 'sample', '--shards', '3', '--queue', url, ...flags);
    expect(await again.exit, again.out).toBe(0);
    expect(again.out).toMatch(/nothing to do/);
    rmSync(join(work, 'runs/sample-sharded/samples.safetensors'));
    const merge = weightgen('sample merge', 'hypernet', 'sample', '--shards', '3', '--merge', ...flags);
    expect(await merge.exit, merge.out).toBe(0);
    expect(file('runs/sample-sharded').equals(file('runs/sample-single'))).toBe(true);
  }, 300_000);

  it('one worker killed mid-shard: the merged eval equals the single-process eval byte for byte', async () => {
    const t0 = Date.now();
    const single = weightgen(
      'single',
      'hypernet',
      'eval',
      ...EVAL_FLAGS,
      '--ensemble',
      `${ENSEMBLE}`,
      '--run',
      join(work, 'runs/single'),
    );
    expect(await single.exit, single.out).toBe(0);
    const singleSeconds = (Date.now() - t0) / 1000;

    const t1 = Date.now();
    const flags = [...EVAL_FLAGS, '--ensemble', `${ENSEMBLE}`, '--run', 'runs/sharded', '--root', work];
    const producer = weightgen('producer', 'hypernet', 'eval', '--shards', '4', '--queue', url, ...flags);
    const [victim, started] = await waitFor(workers, /job (hypernet-eval-shard-\w+): shard \d\/4 .*: evaluating/, 120);
    victim.child.kill('SIGKILL');
    expect(await victim.exit).toBeNull();
    const killedJob = started[1]!;
    expect(await producer.exit, producer.out).toBe(0);
    const shardedSeconds = (Date.now() - t1) / 1000;
    console.log(
      `eval of ${NETWORKS} networks x ${IMAGES} images: one process ${singleSeconds.toFixed(1)} s; ` +
        `4 shards over 2 workers, one killed, ${shardedSeconds.toFixed(1)} s`,
    );
    expect(producer.out).toMatch(/merging 4 shards of 100 networks on 20 test images/);
    expect(producer.out).not.toMatch(/adapter:/); // the producer needs no GPU

    for (const f of ['eval.json', 'accuracy.svg', 'accuracy.png']) {
      const a = readFileSync(join(work, 'runs/single', f));
      const b = readFileSync(join(work, 'runs/sharded', f));
      expect(b.equals(a), `${f} of the sharded eval differs from the single-process one`).toBe(true);
    }
    const result = JSON.parse(readFileSync(join(work, 'runs/sharded/eval.json'), 'utf8'));
    expect(result.accuracy.all).toHaveLength(NETWORKS);
    expect(result.ensembles.count).toBe(Math.floor(NETWORKS / ENSEMBLE));
    const manifest = (run: string) => JSON.parse(readFileSync(join(work, run, 'manifest.json'), 'utf8'));
    expect(manifest('runs/sharded').files['eval.json'].settings).toEqual(
      manifest('runs/single').files['eval.json'].settings,
    );

    // every planned shard done exactly once, none lost, failed or left in the queue
    const jobs: Record<string, { id: string; job: HypernetEvalShardJob; raw: Awaited<ReturnType<Queue['getJob']>> }[]> =
      {};
    for (const state of ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'] as const) {
      jobs[state] = (await queue.getJobs([state], 0, -1))
        .filter((j) => j && j.name === 'hypernet-eval-shard' && j.data?.run === 'runs/sharded')
        .map((j) => ({ id: j.id!, job: j.data as HypernetEvalShardJob, raw: j }));
    }
    const planned = planHypernetEvalShards(
      { ...jobs.completed![0]!.job, networks: NETWORKS },
      4,
    ) as HypernetEvalShardJob[];
    expect(jobs.completed!.map((j) => j.id).sort()).toEqual(planned.map(hypernetEvalJobId).sort());
    for (const s of ['failed', 'active', 'waiting', 'delayed', 'prioritized']) expect(jobs[s], s).toEqual([]);
    expect(jobs.completed!.map((j) => [j.job.first, j.job.count]).sort((x, y) => x[0]! - y[0]!)).toEqual([
      [0, 32],
      [32, 32],
      [64, 32],
      [96, 4],
    ]);
    const killed = jobs.completed!.find((j) => j.id === killedJob)!;
    const survivor = workers.find((w) => w !== victim)!;
    expect(killed.raw!.processedBy).toBe(`${hostname()}:${survivor.child.pid}`);
    expect(killed.raw!.stalledCounter + killed.raw!.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(work, 'runs/sharded/eval-shards')).sort()).toEqual(
      [
        [0, 31],
        [32, 63],
        [64, 95],
        [96, 99],
      ].map(([a, b]) => `networks-${String(a).padStart(7, '0')}-${String(b).padStart(7, '0')}.safetensors`),
    );

    const status = weightgen('status', 'hypernet', 'eval', '--status', '--queue', url, '--run', 'runs/sharded');
    expect(await status.exit, status.out).toBe(0);
    expect(status.out).toMatch(
      /eval of 100 networks x 20 images .* in 4 shards: 4 done, 0 running, 0 waiting, 0 failed; 100 of 100 networks evaluated, [\d.]+ networks\/s/,
    );

    // --merge alone makes the same bytes from the shard files
    rmSync(join(work, 'runs/sharded/eval.json'));
    const merge = weightgen('merge', 'hypernet', 'eval', '--shards', '4', '--merge', ...flags);
    expect(await merge.exit, merge.out).toBe(0);
    expect(
      readFileSync(join(work, 'runs/sharded/eval.json')).equals(readFileSync(join(work, 'runs/single/eval.json'))),
    ).toBe(true);

    survivor.child.kill('SIGTERM');
    expect(await survivor.exit, survivor.out).toBe(0);
    expect(survivor.out).toMatch(/worker stopped/);
  }, 600_000);
});
