// Microsoft's own @azure/identity against the Azure Functions stand-in
// (tests/azure/azure_standin.py), so the stand-in's Entra ID speaks the real
// protocol and not our idea of it: ClientSecretCredential with the
// stand-in as its authorityHost gets a token for
// https://management.azure.com/.default (MSAL's instance discovery, which
// always asks login.microsoftonline.com, is sent to the stand-in by a
// pipeline policy, as the stand-in plays that host; with
// disableInstanceDiscovery it is not asked at all), the token then reads
// the function app from Resource Manager, and a wrong secret and an
// unknown tenant fail with Entra's AADSTS errors. MSAL insists on https:
// the stand-in serves TLS with a certificate from a CA made here by
// tests/support/tls_terminator.py's make_certificates, which the
// credential's pipeline trusts (tlsOptions).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ClientSecretCredential } from '@azure/identity';

const here = dirname(fileURLToPath(import.meta.url));
const python = process.env.AZURE_STANDIN_PYTHON || 'python3';
const SCOPE = 'https://management.azure.com/.default';
const TENANT = randomUUID();
const CLIENT = randomUUID();
const SECRET = `Nd8~${randomBytes(24).toString('base64url')}`;
const SUBSCRIPTION = randomUUID();
const SITE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/faaset-rg/providers/Microsoft.Web/sites/faaset-flex`;

let folder, server, base, ca;

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'azure-node-'));
  const make = 'import pathlib, sys\nsys.path.insert(0, sys.argv[1])\n' +
    'from tls_terminator import make_certificates\n' +
    'print("\\n".join(map(str, make_certificates(pathlib.Path(sys.argv[2])))))\n';
  const [caFile, certFile, keyFile] = execFileSync(python, ['-c', make, join(here, '..', '..', 'support'),
                                                            join(folder, 'tls')]).toString().trim().split('\n');
  ca = readFileSync(caFile);
  writeFileSync(join(folder, 'standin.json'), JSON.stringify({
    tenants: [{ id: TENANT, domain: 'faaset.onmicrosoft.com' }],
    clients: [{ tenant: TENANT, client_id: CLIENT, client_secret: SECRET, role: 'Contributor' }],
    subscriptions: [{ id: SUBSCRIPTION, tenant: TENANT, resource_groups: ['faaset-rg'] }],
    apps: [{ subscription: SUBSCRIPTION, resource_group: 'faaset-rg', name: 'faaset-flex', plan: 'FlexConsumption',
             instance_memory_mb: 4096, publishing_password: randomBytes(30).toString('base64url') }] }));
  server = spawn(python, [join(here, '..', 'azure_standin.py'), '--config', join(folder, 'standin.json'),
                          '--tls-cert', certFile, '--tls-key', keyFile, '--watch-stdin'],
                 { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    server.once('exit', (code) => reject(new Error(`the stand-in ended (${code})`)));
  });
  base = `https://127.0.0.1:${port}`;
});

// Closing stdin makes the stand-in stop and remove its folder; killed if it lingers.
after(async () => {
  const ended = new Promise((resolve) => server.once('exit', resolve));
  server.stdin.end();
  const timer = setTimeout(() => server.kill(), 10000);
  await ended;
  clearTimeout(timer);
  rmSync(folder, { recursive: true, force: true });
});

// Requests MSAL sends to Microsoft's fixed instance-discovery host go to the stand-in instead.
function toStandin() {
  return {
    name: 'faasetToStandin',
    sendRequest(req, next) {
      req.url = req.url.replace('https://login.microsoftonline.com', base);
      return next(req);
    },
  };
}

function credential(secret = SECRET, tenant = TENANT, options = {}) {
  return new ClientSecretCredential(tenant, CLIENT, secret, {
    authorityHost: base, tlsOptions: { ca }, retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy: toStandin(), position: 'perCall' }], ...options });
}

function arm(path, token) {
  return new Promise((resolve, reject) => {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const req = request(`${base}${path}`, { ca, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('ClientSecretCredential gets a management token that Resource Manager takes', async () => {
  const before = Date.now();
  const { token, expiresOnTimestamp } = await credential().getToken(SCOPE);
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(claims.aud, 'https://management.azure.com/');
  assert.equal(claims.tid, TENANT);
  assert.equal(claims.appid, CLIENT);
  assert.ok(expiresOnTimestamp > before + 3000 * 1000, 'the token lives about an hour');
  const site = await arm(`${SITE}?api-version=2024-04-01`, token);
  assert.equal(site.status, 200);
  assert.equal(site.body.properties.sku, 'FlexConsumption');
  assert.equal(site.body.properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB, 4096);
  const bare = await arm(SITE, token);
  assert.equal(bare.status, 400);
  assert.equal(bare.body.error.code, 'MissingApiVersionParameter');
});

test('with disableInstanceDiscovery the tenant domain works too', async () => {
  const { token } = await credential(SECRET, 'faaset.onmicrosoft.com', { disableInstanceDiscovery: true,
                                                                          additionalPolicies: [] })
    .getToken(SCOPE);
  assert.equal((await arm(`${SITE}/functions?api-version=2024-04-01`, token)).status, 200);
});

test('a wrong secret fails with AADSTS7000215 (invalid_client)', async () => {
  await assert.rejects(credential('not-the-secret').getToken(SCOPE), (error) =>
    /^invalid_client: .*AADSTS7000215: Invalid client secret provided/.test(error.message) &&
    !error.message.includes(SECRET));
});

// MSAL asks an unknown tenant's openid-configuration first; Entra's 400 (AADSTS90002) ends the flow there.
test('an unknown tenant fails when MSAL resolves its endpoints', async () => {
  const refusals = (await arm('/_standin/stats')).body.token_refusals;
  await assert.rejects(credential(SECRET, randomUUID()).getToken(SCOPE), (error) =>
    error.name === 'CredentialUnavailableError' && /endpoints_resolution_error/.test(error.message));
  assert.equal((await arm('/_standin/stats')).body.token_refusals, refusals + 1);
});
