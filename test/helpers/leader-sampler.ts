/**
 * Asks every Consul server for the raft leader every 200 ms (one `docker exec` per server streaming
 * its answers, since consul's HTTP API listens on the nodes' loopback only) and measures, on the
 * laptop's clock, the longest time in which no server named a leader. A server whose answer is
 * older than a second counts as naming none.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export function leaderSampler(nodes: string[], maxSeconds = 300): { stop: () => { samples: number; longestLeaderlessMs: number; leaders: string[] } } {
  const latest = new Map<string, { at: number; leader: string }>();
  const leaders = new Set<string>();
  let samples = 0;
  let leaderlessSince: number | undefined;
  let longest = 0;
  const tick = () => {
    const now = Date.now();
    const named = nodes.some((n) => {
      const l = latest.get(n);
      return l !== undefined && now - l.at <= 1000 && l.leader !== '';
    });
    if (!named) leaderlessSince ??= now;
    else if (leaderlessSince !== undefined) {
      longest = Math.max(longest, now - leaderlessSince);
      leaderlessSince = undefined;
    }
  };
  const children: ChildProcess[] = nodes.map((node) => {
    const child = spawn('docker', ['exec', `bootstrap-lab-${node}`, 'sh', '-c',
      // bounded, and it ends when nobody reads: killing the docker client does not end an exec'd process
      `end=$(($(date +%s) + ${maxSeconds})); while [ "$(date +%s)" -lt "$end" ]; do ` +
        'echo "leader=$(curl -s --max-time 0.5 http://127.0.0.1:8500/v1/status/leader | tr -d \'"\')" || exit 0; sleep 0.2; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const leader = line.replace(/^leader=/, '').trim();
        samples++;
        if (leader) leaders.add(leader);
        latest.set(node, { at: Date.now(), leader });
      }
    });
    return child;
  });
  const timer = setInterval(tick, 50);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      if (leaderlessSince !== undefined) longest = Math.max(longest, Date.now() - leaderlessSince);
      for (const c of children) c.kill();
      return { samples, longestLeaderlessMs: longest, leaders: [...leaders] };
    },
  };
}
