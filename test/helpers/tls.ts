// A self-signed certificate for 127.0.0.1 (openssl), for the tests that need a TLS endpoint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes key.pem and cert.pem (valid one day, CN and subjectAltName 127.0.0.1) into a new temporary directory. */
export function selfSignedCert(prefix: string): { dir: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    { stdio: 'ignore' },
  );
  return { dir, key, cert };
}
