// A zoo sharded over workers through the job queue, end to end with the built CLI (dist/cli.js) as separate
// processes: this test starts its own Redis (Debian's redis-server, with a password, on a free loopback
// port, in a temporary folder), two `weightgen worker`s and a `weightgen zoo --shards` producer; kills one
// worker with SIGKILL mid-shard; and checks that the merged zoo.safetensors is byte for byte the file
// `weightgen iris zoo` writes in one process, with every shard done exactly once. Before that, hostile and
// malformed jobs put straight on the queue are refused with a message while both workers keep running. It
// stops Redis and every process it started, whatever happens.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planZooShards, type ZooShardJob, zooJobId } from '../src/io/queue-jobs.js';
import { ZOO_TRAINING } from '../src/models/zoo.js';
import { VERSION } from '../src/version.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// a private copy of the built CLI: other tests may rebuild dist/cli.js while these processes start
const cli = join(root, `dist/queue-test-${process.pid}.js`);
const work = mkdtempSync(join(tmpdir(), 'weightgen-queue-'));
const password = `pw-${process.pid}-${Date.now()}`;
const MODELS = 24;
const EPOCHS = 100; // a shard takes seconds: long enough to be killed in the middle
const STALLED = 8; // seconds before a dead worker's shard goes to the other

interface Proc {
  name: string;
  child: ChildProcess;
  out: string; // stdout and stderr together
  exit: Promise<number | null>;
}
const procs: Proc[] = [];
let port = 0;
let url = '';

