// Bad networks for browser tests: each viewer gets a network namespace of
// its own, joined to the test's namespace (where the server and its media
// address 198.51.100.1 live) by a veth pair, and its own Chromium inside
// it. The link can then be capped (tc tbf on the test's side: the viewer's
// downlink), made lossy or made to drop UDP (iptables in the viewer's
// namespace). This kernel has no netem, hence no delay. Everything is torn
// down with the namespace's holder process.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

export const SERVER_IP = '198.51.100.1';

function sh(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A viewer's network: namespace `n` (1..250) with address 10.77.n.2, its
// side of the link v{n}b; ours v{n}a at 10.77.n.1.
export async function viewerNet(n) {
  const holder = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
  const ours = readlinkSync('/proc/self/ns/net');
  const nsPath = `/proc/${holder.pid}/ns/net`;
  for (let i = 0; ; i++) {
    try {
      if (readlinkSync(nsPath) !== ours) break;
    } catch { /* not yet */ }
    if (i > 100) throw new Error('the viewer namespace did not appear');
    await sleep(20);
  }
  const inNs = (cmd, ...args) => sh('nsenter', [`--net=${nsPath}`, cmd, ...args]);
  const outer = `v${n}a`;
  const inner = `v${n}b`;
  sh('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
  sh('ip', ['link', 'set', inner, 'netns', String(holder.pid)]);
  sh('ip', ['addr', 'add', `10.77.${n}.1/24`, 'dev', outer]);
  sh('ip', ['link', 'set', outer, 'up']);
  inNs('ip', 'link', 'set', 'lo', 'up');
  inNs('ip', 'addr', 'add', `10.77.${n}.2/24`, 'dev', inner);
  inNs('ip', 'link', 'set', inner, 'up');
  inNs('ip', 'route', 'add', `${SERVER_IP}/32`, 'via', `10.77.${n}.1`);
  const profile = mkdtempSync(join(tmpdir(), `podium-viewer-${n}-`));
  // Chromium runs inside the namespace; Playwright drives it over a pipe,
  // which needs no network.
  const wrapper = join(profile, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=${nsPath} ${process.env.CHROMIUM ?? '/usr/bin/chromium'} "$@"\n`);
  chmodSync(wrapper, 0o755);
  let browser = null;
  const net = {
    ip: `10.77.${n}.2`,
    // A page of this viewer's own Chromium. Pages here are at a plain-HTTP
    // non-loopback origin, which Chromium treats as secure only if told.
    async launch(origin) {
      browser = await chromium.launch({
        executablePath: wrapper,
        args: [
          '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--autoplay-policy=no-user-gesture-required',
          `--unsafely-treat-insecure-origin-as-secure=${origin}`,
        ],
      });
      return browser;
    },
    // The viewer's downlink at `kbit` kbit/s (a home router's queue of
    // about 200 ms), or uncapped with null.
    cap(kbit) {
      try {
        sh('tc', ['qdisc', 'del', 'dev', outer, 'root']);
      } catch { /* none yet */ }
      if (kbit) {
        // A small bucket: a larger one lets short bursts (the estimator's
        // probes) through at line rate, and the link looks faster than it is.
        sh('tc', ['qdisc', 'add', 'dev', outer, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '4kb', 'latency', '200ms']);
      }
    },
    // Drops this share of the UDP the viewer receives.
    loss(probability) {
      inNs('iptables', '-A', 'INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP');
    },
    // The viewer's network drops UDP both ways, but for `except` ports of
    // the server's (a TURN server's, say).
    dropUdp({ except = [] } = {}) {
      for (const port of except) {
        inNs('iptables', '-A', 'OUTPUT', '-p', 'udp', '-d', SERVER_IP, '--dport', String(port), '-j', 'ACCEPT');
        inNs('iptables', '-A', 'INPUT', '-p', 'udp', '-s', SERVER_IP, '--sport', String(port), '-j', 'ACCEPT');
      }
      inNs('iptables', '-A', 'OUTPUT', '-p', 'udp', '-j', 'DROP');
      inNs('iptables', '-A', 'INPUT', '-p', 'udp', '-j', 'DROP');
    },
    // Drops TCP to these server ports (the media TCP port, say).
    dropTcpTo(ports) {
      for (const port of ports) {
        inNs('iptables', '-A', 'OUTPUT', '-p', 'tcp', '-d', SERVER_IP, '--dport', String(port), '-j', 'DROP');
      }
    },
    async close() {
      await browser?.close().catch(() => {});
      holder.kill('SIGKILL');
      try {
        sh('ip', ['link', 'del', outer]);
      } catch { /* gone with the namespace */ }
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return net;
}

// A TURN server (Debian's coturn) on the test address, with the
// use-auth-secret scheme Podium's credentials follow. Resolves once it
// listens.
export async function coturn(secret) {
  const dir = mkdtempSync(join(tmpdir(), 'podium-coturn-'));
  const port = 3478;
  const child = spawn('turnserver', [
    '-n', '--log-file=stdout', '--simple-log', '--no-cli', '--no-tls', '--no-dtls',
    `--listening-ip=${SERVER_IP}`, `--relay-ip=${SERVER_IP}`, `--listening-port=${port}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=podium.test',
    '--min-port=49160', '--max-port=49200',
    // The media server is on a test address coturn would not relay to
    // by default.
    `--allowed-peer-ip=${SERVER_IP}`, '--no-multicast-peers',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += c));
  child.stderr.on('data', (c) => (log += c));
  // Ready when it answers a STUN binding request.
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(SERVER_IP, port))) {
    if (child.exitCode !== null) throw new Error(`turnserver exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`turnserver did not start: ${log}`);
    await sleep(100);
  }
  return {
    url: `turn:${SERVER_IP}:${port}?transport=udp`,
    port,
    log: () => log,
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Whether a STUN server answers a binding request (RFC 5389) within 300 ms.
function stunAnswers(host, port) {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0);
    request.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(request, 8);
    const done = (ok) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    sock.on('message', (m) => done(m.readUInt16BE(0) === 0x0101));
    sock.on('error', () => done(false));
    sock.send(request, port, host);
  });
}

// What a page's viewer receives now, from getStats: the stage video's
// resolution, frames and freezes, keyframes, and the connection's route.
export async function videoStats(page) {
  return page.evaluate(async () => {
    const stats = await window.podium?.stats();
    // Our name for each inbound video statistic that is summed over the
    // streams, and its scale.
    const sums = {
      frames: ['framesDecoded'], keyframes: ['keyFramesDecoded'], freezes: ['freezeCount'],
      freezeSeconds: ['totalFreezesDuration'], lost: ['packetsLost'], packets: ['packetsReceived'],
      received: ['framesReceived'], dropped: ['framesDropped'], nacks: ['nackCount'], plis: ['pliCount'],
      firs: ['firCount'], discarded: ['packetsDiscarded'], jitterMs: ['jitterBufferDelay', 1000],
      emitted: ['jitterBufferEmittedCount'],
    };
    const out = { height: 0, audio: 0, route: null };
    for (const k of Object.keys(sums)) out[k] = 0;
    stats?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded ?? 0) > 0) {
        out.height = Math.max(out.height, s.frameHeight ?? 0);
        for (const [k, [stat, scale = 1]] of Object.entries(sums)) out[k] += (s[stat] ?? 0) * scale;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audio += s.packetsReceived ?? 0;
    });
    // The route of the pair in use now (the browser may move to another).
    stats?.forEach((s) => {
      const pair = s.type === 'transport' && s.selectedCandidatePairId && stats.get(s.selectedCandidatePairId);
      const local = pair && stats.get(pair.localCandidateId);
      if (local) out.route = local.candidateType === 'relay' ? 'relay' : local.protocol;
    });
    return out;
  });
}

// The presenter's camera layers as sent now: bits and frames per second
// per rid, measured over `ms`, and what limits each.
export async function sentLayers(page, ms = 3000) {
  const sample = () =>
    page.evaluate(async () => {
      const stats = await window.podium?.stats();
      const out = {};
      stats?.forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) {
          // Media only: not retransmissions (nor padding, which bytesSent
          // leaves out).
          out[s.rid] = { bytes: s.bytesSent - (s.retransmittedBytesSent ?? 0), frames: s.framesEncoded ?? 0, height: s.frameHeight ?? 0, at: s.timestamp, why: s.qualityLimitationReason, target: s.targetBitrate };
        }
      });
      return out;
    });
  const a = await sample();
  await sleep(ms);
  const b = await sample();
  const rates = {};
  for (const rid of Object.keys(b)) {
    if (!a[rid]) continue;
    const ms = b[rid].at - a[rid].at;
    rates[rid] = { bps: ((b[rid].bytes - a[rid].bytes) * 8 * 1000) / ms, fps: ((b[rid].frames - a[rid].frames) * 1000) / ms, height: b[rid].height, target: b[rid].target, why: b[rid].why };
  }
  return rates;
}
