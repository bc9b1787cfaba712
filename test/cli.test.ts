import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'ringtrace.js');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** The CLI as a newcomer uses it: first start creates an account and a key, keys create adds one. */
describe('ringtrace CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringtrace-cli-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RINGTRACE_DATA_DIR: dataDir,
    RINGTRACE_DEMO: 'false',
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on an empty embedded database, prints an admin key, serves the API, shuts down gracefully', async () => {
    const port = await freePort();
    server = spawn(process.execPath, [bin, 'start'], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    });
    let out = '';
    server.stdout?.on('data', (d) => {
      out += d;
    });
    await expect.poll(() => out, { timeout: 30_000, interval: 200 }).toContain('listening on');
    const key = readFileSync(join(dataDir, 'admin-api-key.txt'), 'utf8').trim();
    expect(out).toContain(key);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const account = await fetch(`http://127.0.0.1:${port}/api/v1/account`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(account.status).toBe(200);
    const { id } = (await account.json()) as { id: string };
    const spec = (await (await fetch(`http://127.0.0.1:${port}/api/docs/json`)).json()) as { paths: object };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/sites', '/api/v1/calls/{id}']));
    const exited = new Promise<number | null>((resolve) => server!.on('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);

    const { stdout } = await run(process.execPath, [bin, 'keys', 'create', '--account', id], { env });
    expect(stdout.trim()).toMatch(/^rt_[A-Za-z0-9_-]{32}$/);
    const migrate = await run(process.execPath, [bin, 'migrate'], { env });
    expect(migrate.stdout).toContain('up to date');
  }, 90_000);

  it('refuses keys create for an unknown account', async () => {
    const err = await run(process.execPath, [bin, 'keys', 'create', '--account', 'nope'], { env }).catch(
      (e) => e,
    );
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('no account nope');
  }, 60_000);
});
