// The one helper end-to-end tests use to run traced apps: start OTLP receivers and fixture apps (under the agent unless
// told otherwise), wait for an app's port, select spans by service, and kill and close everything afterwards.
import { afterAll, afterEach } from 'vitest';
import { type OtlpReceiver, type ReceiverOptions, startReceiver } from './otlp-receiver.js';
import { type App, type StartOptions, startApp } from './run-app.js';

/** Selects the spans (or log records) of one service. */
export const byService =
  (name: string) =>
  (item: { resource: Record<string, unknown> }): boolean =>
    item.resource['service.name'] === name;

/** The variables that trace an app into `receiver` over gRPC as `service`; `extra` adds or overrides. */
export function agentEnv(receiver: OtlpReceiver, service: string, extra: Record<string, string> = {}) {
  return { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, FD_SERVICE_NAME: service, ...extra };
}

/** An app that printed `{ "port": n }` once listening. */
export interface Served {
  app: App;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
}

export interface Harness {
  /** A receiver closed at cleanup. */
  receiver(opts?: ReceiverOptions): Promise<OtlpReceiver>;
  /** Starts a fixture (`node --import @x/trace-agent` unless `nodeArgs` says otherwise) and waits for its port. */
  serve(script: string, opts?: StartOptions): Promise<Served>;
  /** Starts a fixture without waiting for anything; killed at cleanup. */
  start(script: string, opts?: StartOptions): App;
}

type When = 'each' | 'all';

/**
 * What a test file starts through it is killed and closed after each test (`each`) or after the file (`all`); apps and
 * receivers may differ (a receiver for the whole file, apps killed after each test even when it fails midway).
 */
export function harness(cleanup: When | { apps: When; receivers: When } = 'all'): Harness {
  const when = typeof cleanup === 'string' ? { apps: cleanup, receivers: cleanup } : cleanup;
  const apps: App[] = [];
  const receivers: OtlpReceiver[] = [];
  const hook = (w: When) => (w === 'each' ? afterEach : afterAll);
  hook(when.apps)(() => {
    for (const app of apps.splice(0)) app.kill('SIGKILL');
  });
  hook(when.receivers)(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  const start = (script: string, opts: StartOptions = {}) => {
    const app = startApp(script, opts);
    apps.push(app);
    return app;
  };
  return {
    async receiver(opts = {}) {
      const r = await startReceiver(opts);
      receivers.push(r);
      return r;
    },
    start,
    async serve(script, opts = {}) {
      const app = start(script, opts);
      const { port } = await app.waitForJson<{ port: number }>((v) => typeof v.port === 'number');
      return { app, port, base: `http://127.0.0.1:${port}` };
    },
  };
}
