// The resource every span carries. Detection stays local (env, host, process) unless
// OTEL_NODE_RESOURCE_DETECTORS asks for more: cloud detectors make network calls, so they are opt-in.
import { createRequire } from 'node:module';
import { arch, hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { SDK_INFO } from '@opentelemetry/core';
import {
  detectResources,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { machineId } from './config/host.js';
import type { AgentConfig } from './config/index.js';
import { type Diag, describeError } from './diag.js';

const CLOUD_DETECTORS: Record<string, [pkg: string, exportName: string]> = {
  container: ['@opentelemetry/resource-detector-container', 'containerDetector'],
  alibaba: ['@opentelemetry/resource-detector-alibaba-cloud', 'alibabaCloudEcsDetector'],
  aws: ['@opentelemetry/resource-detector-aws', 'awsEc2Detector'],
  azure: ['@opentelemetry/resource-detector-azure', 'azureVmDetector'],
  gcp: ['@opentelemetry/resource-detector-gcp', 'gcpDetector'],
};

declare const __AGENT_VERSION__: string | undefined;
/** This agent's version: written into the bundle at build time (scripts/bundle.mjs), else read from its package.json. */
const AGENT_VERSION =
  typeof __AGENT_VERSION__ === 'string'
    ? __AGENT_VERSION__
    : (require('@x/trace-agent/package.json') as { version: string }).version;

export function buildResource(
  config: Pick<AgentConfig, 'resourceDetectors' | 'resourceAttributes' | 'serviceName' | 'hostName'>,
  diag: Diag,
): Resource {
  const wanted = config.resourceDetectors;
  const all = wanted.has('all');
  const detectors: ResourceDetector[] = [];
  if (all || wanted.has('host')) detectors.push(process.platform === 'linux' ? linuxHostDetector : hostDetector);
  if (all || wanted.has('os')) detectors.push(osDetector);
  if (all || wanted.has('process')) detectors.push(processDetector);
  for (const [name, [pkg, exportName]] of Object.entries(CLOUD_DETECTORS)) {
    if (!all && !wanted.has(name)) continue;
    try {
      const fromAuto = createRequire(require.resolve('@opentelemetry/auto-instrumentations-node'));
      const detector = (fromAuto(pkg) as Record<string, ResourceDetector>)[exportName];
      if (detector) detectors.push(detector);
    } catch (err) {
      diag.warn(`OTEL_NODE_RESOURCE_DETECTORS: detector "${name}" is unavailable (${describeError(err)})`);
    }
  }
  const env = all || wanted.has('env') ? config.resourceAttributes : {};
  const resource = detectResources({ detectors }).merge(
    resourceFromAttributes({
      ...env,
      'service.name': config.serviceName,
      'host.name': config.hostName,
      // Worker threads export on their own (see README); this tells their spans apart.
      ...(threadId ? { 'thread.id': threadId } : {}),
      'telemetry.sdk.name': SDK_INFO['telemetry.sdk.name'],
      'telemetry.sdk.language': SDK_INFO['telemetry.sdk.language'],
      'telemetry.sdk.version': SDK_INFO['telemetry.sdk.version'],
      'telemetry.distro.name': '@x/trace-agent',
      'telemetry.distro.version': AGENT_VERSION,
    }),
  );
  // Settle any asynchronous attributes (opt-in cloud detectors) now rather than at the first export: until then
  // the batch processor exports asynchronously even from forceFlush, which the exit flush cannot wait for.
  void resource.waitForAsyncAttributes?.().catch(() => undefined);
  return resource;
}

/**
 * The library's hostDetector with host.id read synchronously, as it reads it on Linux (the same two files), but
 * without a promise: a resource with pending attributes cannot be exported synchronously, so an app that called
 * process.exit() or crashed in its first milliseconds lost its spans and log records at exit (and printed
 * "Accessing resource attributes before async attributes settled"). Other platforms keep the library's.
 */
const linuxHostDetector: ResourceDetector = {
  detect() {
    const id = machineId(); // none: no host.id, as with the library's detector
    const a: string = arch();
    const hostArch = a === 'x64' ? 'amd64' : a === 'arm' ? 'arm32' : a === 'ppc' ? 'ppc32' : a;
    return { attributes: { 'host.name': hostname(), 'host.arch': hostArch, ...(id ? { 'host.id': id } : {}) } };
  },
};