/** Starts a process, keeping its output and its exit code. */
function start(name: string, command: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(command, args, { cwd: work, env: { ...process.env, WEIGHTGEN_POLL: 'patient', ...env } });
  const p: Proc = { name, child, out: '', exit: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.on('data', (d) => (p.out += d));
  child.stderr!.on('data', (d) => (p.out += d));
  procs.push(p);
  return p;
}

const weightgen = (name: string, ...args: string[]) => start(name, process.execPath, [cli, ...args]);

/** Waits until one of `ps` has printed a line matching `re`; returns that process and the match. */
async function waitFor(ps: Proc[], re: RegExp, seconds: number): Promise<[Proc, RegExpMatchArray]> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    for (const p of ps) {
      const m = p.out.match(re);
      if (m) return [p, m];
    }
    const dead = ps.find((p) => p.child.exitCode !== null);
    if (Date.now() > until || (ps.length === 1 && dead)) {
      throw new Error(`no ${re} within ${seconds} s; output:\n${ps.map((p) => `--- ${p.name}\n${p.out}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port no one listens on now (the system's choice among free ones). */
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

/** Stops every process this file started: SIGKILL, then each Redis with SIGTERM (and SIGKILL if it lingers). */
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

let queue: Queue;

beforeAll(async () => {
  // build, and copy the CLI once it runs (another test's build may be writing dist/cli.js at the same time)
  for (let attempt = 1; ; attempt++) {
    const b = spawnSync(process.execPath, [join(root, 'esbuild.config.mjs')], { cwd: root, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    copyFileSync(join(root, 'dist/cli.js'), cli);
    const help = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
    if (help.status === 0 && help.stdout.includes('  worker ')) break;
    expect(attempt, `the built CLI does not run: ${help.stderr}`).toBeLessThan(3);
  }
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error) throw new Error("redis-server is not installed: `npm run setup` installs Debian's redis-server");
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
}, 180_000);

afterAll(async () => {
  await queue?.close().catch(() => {});
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  rmSync(cli, { force: true });
}, 60_000);

const plan = (run: string, models = MODELS) => ({
  version: VERSION,
  run,
  sets: ['real', 'scrambled', 'real2'],
  models,
  epochs: EPOCHS,
  batch: ZOO_TRAINING.batch,
  lr: ZOO_TRAINING.lr,
  seed: 0,
});

/** The jobs of run folder `run` in each state. */
async function jobsOf(run: string) {
  const out: Record<string, { job: ZooShardJob; id: string; raw: Awaited<ReturnType<Queue['getJob']>> }[]> = {};
  for (const state of ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'] as const) {
    out[state] = (await queue.getJobs([state], 0, -1))
      .filter((j) => j && j.data?.run === run)
      .map((j) => ({ job: j.data as ZooShardJob, id: j.id!, raw: j }));
  }
  return out;
}

describe('a zoo sharded over two workers through Redis', () => {
  let workers: Proc[] = [];

  it('a missing or wrong queue URL is a usage error before anything starts; a wrong password says so', async () => {
    const cases: [string[], number, RegExp][] = [
      [['worker'], 2, /worker needs --queue URL/],
      [['zoo', '--shards', '2'], 2, /zoo needs --queue URL \(redis:\/\/host:port\), or --merge/],
      [
        ['zoo', '--shards', '2', '--queue', 'http://u:secret@h'],
        2,
        /--queue http:\/\/u:\*\*\*@h: the scheme http: is not Redis's/,
      ],
      [['zoo', '--shards', '2', '--queue', url, '--run', '/etc'], 2, /--run \/etc: not a relative POSIX path/],
      [['zoo', '--shards', '2', '--queue', url, '--sets', 'real,evil'], 2, /--sets real,evil: expected distinct names/],
      [['zoo', '--shards', '600', '--queue', url], 2, /600 shards of a zoo of 500 models/],
      [
        ['zoo', '--shards', '2', '--queue', url, '--csv', '/etc/passwd', '--label', 'x'],
        2,
        /--csv \/etc\/passwd: CSV "(\.\.\/)+etc\/passwd": the part "\.\." is not a plain folder name/,
      ],
      [
        ['zoo', '--status', '--queue', `redis://:wrong@127.0.0.1:${port}`],
        1,
        /cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ within 10 s: WRONGPASS/,
      ],
    ];
    for (const [args, status, message] of cases) {
      const p = weightgen(args.join(' '), ...args);
      expect(await p.exit, p.out).toBe(status);
      expect(p.out).toMatch(message);
      expect(p.out).not.toMatch(/adapter:|secret/); // no GPU started, no password printed
    }
    expect(existsSync(join(work, 'runs'))).toBe(false);
  }, 120_000);

  it('hostile and malformed jobs are refused with a message, and the workers keep running', async () => {
    const args = ['worker', '--queue', url, '--root', work, '--stalled-seconds', String(STALLED)];
    workers = [weightgen('worker A', ...args), weightgen('worker B', ...args)];
    for (const w of workers) await waitFor([w], /takes zoo-shard jobs/, 180);
    mkdirSync(join(work, 'runs/hostile'), { recursive: true });
    const good = planZooShards(plan('runs/hostile', 4), 2)[0]!;
    const hostile: [string, string, unknown, RegExp][] = [
      ['climb', 'zoo-shard', { ...good, run: '../../etc' }, /field 'run': "\.\.\/\.\.\/etc" is not allowed/],
      [
        'code',
        'zoo-shard',
        { ...good, code: "require('child_process').execSync('touch pwned')" },
        /unknown field 'code'/,
      ],
      ['text', 'zoo-shard', 'rm -rf /', /data must be a JSON object/],
      [
        'kind',
        'eval',
        good,
        /unknown job kind "eval" \(this worker runs: zoo-shard, hypernet-eval-shard, hypernet-sample-shard\)/,
      ],
      [
        'version',
        'zoo-shard',
        { ...good, version: '0.0.0-other' },
        /made by weightgen 0\.0\.0-other, and this worker is/,
      ],
      ['count', 'zoo-shard', { ...good, count: 1e9 }, /field 'count': 1000000000 is not allowed/],
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
      expect(j.attemptsMade, `hostile-${id} retried`).toBe(1); // refused for good, never retried
    }
    for (const w of workers) expect(w.child.exitCode, `${w.name} exited:\n${w.out}`).toBeNull();
    const said = workers.map((w) => w.out).join('\n');
    expect(said).toMatch(/job hostile-climb \(zoo-shard\) failed \(not retried\): refused: field 'run'/);
    expect(existsSync(join(work, 'pwned')) || existsSync(join(root, 'pwned'))).toBe(false);
    expect(readdirSync(join(work, 'runs/hostile'))).toEqual([]); // nothing trained, nothing written
  }, 300_000);

  it("a CSV's zoo over the workers is `tabular zoo`'s byte for byte; a job of a changed CSV is refused", async () => {
    // 60 rows x 3 features x 3 classes: class c around (c, -c, 2c), spread by a fixed pattern
    const rows = ['f1,f2,f3,kind'];
    for (let i = 0; i < 60; i++) {
      const [c, e] = [i % 3, ((i * 37) % 11) / 11 - 0.5];
      rows.push(`${c + e},${-c + 0.5 * e},${2 * c - e},k${c}`);
    }
    mkdirSync(join(work, 'data'));
    writeFileSync(join(work, 'data/small.csv'), `${rows.join('\n')}\n`);
    const data = ['--csv', 'data/small.csv', '--label', 'kind', '--hidden', '4', '--split-seed', '7'];
    const size = ['--models', '6', '--zoo-epochs', '20'];
    const single = weightgen('tabular', 'tabular', 'zoo', '--run', 'runs/csv-single', ...size, ...data);
    expect(await single.exit, single.out).toBe(0);
    const flags = ['--queue', url, '--root', work, '--run', 'runs/csv-sharded', ...size, ...data];
    const producer = weightgen('csv producer', 'zoo', '--shards', '2', ...flags);
    expect(await producer.exit, producer.out).toBe(0);
    expect(producer.out).toMatch(/merged 2 shards into .*runs\/csv-sharded\/zoo\.safetensors/);
    const a = readFileSync(join(work, 'runs/csv-single/zoo.safetensors'));
    const b = readFileSync(join(work, 'runs/csv-sharded/zoo.safetensors'));
    expect(b.equals(a), "the merged zoo differs from `tabular zoo`'s").toBe(true);
    const manifest = (run: string) => JSON.parse(readFileSync(join(work, run, 'manifest.json'), 'utf8'));
    const record = manifest('runs/csv-single').files['zoo.safetensors'].settings;
    expect(record.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest('runs/csv-sharded').files['zoo.safetensors'].settings).toEqual(record);
    // `tabular` carries on from the merged folder: its zoo step finds every set there
    const again = weightgen('tabular again', 'tabular', 'zoo', '--run', 'runs/csv-sharded', ...size, ...data);
    expect(await again.exit, again.out).toBe(0);
    expect(again.out.match(/already in zoo\.safetensors, skipped/g)).toHaveLength(3);

    // a job made for other bytes of the CSV is refused, and nothing is written
    const done = (await jobsOf('runs/csv-sharded')).completed!.map((j) => j.job);
    expect(done.map((j) => j.data?.csv)).toEqual(['data/small.csv', 'data/small.csv']);
    mkdirSync(join(work, 'runs/csv-changed'));
    const changed = { ...done[0]!, run: 'runs/csv-changed', data: { ...done[0]!.data!, sha256: '0'.repeat(64) } };
    await queue.add('zoo-shard', changed, { jobId: 'csv-changed', attempts: 3 });
    for (let t = 0; (await queue.getJobState('csv-changed')) !== 'failed'; t++) {
      expect(t, 'the job of a changed CSV was not refused within 60 s').toBeLessThan(600);
      await new Promise((r) => setTimeout(r, 100));
    }
    const j = (await queue.getJob('csv-changed'))!;
    expect(j.failedReason).toMatch(
      /^refused: CSV data\/small\.csv has SHA-256 [0-9a-f]{16}\.\.\., not the job's 0{16}/,
    );
    expect(j.attemptsMade).toBe(1);
    for (const w of workers) expect(w.child.exitCode, `${w.name} exited:\n${w.out}`).toBeNull();
    expect(readdirSync(join(work, 'runs/csv-changed'))).toEqual([]);
  }, 180_000);

  it('one worker killed mid-shard: the merged zoo equals the single-process zoo byte for byte', async () => {
    const t0 = Date.now();
    const single = weightgen(
      'single',
      'iris',
      'zoo',
      '--run',
      'runs/single',
      '--models',
      `${MODELS}`,
      '--zoo-epochs',
      `${EPOCHS}`,
    );
    expect(await single.exit, single.out).toBe(0);
    const singleSeconds = (Date.now() - t0) / 1000;

    const t1 = Date.now();
    const flags = ['--run', 'runs/sharded', '--models', `${MODELS}`, '--zoo-epochs', `${EPOCHS}`, '--root', work];
    const producer = weightgen('producer', 'zoo', '--shards', '4', '--queue', url, ...flags);
    const [victim, started] = await waitFor(workers, /job (zoo-shard-\w+): shard \d\/4 .*: training/, 120);
    victim.child.kill('SIGKILL');
    expect(await victim.exit).toBeNull(); // killed by the signal
    const killedJob = started[1]!;
    expect(await producer.exit, producer.out).toBe(0);
    const shardedSeconds = (Date.now() - t1) / 1000;
    console.log(
      `zoo of ${MODELS} x 3 sets, ${EPOCHS} epochs: one process ${singleSeconds.toFixed(1)} s; ` +
        `4 shards over 2 workers, one killed, ${shardedSeconds.toFixed(1)} s`,
    );
    expect(producer.out).toMatch(/merged 4 shards into .*runs\/sharded\/zoo\.safetensors/);

    const a = readFileSync(join(work, 'runs/single/zoo.safetensors'));
    const b = readFileSync(join(work, 'runs/sharded/zoo.safetensors'));
    expect(b.length).toBe(a.length);
    expect(b.equals(a), 'the merged zoo differs from the single-process zoo').toBe(true);
    const manifest = (run: string) => JSON.parse(readFileSync(join(work, run, 'manifest.json'), 'utf8'));
    expect(manifest('runs/sharded').files['zoo.safetensors'].settings).toEqual(
      manifest('runs/single').files['zoo.safetensors'].settings,
    );

    // every planned shard done exactly once, none lost, failed or left in the queue
    const jobs = await jobsOf('runs/sharded');
    const ids = planZooShards(plan('runs/sharded'), 4).map(zooJobId);
    expect(jobs.completed!.map((j) => j.id).sort()).toEqual([...ids].sort());
    for (const s of ['failed', 'active', 'waiting', 'delayed', 'prioritized']) expect(jobs[s], s).toEqual([]);
    const ranges = jobs.completed!.map((j) => [j.job.first, j.job.count]).sort((x, y) => x[0]! - y[0]!);
    expect(ranges).toEqual([
      [0, 6],
      [6, 6],
      [12, 6],
      [18, 6],
    ]);
    // the killed worker's shard was taken over by the other worker after the stall check
    const killed = jobs.completed!.find((j) => j.id === killedJob)!;
    const survivor = workers.find((w) => w !== victim)!;
    expect(killed.raw!.processedBy).toBe(`${hostname()}:${survivor.child.pid}`);
    expect(killed.raw!.stalledCounter + killed.raw!.attemptsStarted).toBeGreaterThanOrEqual(2);
    const files = readdirSync(join(work, 'runs/sharded/zoo-shards')).filter((f) => f.endsWith('.safetensors'));
    expect(files).toEqual(
      [0, 6, 12, 18].map((f) => `models-${String(f).padStart(7, '0')}-${String(f + 5).padStart(7, '0')}.safetensors`),
    );

    // --status from any machine with the queue: 4 of 4 shards, every network counted once
    const status = weightgen('status', 'zoo', '--status', '--queue', url, '--run', 'runs/sharded');
    expect(await status.exit, status.out).toBe(0);
    expect(status.out).toMatch(/4 shards: 4 done, 0 running, 0 waiting, 0 failed; 72 of 72 networks trained/);

    // the same command again has nothing to do; --merge makes the same bytes from the shards alone
    const again = weightgen('again', 'zoo', '--shards', '4', '--queue', url, ...flags);
    expect(await again.exit, again.out).toBe(0);
    expect(again.out).toMatch(/already holds real, scrambled, real2 with these settings: nothing to do/);
    unlinkSync(join(work, 'runs/sharded/zoo.safetensors'));
    const merge = weightgen('merge', 'zoo', '--shards', '4', '--merge', ...flags);
    expect(await merge.exit, merge.out).toBe(0);
    expect(readFileSync(join(work, 'runs/sharded/zoo.safetensors')).equals(a)).toBe(true);

    // the survivor stops cleanly on SIGTERM
    survivor.child.kill('SIGTERM');
    expect(await survivor.exit, survivor.out).toBe(0);
    expect(survivor.out).toMatch(/worker stopped/);
  }, 600_000);
});

describe('a queue behind TLS (rediss://)', () => {
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  it.skipIf(openssl.error)(
    'the producer and --status connect with rediss:// and a password; an unknown CA is a clear error',
    async () => {
      const dir = join(work, 'tls');
      mkdirSync(dir);
      const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
      const made = spawnSync('openssl', [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ]);
      expect(made.status, String(made.stderr)).toBe(0);
      const tlsPort = await freePort();
      const redis = start('redis', 'redis-server', [
        ...['--port', '0', '--tls-port', String(tlsPort), '--bind', '127.0.0.1', '--dir', dir],
        ...['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'],
        ...['--requirepass', password, '--save', '', '--appendonly', 'no'],
      ]);
      await waitFor([redis], /Ready to accept connections/, 20);
      const tlsUrl = `rediss://:${password}@127.0.0.1:${tlsPort}`;
      const ca = { NODE_EXTRA_CA_CERTS: cert };
      const flags = ['--shards', '2', '--models', '4', '--zoo-epochs', '1', '--run', 'runs/tls', '--root', work];
      const producer = start(
        'tls producer',
        process.execPath,
        [cli, 'zoo', ...flags, '--queue', tlsUrl, '--detach'],
        ca,
      );
      expect(await producer.exit, producer.out).toBe(0);
      expect(producer.out).toMatch(/2 shards: 2 enqueued/);
      const status = start(
        'tls status',
        process.execPath,
        [cli, 'zoo', '--status', '--queue', tlsUrl, '--run', 'runs/tls'],
        ca,
      );
      expect(await status.exit, status.out).toBe(0);
      expect(status.out).toMatch(/in 2 shards: 0 done, 0 running, 2 waiting, 0 failed/);
      // without the CA, the certificate is not trusted: the error says so, and hides the password
      const untrusted = weightgen('untrusted', 'zoo', '--status', '--queue', tlsUrl, '--run', 'runs/tls');
      expect(await untrusted.exit).toBe(1);
      expect(untrusted.out).toMatch(
        /cannot reach the queue at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ within 10 s: self-signed certificate/,
      );
      expect(untrusted.out).not.toContain(password);
    },
    120_000,
  );
});
