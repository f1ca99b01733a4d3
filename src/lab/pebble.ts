import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { issueCertificate, keyPem, newKeyPair } from '../stack/x509.js';

/*
 * Let's Encrypt's test CA, Pebble (Debian's `pebble` package: `pebble` and `pebble-challtestsrv`),
 * for the apps with `tls: acme` in the lab and in the integration test. Pebble validates HTTP-01 on
 * `httpPort` of the name's address, which it asks pebble-challtestsrv's DNS for: the lab maps the
 * apps' names to the LBs there, so a validation really fetches the challenge from an LB.
 * Debian's package ships no certificate for Pebble's own HTTPS listener: one is made here, signed by
 * a CA of its own whose certificate is what the ACME client trusts (`acme.ca_bundle`). Pebble's
 * issuing root is another CA, regenerated on every start (`rootCertificate`).
 */

export interface PebbleOptions {
  /** address Pebble and challtestsrv listen on (loopback in tests, the lab's public gateway in the lab) */
  bindAddress: string;
  /** ports: the ACME directory, Pebble's management API, challtestsrv's DNS and its management API */
  ports: { acme: number; management: number; dns: number; dnsManagement: number };
  /** the port Pebble fetches http://<name>:<port>/.well-known/acme-challenge/ from (80 in the lab) */
  httpPort: number;
  /** lifetime of the certificates Pebble issues, in seconds (Pebble 2.4's certificateValidityPeriod) */
  validitySeconds: number;
  /** what challtestsrv answers for a name it has no mapping of (A records); '' = nothing */
  defaultIPv4: string;
  /** working directory: config, listener certificate and key, logs */
  dir: string;
  /** the pebble program (default: Debian's `pebble` on PATH; the ARI test runs a built 2.10) */
  binary?: string;
}

/** The lab's Pebble ports on its public gateway (the address is the lab's own, so fixed ports do not collide with the host's services on other addresses). */
export const PEBBLE_PORTS = { acme: 14000, management: 15000, dns: 8053, dnsManagement: 8055 } as const;

export interface PebbleFiles {
  config: string;
  /** the CA that signed Pebble's HTTPS listener: acme.ca_bundle */
  caBundle: string;
  directoryUrl: string;
}

/** Pebble's configuration file (JSON), as Pebble 2.4 reads it. */
export function pebbleConfig(o: Pick<PebbleOptions, 'bindAddress' | 'ports' | 'httpPort' | 'validitySeconds'>, certFile: string, keyFile: string): Record<string, unknown> {
  return {
    pebble: {
      listenAddress: `${o.bindAddress}:${o.ports.acme}`,
      managementListenAddress: `${o.bindAddress}:${o.ports.management}`,
      certificate: certFile,
      privateKey: keyFile,
      httpPort: o.httpPort,
      // TLS-ALPN-01 is not used; a port nothing answers on
      tlsPort: o.httpPort === 5001 ? 5002 : 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      certificateValidityPeriod: o.validitySeconds,
    },
  };
}

/**
 * Pebble's environment: no random sleep before a validation, no deliberately rejected nonces
 * (certbot does not retry a badNonce), and no reuse of valid authorizations, so every order is
 * validated against the LBs.
 */
