// Google's own Node client libraries against the Cloud Functions stand-in
// (tests/gcf/gcf_standin.py), so the stand-in speaks the real API and not
// our idea of it: google-auth-library signs a service-account JWT (a key
// made here) and exchanges it for an access token and an ID token, and
// refreshes an authorized user's token; @google-cloud/functions over its
// REST transport (fallback: true, plain http to loopback) uploads,
// creates, gets, lists, updates and deletes a function, and the ID token
// calls it. google-auth-library posts service-account JWTs to Google's
// fixed token URL: a Gaxios interceptor sends that request to the
// stand-in instead (the stand-in plays oauth2.googleapis.com, so the
// JWT's aud stays Google's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Gaxios } from 'gaxios';
import { Compute, JWT, UserRefreshClient } from 'google-auth-library';
import functions from '@google-cloud/functions';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT = 'faaset-test';
const EMAIL = `deployer@${PROJECT}.iam.gserviceaccount.com`;
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const PARENT = `projects/${PROJECT}/locations/us-central1`;
const USER = { client_id: '1234-node.apps.googleusercontent.com', client_secret: 'node-client-secret',
               refresh_token: '1//node-refresh-token', email: 'user@example.com' };

let folder, server, base, privateKey;

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'gcf-node-'));
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(folder, 'key.pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(folder, 'standin.json'), JSON.stringify({
    service_accounts: [{ client_email: EMAIL, public_key_file: join(folder, 'key.pub.pem'), private_key_id: 'k1' }],
    authorized_users: [USER], projects: [PROJECT], metadata_service_account: EMAIL }));
  const python = process.env.GCF_STANDIN_PYTHON || 'python3';
  server = spawn(python, [join(here, '..', 'gcf_standin.py'), '--config', join(folder, 'standin.json'),
                          '--operation-seconds', '0.5', '--watch-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    server.once('exit', (code) => reject(new Error(`the stand-in ended (${code})`)));
  });
  base = `http://127.0.0.1:${port}`;
});

after(() => {
  server.stdin.end();
  server.kill();
  rmSync(folder, { recursive: true, force: true });
});

test('google-auth-library: on Google, tokens from the metadata server (GCE_METADATA_HOST)', async () => {
  process.env.GCE_METADATA_HOST = base.replace('http://', '');
  try {
    const compute = new Compute();
    const { token } = await compute.getAccessToken();
    assert.match(token, /^ya29\./);
    const api = await fetch(`${base}/v2/${PARENT}/functions`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(api.status, 200);
    const idToken = await compute.fetchIdToken('https://example.test/fn');
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
    assert.equal(claims.aud, 'https://example.test/fn');
    assert.equal(claims.email, EMAIL);
    const bare = await fetch(`${base}/computeMetadata/v1/instance/service-accounts/default/token`);
    assert.equal(bare.status, 403); // without Metadata-Flavor: Google, as the real server
  } finally {
    delete process.env.GCE_METADATA_HOST;
  }
});

// Google's token URL, answered by the stand-in.
function transporter() {
  const gaxios = new Gaxios();
  gaxios.interceptors.request.add({
    resolved: async (config) => {
      if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(`${base}/token`);
      return config;
    },
  });
  return gaxios;
}

function serviceAccount(options = {}) {
  return new JWT({ email: EMAIL, key: privateKey, keyId: 'k1', scopes: [SCOPE], transporter: transporter(),
                   ...options });
}

test('google-auth-library: an access token from a service-account JWT', async () => {
  const { token } = await serviceAccount().getAccessToken();
  assert.match(token, /^ya29\./);
  const answer = await fetch(`${base}/v2/${PARENT}/functions`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 200);
});

test('google-auth-library: a key the stand-in does not know is refused', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  await assert.rejects(serviceAccount({ key: other }).getAccessToken(), /invalid_grant|Invalid JWT Signature/);
});

test('google-auth-library: an ID token for an audience', async () => {
  const audience = 'https://example.com/function';
  const idToken = await serviceAccount({ scopes: undefined }).fetchIdToken(audience);
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
  assert.equal(claims.aud, audience);
  assert.equal(claims.email, EMAIL);
});

