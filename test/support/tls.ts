import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A throw-away PKI made with the openssl CLI: a test CA, a leaf it signed, and a self-signed (untrusted) leaf. */
export interface TestPki {
  dir: string;
  /** The CA certificate (PEM) and its file, for WEBHOOK_CA_FILE. */
  caPem: string;
  caFile: string;
  /** Signed by the CA for localhost, hooks.test, *.hooks.test, 127.0.0.1 and ::1. */
  leaf: { key: string; cert: string };
  /** Same names, self-signed: no client that trusts only the CA accepts it. */
  untrusted: { key: string; cert: string };
  remove(): void;
}

const SAN = 'subjectAltName=DNS:localhost,DNS:hooks.test,DNS:*.hooks.test,IP:127.0.0.1,IP:::1';

export function makePki(): TestPki {
  // Under the repository's .tmp/ (git-ignored), not the shared system temp dir: in CI runs a file's PKI once
  // vanished from /tmp while its test still needed it.
  const base = path.resolve(import.meta.dirname, '..', '..', '.tmp');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'pki-'));
  const f = (name: string) => path.join(dir, name);
  // Runs in `dir` with relative file names, so each command reads as one line.
  const openssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  fs.writeFileSync(
    f('leaf.ext'),
    `${SAN}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  // RSA keys: the TLS 1.1-only test server needs a key type that protocol version can use.
  openssl(
    'req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 -subj /CN=Resolve-Test-CA ' +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost');
  openssl(
    'x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 3 -extfile leaf.ext',
  );
  openssl(
    `req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 3 -subj /CN=localhost -addext ${SAN}`,
  );
  const read = (name: string) => fs.readFileSync(f(name), 'utf8');
  return {
    dir,
    caPem: read('ca.pem'),
    caFile: f('ca.pem'),
    leaf: { key: read('leaf.key'), cert: read('leaf.pem') },
    untrusted: { key: read('self.key'), cert: read('self.pem') },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
