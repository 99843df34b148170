// `--status` of a sharded job (`weightgen zoo --status`, `weightgen hypernet eval|sample --status`): the run
// folder's jobs of one kind in the queue, grouped by plan, with their shards per state, the networks done and
// per second, and the running and failed shards. Needs only the queue, not the shared volume. Not here: the
// queue's other machinery (queue.ts).

import type { Queue } from 'bullmq';
import type { ShardKind } from './queue.js';

const STATES = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'] as const;

interface PlanJobs {
  line: string;
  total: number;
  shards: number;
  count: Record<(typeof STATES)[number], number>;
  networks: number; // in completed shards
  span: [number, number]; // first start, last finish of completed shards (ms)
  notes: string[]; // running and failed shards
}

/**
 * The run folder's jobs of one kind in the queue, by plan: shards per state, networks done and per second,
 * failures.
 */
export async function queueStatus<J extends { shards: number }>(
  queue: Queue,
  run: string,
  kind: ShardKind<J>,
): Promise<string> {
  const plans = new Map<string, PlanJobs>();
  for (const state of STATES) {
    for (const j of await queue.getJobs([state], 0, -1)) {
      if (!j || j.name !== kind.name) continue;
      let job: J;
      try {
        job = kind.validate(j.data);
      } catch {
        continue; // a refused job belongs to no run
      }
      if (kind.run(job) !== run) continue;
      const { key, line, total } = kind.plan(job);
      const zero = { active: 0, waiting: 0, prioritized: 0, delayed: 0, completed: 0, failed: 0 };
      const p = plans.get(key) ?? {
        line,
        total,
        shards: job.shards,
        count: zero,
        networks: 0,
        span: [Number.POSITIVE_INFINITY, 0],
        notes: [],
      };
      plans.set(key, p);
      p.count[state]++;
      if (state === 'completed') {
        p.networks += kind.networks(job);
        p.span = [Math.min(p.span[0], j.processedOn ?? Infinity), Math.max(p.span[1], j.finishedOn ?? 0)];
      }
      if (state === 'active')
        p.notes.push(`  running: ${kind.describe(job)}, ${JSON.stringify(j.progress)}% (${j.processedBy ?? '?'})`);
      if (state === 'failed') p.notes.push(`  failed: ${kind.describe(job)}: ${j.failedReason}`);
    }
  }
  if (!plans.size) return `no ${kind.name} jobs for run folder ${run} in the queue`;
  const lines: string[] = [];
  for (const { line, total, shards, count: n, networks, span, notes } of plans.values()) {
    const secs = (span[1] - span[0]) / 1000;
    const rate = secs > 0 ? `, ${(networks / secs).toFixed(1)} networks/s` : '';
    lines.push(
      `run ${run}: ${line} in ${shards} shards: ${n.completed} done, ${n.active} running, ` +
        `${n.waiting + n.prioritized + n.delayed} waiting, ${n.failed} failed; ${networks} of ${total} networks ` +
        `${kind.verb}${rate}`,
      ...notes,
    );
  }
  return lines.join('\n');
}
