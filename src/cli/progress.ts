// Progress on stderr while a large input file is read: on a terminal (auto) for files of 16 MiB or more, or
// always with --progress (one line per step, for logs). Never on stdout, which carries the command's output.

const STEP_BYTES = 16 * 1024 * 1024;

export type ProgressMode = 'auto' | 'on' | 'off';

export class Progress {
  private next = STEP_BYTES;
  private readonly active: boolean;
  private readonly tty: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly totalBytes: number,
    mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
    this.active = mode === 'on' || (mode === 'auto' && this.tty && totalBytes >= STEP_BYTES);
  }

  /** Called as bytes are consumed; prints when another step has been passed. */
  update(bytes: number, spans: number): void {
    if (!this.active || bytes < this.next) return;
    while (this.next <= bytes) this.next += STEP_BYTES;
    this.print(bytes, spans, false);
  }

  done(bytes: number, spans: number): void {
    if (this.active) this.print(bytes, spans, true);
  }

  private print(bytes: number, spans: number, last: boolean): void {
    const pct = this.totalBytes > 0 ? ` (${Math.min(100, Math.floor((bytes / this.totalBytes) * 100))}%)` : '';
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    const text = `${this.label}: ${mib(bytes)} of ${mib(this.totalBytes)}${pct}, ${spans} spans, ${secs} s${last ? ', done' : ''}`;
    // On a terminal one line is rewritten in place; elsewhere each step is a line of its own.
    if (this.tty) this.stream.write(`\r${text}\x1b[K${last ? '\n' : ''}`);
    else this.stream.write(`${text}\n`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
