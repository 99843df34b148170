// Where the job queue is: a Redis URL (`--queue redis://[user:password@]host:port[/db]`, or `rediss://`
// for TLS) read into the connection options BullMQ hands to its Redis client (ioredis), and the URL as it
// may be printed (without its password). Not here: the queue itself (cli/queue.ts).
//
// TLS: `rediss://` connects with TLS and checks the server's certificate against Node's CA store; a
// private CA is added with Node's own NODE_EXTRA_CA_CERTS=ca.pem. Keep Redis off public networks either way
// (docs/many-machines.md): whoever can write to it can enqueue jobs.

import { createRequire } from 'node:module';

/** The BullMQ queue every producer and worker of weightgen uses. */
export const QUEUE_NAME = 'weightgen';

export interface QueueConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: { servername?: string };
  /** BullMQ's workers need ioredis to retry commands forever (they wait on blocking commands). */
  maxRetriesPerRequest: null;
}

const FORM = 'redis://[user:password@]host:port[/db] (or rediss:// for TLS)';

/** The connection options of a queue URL; throws an Error naming the URL (without its password). */
export function parseQueueUrl(text: string): QueueConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--queue ${redactUrl(text)}: not a URL; expected ${FORM}`);
  }
  const fail = (why: string) => new Error(`--queue ${redactUrl(text)}: ${why}; expected ${FORM}`);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw fail(`the scheme ${url.protocol} is not Redis's`);
  if (!url.hostname) throw fail('no host');
  if (url.search || url.hash) throw fail('a query or fragment is not understood');
  const port = url.port ? Number(url.port) : 6379;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,3}$/.test(path)) throw fail(`the database '${path}' is not a number`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // [::1] -> ::1
  const c: QueueConnection = { host, port, db: path === '' ? 0 : Number(path), maxRetriesPerRequest: null };
  if (url.username) c.username = decodeURIComponent(url.username);
  if (url.password) c.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') c.tls = /^[\d.:]+$/.test(host) ? {} : { servername: host };
  return c;
}

/** The URL with its password replaced by ***, for messages and logs. */
export function redactUrl(text: string): string {
  return text.replace(/^(\w+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/**
 * Throws a clear error when BullMQ's Redis client (the npm package ioredis, a dependency of weightgen)
 * cannot be loaded; BullMQ would otherwise fail later, from inside a connection.
 */
export function requireRedisClient(): void {
  try {
    createRequire(import.meta.url).resolve('ioredis');
  } catch {
    throw new Error(
      "the job queue needs the npm package 'ioredis' (BullMQ's Redis client), which is not installed: " +
        'run `npm ci` in the weightgen folder (it is in package.json)',
    );
  }
}
