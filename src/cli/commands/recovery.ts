/** `ctdb vacuum`: cluster-wide garbage collection of deleted records (an addition to CTDB's tool). */
import { getTunable } from '../../client/controls.js';
import { NodeFlag } from '../../protocol/constants.js';
import { vacuumOnNodes, volatileDbs } from '../../vacuum/front.js';
import { command, type Command } from '../command.js';

const vacuum = command({
  name: 'vacuum', args: '[<dbname|dbid>] [fast]', help: 'vacuum deleted records of volatile databases on all active nodes',
  remote: false, minArgs: 0, maxArgs: 2,
  async run(ctx, args) {
    const c = await ctx.client();
    const fast = args[args.length - 1] === 'fast';
    const names = fast ? args.slice(0, -1) : args;
    const dbs = await volatileDbs(c, ctx.myPnn, names, ctx.timeoutMs);
    const nodes = (await ctx.nodemap()).nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
    const timeoutMs = (((await getTunable(c, ctx.myPnn, 'VacuumMaxRunTime', { timeoutMs: ctx.timeoutMs })) ?? 120) + 10) * 1000;
    for (const db of dbs) {
      // Round one sends records to their lmasters; round two deletes them there.
      for (let round = 0; round < 2; round++) await vacuumOnNodes(c, nodes, db.id, !fast, timeoutMs);
      ctx.out(`Vacuumed ${db.name} on node(s) ${nodes.join(',')}\n`);
    }
    return 0;
  },
});

export const recoveryCommands: Command[] = [vacuum];
