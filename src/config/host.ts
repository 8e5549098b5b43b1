// The machine's identity, read once per use from the files systemd and D-Bus keep (Linux); shared by the resource's
// host.id and the slice API's host_id.
import { readFileSync } from 'node:fs';

/** The machine id (/etc/machine-id, else D-Bus's copy); undefined where there is none. */
export function machineId(): string | undefined {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (id) return id;
    } catch {
      // next file
    }
  }
  return undefined;
}