export const PEBBLE_ENV = { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' } as const;

/** The argv of challtestsrv: its DNS and management API only (its own challenge servers are off). */
export function challtestsrvArgv(o: Pick<PebbleOptions, 'bindAddress' | 'ports' | 'defaultIPv4'>): string[] {
  return [
    'pebble-challtestsrv',
    '-dns01', `${o.bindAddress}:${o.ports.dns}`,
    '-management', `${o.bindAddress}:${o.ports.dnsManagement}`,
    '-http01', '',
    '-https01', '',
    '-tlsalpn01', '',
    '-defaultIPv4', o.defaultIPv4,
    // else every name also has the AAAA ::1, which Pebble asks first and dials on its own host
    '-defaultIPv6', '',
  ];
}

/** Writes the config and a listener certificate (for bindAddress and localhost) signed by a CA of its own. */
export function writePebbleFiles(o: PebbleOptions): PebbleFiles {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const ca = newKeyPair();
  const caCert = issueCertificate({ commonName: 'bootstrap lab Pebble listener CA', ca: true, publicKey: ca.publicKey, selfKey: ca.privateKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 30 * 86_400_000) });
  const leaf = newKeyPair();
  const leafCert = issueCertificate({
    commonName: o.bindAddress,
    altNames: [...new Set([o.bindAddress, 'localhost', '127.0.0.1'])],
    publicKey: leaf.publicKey,
    issuer: { commonName: 'bootstrap lab Pebble listener CA', privateKey: ca.privateKey },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 30 * 86_400_000),
  });
  const certFile = join(o.dir, 'listener.pem');
  const keyFile = join(o.dir, 'listener-key.pem');
  const caBundle = join(o.dir, 'listener-ca.pem');
  writeFileSync(certFile, leafCert);
  writeFileSync(keyFile, keyPem(leaf.privateKey), { mode: 0o600 });
  writeFileSync(caBundle, caCert);
  const config = join(o.dir, 'pebble-config.json');
  writeFileSync(config, `${JSON.stringify(pebbleConfig(o, certFile, keyFile), null, 2)}\n`);
  return { config, caBundle, directoryUrl: `https://${o.bindAddress}:${o.ports.acme}/dir` };
}

/** The number of orders Pebble's log shows (one "Added order" line per new order). */
export function countOrders(log: string): number {
  return log.split('\n').filter((line) => /Added order /.test(line)).length;
}

export interface RunningPebble extends PebbleFiles {
  log: () => string;
  orders: () => number;
  /** challtestsrv: map a name to addresses (A records) */
  addA: (host: string, addresses: string[]) => Promise<void>;
  /** Pebble's current issuing root (PEM), from its management API */
  rootCertificate: () => Promise<string>;
  /** Pebble 2.10's management API: what its renewal information (ARI) answers for a certificate from now on */
  setRenewalInfo: (certificatePem: string, response: string) => Promise<void>;
  stop: () => Promise<void>;
}

