// A static file server for dist/demos on localhost: no backend, nothing but files. `npm run demos` builds the
// demos and runs this; the tests start it in-process with serve().
//
//   node demos/serve.mjs [--port N]   (default 8080, or the next free port when that one is taken)
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMOS_OUT } from './build.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

/** Starts the server on `port` (0: any free port); resolves to its URL and a close function. */
export function serve(dir = DEMOS_OUT, port = 0, host = '127.0.0.1') {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir} has no index.html: build the demos first (node demos/build.mjs, or npm run demos)`);
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (file !== dir && !file.startsWith(dir + sep)) {
      res.writeHead(403).end('outside the demos folder');
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // browsers ask for it; the demos have none
      return;
    }
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({ url: `http://${host}:${p}/`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const wanted = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
    console.error(`--port ${process.argv[i + 1]}: expected a port number (0-65535)`);
    process.exit(2);
  }
  let s;
  try {
    s = await serve(DEMOS_OUT, wanted);
  } catch (e) {
    if (e.code !== 'EADDRINUSE') throw e;
    s = await serve(DEMOS_OUT, 0);
    console.log(`port ${wanted} is taken; using another`);
  }
  console.log(`weightgen demos at ${s.url} (open in Chrome 113+ or another browser with WebGPU; Ctrl-C stops)`);
}
