import { CtdbClient } from '../client/client.js';
import { getNodemap, getPnn } from '../client/controls.js';
import { CtdbError } from '../common/errors.js';
import { resolvePaths, type CtdbPaths } from '../common/paths.js';
import { Pnn } from '../protocol/constants.js';
import type { NodeMap } from '../protocol/payloads.js';
import type { CliOptions } from './options.js';

/** What a command handler gets: options, output streams and the daemon connection. */
export class CliContext {
  readonly paths: CtdbPaths;
  private clientP?: Promise<CtdbClient>;
  private nodemapP?: Promise<NodeMap>;
  /** The local daemon's PNN (known after connect). */
  myPnn: number = Pnn.UNKNOWN;

  constructor(
    readonly opts: CliOptions,
    readonly out: (s: string) => void = (s) => { process.stdout.write(s); },
    readonly err: (s: string) => void = (s) => { process.stderr.write(s); },
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.paths = resolvePaths(env);
  }

  /** Per-control deadline in ms (-t). */
  get timeoutMs(): number { return Math.max(1, this.opts.timelimit) * 1000; }

  /** The node the command targets: -n, else the local node. */
  get target(): number { return this.opts.node ?? this.myPnn; }

  /** Connects to the local daemon (once) and learns its PNN. */
  client(): Promise<CtdbClient> {
    this.clientP ??= (async () => {
      let c: CtdbClient;
      try {
        c = await CtdbClient.connect(this.paths.socket, this.timeoutMs);
      } catch (e) {
        const errno = ((e as CtdbError).cause as NodeJS.ErrnoException | undefined)?.errno;
        throw new CtdbError('ECONNREFUSED',
          `connect() failed, errno=${errno === undefined ? 111 : Math.abs(errno)}\nFailed to connect to CTDB daemon (${this.paths.socket})`, { cause: e, exitCode: 1 });
      }
      this.myPnn = await getPnn(c, Pnn.CURRENT, { timeoutMs: this.timeoutMs });
      c.pnn = this.myPnn;
      return c;
    })();
    return this.clientP;
  }

  /** The local node's node map (cached for the command). */
  nodemap(): Promise<NodeMap> {
    this.nodemapP ??= this.client().then((c) => getNodemap(c, this.myPnn, { timeoutMs: this.timeoutMs }));
    return this.nodemapP;
  }

  /** Checks -n against the node map: `Node N does not exist`. */
  async checkTargetExists(): Promise<void> {
    if (this.opts.node === undefined) return;
    const nm = await this.nodemap();
    const n = nm.nodes.find((x) => x.pnn === this.opts.node);
    if (!n || (n.flags & 0x10)) throw new CtdbError('ENOENT', `Node ${this.opts.node} does not exist`, { exitCode: 1 });
  }

  close(): void {
    void this.clientP?.then((c) => c.close(), () => {});
  }
}
