/** Serves `dir` (dist/demos by default) on `port` (0: any free port) of `host` (127.0.0.1). */
export function serve(dir?: string, port?: number, host?: string): Promise<{ url: string; close: () => Promise<void> }>;
