import { spawnSync } from 'node:child_process';

/** True when tmux can be run here. */
export const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;

/**
 * One detached tmux session on its own server socket (`-L`), so tests never
 * touch a user's tmux. Everything is bounded: reads poll a fixed number of
 * times and kill() ends the server by its socket.
 */
export class TmuxSession {
  private readonly sock: string;

  constructor(name: string, command: string, env: NodeJS.ProcessEnv, size = { x: 100, y: 32 }) {
    this.sock = `${name}-${process.pid}`;
    const vars = Object.entries(env).filter(([k, v]) => v !== undefined && /^(CTDB_|ONNODE_|HOME$|PATH$)/.test(k))
      .map(([k, v]) => `${k}=${shq(v!)}`).join(' ');
    const r = spawnSync('tmux', ['-L', this.sock, '-f', '/dev/null', 'new-session', '-d', '-s', 's', '-x', String(size.x), '-y', String(size.y),
      `env ${vars} ${command}; echo "EXITED $?"; sleep 30`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  }

  /** Sends keys (tmux key names or literal text with `literal`). */
  send(keys: string[], literal = false): void {
    spawnSync('tmux', ['-L', this.sock, 'send-keys', '-t', 's', ...(literal ? ['-l'] : []), ...keys]);
  }

  /** The visible screen as text. */
  capture(): string {
    return spawnSync('tmux', ['-L', this.sock, 'capture-pane', '-p', '-t', 's'], { encoding: 'utf8' }).stdout ?? '';
  }

  /** Polls the screen until `pred` holds (at most `tries` × 250 ms); returns the last screen. */
  async waitScreen(pred: (screen: string) => boolean, tries = 80): Promise<string> {
    let screen = '';
    for (let i = 0; i < tries; i++) {
      screen = this.capture();
      if (pred(screen)) return screen;
      await new Promise((r) => setTimeout(r, 250));
    }
    return screen;
  }

  kill(): void { spawnSync('tmux', ['-L', this.sock, 'kill-server']); }
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
