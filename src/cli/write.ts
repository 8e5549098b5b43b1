// Buffered output for commands that may print a lot: lines are gathered into ~64 KiB writes, and a reader that
// goes away (`trace-agent tree big.jsonl | head`) ends the output quietly instead of crashing with EPIPE.
import type { Writable } from 'node:stream';

const CHUNK = 64 * 1024;

export class OutputWriter {
  private parts: string[] = [];
  private size = 0;
  private closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      this.closed = true;
    });
  }

  line(text: string): void {
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= CHUNK) this.flush();
  }

  private flush(): void {
    if (!this.parts.length) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    // stdout to a file or pipe is synchronous on Linux; to a terminal Node queues it and drains before exit.
    if (!this.closed) this.stream.write(text);
  }

  async end(): Promise<void> {
    this.flush();
  }
}
