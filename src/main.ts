import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bootstrapFirstAccount } from './accounts/bootstrap.js';
import { createApiKey } from './accounts/keys.js';
import { buildApp } from './app.js';
import { startCallSweeper } from './calls/sweeper.js';
import { systemClock } from './clock.js';
import { type Config, loadConfig } from './config.js';
import { startAdSyncWorker } from './costs/sync.js';
import { type Db, openDb } from './db/db.js';
import { migrate } from './db/migrate.js';
import { loadDemo } from './demo/demo.js';
import { startInventoryWorker } from './inventory/lifecycle.js';
import { jobKinds } from './jobs/kinds.js';
import { startJobWorker } from './jobs/queue.js';
import { startVisitRollup } from './reports/rollup.js';
import { secretBox, secretKeyFromDataDir } from './secrets/secret-box.js';
import { SimulateUsageError, simulateCommand } from './simulate/cli.js';
import { startAsteriskConnections } from './telephony/asterisk.js';
import { createUser, DuplicateEmailError } from './users/store.js';
import { startWorkers } from './webhooks/worker.js';

const usage = `ringtrace <command>

  start                      migrate, then serve HTTP on PORT (default 8080)
  migrate                    apply pending database migrations
  keys create --account ID   create an API key for an account and print it
  users create --account ID --email E --password P [--name N] [--locale ru|en]
                             create a dashboard user
  demo                       load the demo site (a simulated week of visits and calls)
  simulate [--days D] [--visitors-per-day V] [--freeze-min F] [--pool N|min|0.5min|…]
           [--policy naive|smart] [--seed S] [--json]
                             measure attribution accuracy on seeded simulated traffic (docs/simulator.md)

Configuration comes from the environment; see README.md.`;

async function open(config: Config): Promise<Db> {
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
  const db = await openDb({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : `${config.dataDir}/pglite`,
  });
  await migrate(db);
  return db;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'start':
      return start(config);
    case 'migrate': {
      const db = await openDb({
        url: config.databaseUrl,
        dataDir: config.databaseUrl ? undefined : `${config.dataDir}/pglite`,
      });
      const applied = await migrate(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return db.close();
    }
    case 'keys': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { account: { type: 'string' }, name: { type: 'string' } },
        allowPositionals: true,
      });
      if (positionals[0] !== 'create' || !values.account)
        throw new UsageError('usage: ringtrace keys create --account <id>');
      const db = await open(config);
      const account = await db.query('SELECT 1 FROM accounts WHERE id::text = $1', [values.account]);
      if (account.length === 0) throw new UsageError(`no account ${values.account}`);
      const { key } = await createApiKey(db, systemClock, values.account, values.name ?? 'cli');
      console.log(key);
      return db.close();
    }
    case 'users': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          account: { type: 'string' },
          email: { type: 'string' },
          password: { type: 'string' },
          name: { type: 'string' },
          locale: { type: 'string' },
        },
        allowPositionals: true,
      });
      const locale = values.locale ?? 'ru';
      if (
        positionals[0] !== 'create' ||
        !values.account ||
        !values.email ||
        !values.password ||
        (locale !== 'ru' && locale !== 'en')
      )
        throw new UsageError(
          'usage: ringtrace users create --account <id> --email <email> --password <password> [--name N] [--locale ru|en]',
        );
      const db = await open(config);
      const account = await db.query('SELECT 1 FROM accounts WHERE id::text = $1', [values.account]);
      if (account.length === 0) throw new UsageError(`no account ${values.account}`);
      try {
        const user = await createUser(db, systemClock, {
          accountId: values.account,
          email: values.email,
          password: values.password,
          name: values.name,
          locale,
        });
        console.log(user.id);
      } catch (err) {
        if (err instanceof DuplicateEmailError) throw new UsageError(err.message);
        throw err;
      } finally {
        await db.close();
      }
      return;
    }
    case 'demo': {
      const db = await open(config);
      const boot = await bootstrapFirstAccount(db, systemClock, config.dataDir);
      const accountId =
        boot?.accountId ??
        (await db.query<{ id: string }>('SELECT id FROM accounts ORDER BY created_at LIMIT 1'))[0].id;
      const summary = await loadDemo({ config, db, accountId });
      console.log(`demo site "${summary.siteName}": ${summary.visits} visits, ${summary.calls} calls`);
      if (boot) {
        console.log(`admin API key: ${boot.key} (saved in ${boot.keyFile})`);
        console.log(
          `dashboard login: ${boot.user.email} / ${boot.user.password} (saved in ${boot.user.file})`,
        );
      }
      return db.close();
    }
    case 'simulate':
      return simulateCommand(rest, config.databaseUrl);
    default:
      console.log(usage);
      if (command && command !== 'help' && command !== '--help') process.exitCode = 2;
  }
}

async function start(startConfig: Config): Promise<void> {
  const db = await open(startConfig);
  const config = {
    ...startConfig,
    secretKey: startConfig.secretKey ?? secretKeyFromDataDir(startConfig.dataDir),
  };
  const boot = await bootstrapFirstAccount(db, systemClock, config.dataDir);
  if (boot && config.demoOnEmpty) {
    const summary = await loadDemo({ config, db, accountId: boot.accountId });
    console.log(
      `Loaded the demo site "${summary.siteName}": ${summary.visits} visits, ${summary.calls} calls.`,
    );
  }
  const app = await buildApp({ config, db });
  const secrets = secretBox(config.secretKey);
  const workers = startWorkers({ db, clock: systemClock, log: app.log, settings: config.webhooks });
  const jobs = startJobWorker({
    db,
    clock: systemClock,
    log: app.log,
    kinds: jobKinds({ config, db, clock: systemClock, secrets }),
  });
  const asterisk = startAsteriskConnections({ config, db, clock: systemClock, log: app.log });
  const inventory = startInventoryWorker(
    { db, clock: systemClock, config, log: app.log },
    config.inventoryIntervalSeconds * 1000,
  );
  const sweeper = startCallSweeper({
    db,
    clock: systemClock,
    log: app.log,
    settings: { ringingMinutes: config.sweepRingingMinutes, answeredMinutes: config.sweepAnsweredMinutes },
  });
  const adSync = startAdSyncWorker({
    db,
    clock: systemClock,
    config,
    secrets,
    log: app.log,
  });
  const rollup = startVisitRollup(db, systemClock, config.rollupIntervalSeconds, (err) =>
    app.log.error({ err }, 'report rollup pass failed'),
  );
  const shutdown = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await workers.stop();
    await jobs.stop();
    await asterisk.stop();
    await inventory.stop();
    await sweeper.stop();
    await adSync.stop();
    await rollup.stop();
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ port: config.port, host: config.host });
  if (boot) {
    console.log(
      `\nFirst start: created an account and an admin API key:\n\n  ${boot.key}\n\n(saved in ${boot.keyFile})`,
    );
    console.log(
      `\nDashboard login (http://localhost:${config.port}/):\n\n  email:    ${boot.user.email}\n  password: ${boot.user.password}\n\n(saved in ${boot.user.file})`,
    );
  }
  console.log(`Ringtrace is listening on http://localhost:${config.port} (API docs: /api/docs)`);
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err) => {
  const usageError = err instanceof UsageError || err instanceof SimulateUsageError;
  console.error(usageError ? err.message : err);
  process.exit(usageError ? 2 : 1);
});