async function waitForPort(host: string, port: number, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, host, () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${host}:${port} within 15 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts challtestsrv and Pebble (pointed at challtestsrv's DNS) as children of this process. */
export async function startPebble(o: PebbleOptions): Promise<RunningPebble> {
  const files = writePebbleFiles(o);
  let output = '';
  const logFile = createWriteStream(join(o.dir, 'pebble.log'), { flags: 'a' });
  const collect = (d: Buffer) => {
    output += d.toString();
    logFile.write(d);
  };
  const [dnsCmd, ...dnsArgs] = challtestsrvArgv(o);
  const dns = spawn(dnsCmd!, dnsArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  dns.stdout!.on('data', collect);
  dns.stderr!.on('data', collect);
  const children: ChildProcess[] = [dns];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      ),
    );
    logFile.end();
  };
  try {
    await waitForPort(o.bindAddress, o.ports.dnsManagement, dns, 'pebble-challtestsrv', () => output);
    const pebble = spawn(o.binary ?? 'pebble', ['-config', files.config, '-dnsserver', `${o.bindAddress}:${o.ports.dns}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...PEBBLE_ENV } });
    children.push(pebble);
    pebble.stdout!.on('data', collect);
    pebble.stderr!.on('data', collect);
    await waitForPort(o.bindAddress, o.ports.acme, pebble, 'pebble', () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ...files,
    log: () => output,
    orders: () => countOrders(output),
    addA: (host, addresses) => mapName(o, host, addresses),
    rootCertificate: () => fetchPebbleRoot(o, files.caBundle),
    setRenewalInfo: async (certificatePem, response) => {
      await pebbleManagement(o, files.caBundle, 'POST', '/set-renewal-info/', JSON.stringify({ Certificate: certificatePem, ARIResponse: response }));
    },
    stop,
  };
}

/* ---- the lab's Pebble: detached processes that outlive `lab up`, like the release mirror ---- */

/** What `lab up` keeps about its Pebble in the lab's run directory (pebble.json). */
export interface LabPebbleState extends PebbleFiles {
  pids: number[];
  options: PebbleOptions;
  log: string;
}

const STATE_FILE = 'pebble.json';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readLabPebble(runDir: string): LabPebbleState | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, STATE_FILE), 'utf8')) as LabPebbleState;
  } catch {
    return undefined;
  }
}

/**
 * Starts challtestsrv and Pebble detached (their output in `<dir>/pebble.log`), or returns the
 * ones a previous `lab up` started if both still run: Pebble's roots and accounts live in its
 * memory, so a restart would forget every account and issue under a new root.
 */
export async function startLabPebble(o: PebbleOptions, runDir: string): Promise<LabPebbleState> {
  const running = readLabPebble(runDir);
  if (running && running.pids.every(alive)) return running;
  const files = writePebbleFiles(o);
  const log = join(o.dir, 'pebble.log');
  // a new Pebble knows no account or order of an earlier one: its log (where orders are counted) starts afresh too
  const out = openSync(log, 'w');
  const [dnsCmd, ...dnsArgs] = challtestsrvArgv(o);
  const dns = spawn(dnsCmd!, dnsArgs, { detached: true, stdio: ['ignore', out, out] });
  dns.unref();
  const logText = () => {
    try {
      return readFileSync(log, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  await waitForPort(o.bindAddress, o.ports.dnsManagement, dns, 'pebble-challtestsrv', logText);
  const pebble = spawn('pebble', ['-config', files.config, '-dnsserver', `${o.bindAddress}:${o.ports.dns}`], { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...PEBBLE_ENV } });
  pebble.unref();
  await waitForPort(o.bindAddress, o.ports.acme, pebble, 'pebble', logText);
  const state: LabPebbleState = { ...files, pids: [dns.pid!, pebble.pid!], options: o, log };
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Ends the lab's Pebble and challtestsrv, if running; returns whether they were. */
export async function stopLabPebble(runDir: string): Promise<boolean> {
  const state = readLabPebble(runDir);
  if (!state) return false;
  const was = state.pids.some(alive);
  for (const pid of state.pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (state.pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of state.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(join(runDir, STATE_FILE), { force: true });
  return was;
}

/** Orders the lab's Pebble has placed since it started (from its log). */
export function labPebbleOrders(state: LabPebbleState): number {
  return countOrders(readFileSync(state.log, 'utf8'));
}

/**
 * Maps `host` to `addresses` in challtestsrv (the DNS Pebble validates through), in place of what
 * it had: /add-a appends to a name's records, and Pebble validates HTTP-01 through the first one
 * only (its VA dials addrs[0]), so a name is cleared before it is mapped again.
 */
export async function mapName(o: Pick<PebbleOptions, 'bindAddress' | 'ports'>, host: string, addresses: string[]): Promise<void> {
  for (const [path, body] of [['clear-a', { host }], ['add-a', { host, addresses }]] as const) {
    const res = await fetch(`http://${o.bindAddress}:${o.ports.dnsManagement}/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`pebble-challtestsrv /${path} ${host}: HTTP ${res.status}`);
  }
}

/** A request to Pebble's management API (HTTPS with the listener CA); the body of a 200 answer. */
async function pebbleManagement(o: Pick<PebbleOptions, 'bindAddress' | 'ports'>, caBundle: string, method: string, path: string, body?: string): Promise<string> {
  const { request } = await import('node:https');
  const ca = readFileSync(caBundle);
  return new Promise<string>((done, fail) => {
    const req = request({ host: o.bindAddress, port: o.ports.management, path, method, ca, servername: 'localhost', headers: { 'User-Agent': 'bootstrap-lab' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? done(text) : fail(new Error(`Pebble ${method} ${path}: HTTP ${res.statusCode} ${text}`))));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** Pebble's current issuing root (PEM), from its management API. */
export function fetchPebbleRoot(o: Pick<PebbleOptions, 'bindAddress' | 'ports'>, caBundle: string): Promise<string> {
  return pebbleManagement(o, caBundle, 'GET', '/roots/0');
}
