/**
 * A throwaway PKI for TLS tests, made with Debian's `openssl` command line: a CA (key and
 * self-signed certificate), a server certificate for 127.0.0.1 / localhost and a client
 * certificate (mutual TLS), both signed by that CA. EC P-256 keys, valid for two days: the whole
 * set takes a fraction of a second. Each openssl call gets its own minimal configuration, so the
 * machine's openssl.cnf plays no part.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OPENSSL = 'openssl';

export interface TestCa {
  dir: string;
  /** PEM, the CA's self-signed certificate: the trust anchor to hand to clients and the broker. */
  caCert: string;
  caKey: string;
}

export interface TestPki extends TestCa {
  /** Signed by the CA, subjectAltName IP:127.0.0.1, DNS:localhost. */
  serverCert: string;
  serverKey: string;
  /** Signed by the CA, for clientAuth. */
  clientCert: string;
  clientKey: string;
}

let checked = false;

/** Throws a readable error when `openssl` is not installed (Debian package `openssl`). */
export function requireOpenssl(): void {
  if (checked) return;
  try {
    execFileSync(OPENSSL, ['version'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`the openssl command line is needed for TLS tests (Debian: apt-get install openssl): ${(e as Error).message}`);
  }
  checked = true;
}

function openssl(args: string[]): void {
  try {
    execFileSync(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

function ecKey(file: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  return file;
}

/** A minimal request configuration: the subject, no prompt, and the extensions given. */
function reqConfig(file: string, commonName: string, extensions: string[]): string {
  writeFileSync(file, ['[req]', 'prompt = no', 'distinguished_name = dn', '[dn]', `CN = ${commonName}`, '[ext]', ...extensions, ''].join('\n'));
  return file;
}

/** A CA: an EC key and a self-signed certificate, in `dir` (created when missing). */
export function createTestCa(dir: string, name = 'Edge Agent Test CA'): TestCa {
  requireOpenssl();
  mkdirSync(dir, { recursive: true });
  const caKey = ecKey(join(dir, 'ca.key'));
  const caCert = join(dir, 'ca.crt');
  const cnf = reqConfig(join(dir, 'ca.cnf'), name, [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ]);
  openssl(['req', '-x509', '-new', '-config', cnf, '-extensions', 'ext', '-key', caKey, '-sha256', '-days', '2', '-out', caCert]);
  return { dir, caCert, caKey };
}

/** A leaf key and certificate signed by `ca`, named `<name>.key` / `<name>.crt` in the CA's folder. */
export function issueCertificate(ca: TestCa, name: string, commonName: string, extensions: string[]): { cert: string; key: string } {
  const key = ecKey(join(ca.dir, `${name}.key`));
  const csr = join(ca.dir, `${name}.csr`);
  const cert = join(ca.dir, `${name}.crt`);
  const cnf = reqConfig(join(ca.dir, `${name}.cnf`), commonName, [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    ...extensions,
  ]);
  openssl(['req', '-new', '-config', cnf, '-key', key, '-out', csr]);
  openssl([
    'x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-CAserial', join(ca.dir, 'ca.srl'),
    '-sha256', '-days', '2', '-extfile', cnf, '-extensions', 'ext', '-out', cert,
  ]);
  return { cert, key };
}

/** A CA with a server certificate for 127.0.0.1 / localhost and a client certificate, all in `dir`. */
export function createTestPki(dir: string, name = 'Edge Agent Test CA'): TestPki {
  const ca = createTestCa(dir, name);
  const server = issueCertificate(ca, 'server', 'localhost', ['extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1, DNS:localhost']);
  const client = issueCertificate(ca, 'client', 'edge-agent-test-client', ['extendedKeyUsage = clientAuth']);
  return { ...ca, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