test('google-auth-library: an authorized user refresh token', async () => {
  const client = new UserRefreshClient({ clientId: USER.client_id, clientSecret: USER.client_secret,
                                         refreshToken: USER.refresh_token,
                                         endpoints: { oauth2TokenUrl: `${base}/token` } });
  const { token } = await client.getAccessToken();
  assert.match(token, /^ya29\./);
  const wrong = new UserRefreshClient({ clientId: USER.client_id, clientSecret: USER.client_secret,
                                        refreshToken: '1//wrong', endpoints: { oauth2TokenUrl: `${base}/token` } });
  await assert.rejects(wrong.getAccessToken(), /invalid_grant/);
});

// The REST transport surfaces an API error as the HTTP status with Google's error body.
function googleError(status, name) {
  return (error) => error.status === status && JSON.parse(error.message).error.status === name;
}

// A zip with main.py, stored (no compression) so no zip library is needed.
function zipOf(name, text) {
  const data = Buffer.from(text);
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  const file = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  const centralOffset = local.length + file.length + data.length;
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + file.length, 12); end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}

test('@google-cloud/functions (REST): upload, create, get, list, update, call, delete', async () => {
  const authClient = serviceAccount();
  const client = new functions.v2.FunctionServiceClient({
    fallback: true, protocol: 'http', apiEndpoint: '127.0.0.1', port: Number(new URL(base).port), authClient });
  const [upload] = await client.generateUploadUrl({ parent: PARENT });
  const put = await fetch(upload.uploadUrl, {
    method: 'PUT', headers: { 'content-type': 'application/zip' },
    body: zipOf('main.py', 'import os\ndef handler(request):\n    return {"hello": request.get_json()["name"], "service": os.environ["K_SERVICE"]}\n') });
  assert.equal(put.status, 200);

  const [creating] = await client.createFunction({
    parent: PARENT, functionId: 'node-hello',
    function: { buildConfig: { runtime: 'python312', entryPoint: 'handler',
                               source: { storageSource: upload.storageSource } },
                serviceConfig: { availableMemory: '256M', timeoutSeconds: 30 }, environment: 'GEN_2' } });
  const [created] = await creating.promise();
  assert.equal(created.name, `${PARENT}/functions/node-hello`);
  // An Operation's response is a packed Any: the library leaves its enums as the numbers it asked for.
  assert.ok(created.state === 'ACTIVE' || created.state === 1, `state ${created.state}`);

  await assert.rejects(client.createFunction({
    parent: PARENT, functionId: 'node-hello',
    function: { buildConfig: { runtime: 'python312', entryPoint: 'handler',
                               source: { storageSource: upload.storageSource } } } }),
    googleError(409, 'ALREADY_EXISTS'));

  const [got] = await client.getFunction({ name: created.name });
  assert.equal(got.serviceConfig.availableMemory, '256M');
  assert.equal(got.environment, 'GEN_2');
  const [listed] = await client.listFunctions({ parent: PARENT });
  assert.deepEqual(listed.map((f) => f.name), [created.name]);

  const [updating] = await client.updateFunction({
    function: { name: created.name, serviceConfig: { availableMemory: '512M' } },
    updateMask: { paths: ['service_config.available_memory'] } });
  const [updated] = await updating.promise();
  assert.equal(updated.serviceConfig.availableMemory, '512M');
  assert.equal(updated.serviceConfig.timeoutSeconds, 30);
  await assert.rejects(client.updateFunction({
    function: { name: created.name, state: 'FAILED' }, updateMask: { paths: ['state'] } }),
    googleError(400, 'INVALID_ARGUMENT'));

  const idToken = await serviceAccount({ scopes: undefined }).fetchIdToken(got.url);
  const called = await fetch(got.url, { method: 'POST', headers: { authorization: `Bearer ${idToken}`,
                                                                   'content-type': 'application/json' },
                                        body: JSON.stringify({ name: 'Bob' }) });
  assert.equal(called.status, 200);
  assert.deepEqual(await called.json(), { hello: 'Bob', service: 'node-hello' });

  const [deleting] = await client.deleteFunction({ name: created.name });
  await deleting.promise();
  await assert.rejects(client.getFunction({ name: created.name }), googleError(404, 'NOT_FOUND'));
  await client.close();
});
