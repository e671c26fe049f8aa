// The official openwhisk npm client (Apache OpenWhisk's JavaScript client,
// the one IBM's docs point to) against the OpenWhisk stand-in
// (tests/openwhisk/ow_standin.py), so the stand-in speaks the real API and
// not our idea of it: actions.create with a zip Buffer (the client sends it
// base64), a second create refused with 409, an update with overwrite,
// invoke blocking with result (the client asks for the activation and
// takes its result), an application error as the client's 502, a
// non-blocking invoke and activations.get / logs / result, actions.list,
// delete, and a wrong key refused. The zip is made by the stand-in's own
// interpreter (python's zipfile), so no zip library is needed here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import openwhisk from 'openwhisk';

const here = dirname(fileURLToPath(import.meta.url));
const python = process.env.OW_STANDIN_PYTHON || 'python3';
const AUTH = `${randomUUID()}:${randomBytes(48).toString('base64url').slice(0, 64)}`;
const NAMESPACE = 'faaset';
const MAIN = `import os
def main(params):
    if params.get("fail"):
        return {"error": "failed on purpose"}
    print("hello from", os.environ["__OW_ACTION_NAME"])
    return {"greeting": "Hello " + params.get("name", "stranger") + "!",
            "activation": os.environ["__OW_ACTIVATION_ID"]}
`;

let folder, server, base;

function zip(files) {
  const script = 'import base64, io, json, sys, zipfile\n' +
    'buffer = io.BytesIO()\n' +
    'with zipfile.ZipFile(buffer, "w") as archive:\n' +
    '    for name, text in json.load(sys.stdin).items():\n' +
    '        archive.writestr(name, text)\n' +
    'sys.stdout.write(base64.b64encode(buffer.getvalue()).decode())\n';
  return Buffer.from(execFileSync(python, ['-c', script], { input: JSON.stringify(files) }).toString(), 'base64');
}

function client(apiKey = AUTH) {
  return openwhisk({ apihost: base, api_key: apiKey, namespace: '_' });
}

async function activation(ow, activationId) {
  for (let i = 0; i < 200; i++) {
    try {
      return await ow.activations.get({ name: activationId });
    } catch (error) {
      if (error.statusCode !== 404) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`activation ${activationId} never finished`);
}

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'ow-node-'));
  writeFileSync(join(folder, 'standin.json'), JSON.stringify({ subjects: [{ auth: AUTH, namespace: NAMESPACE }] }));
  server = spawn(python, [join(here, '..', 'ow_standin.py'), '--config', join(folder, 'standin.json'), '--watch-stdin'],
                 { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    server.once('exit', (code) => reject(new Error(`the stand-in ended (${code})`)));
  });
  base = `http://127.0.0.1:${port}`;
});

// Closing stdin makes the stand-in stop its containers and remove its folder; killed if it lingers.
after(async () => {
  const ended = new Promise((resolve) => server.once('exit', resolve));
  server.stdin.end();
  const timer = setTimeout(() => server.kill(), 10000);
  await ended;
  clearTimeout(timer);
  rmSync(folder, { recursive: true, force: true });
});

test('create, 409 without overwrite, update with overwrite', async () => {
  const ow = client();
  const code = zip({ '__main__.py': MAIN });
  const created = await ow.actions.create({ name: 'hello', action: code, kind: 'python:3.11',
                                             limits: { memory: 256, timeout: 10000 } });
  assert.equal(created.version, '0.0.1');
  assert.equal(created.namespace, NAMESPACE);
  assert.equal(created.exec.binary, true);
  await assert.rejects(ow.actions.create({ name: 'hello', action: code, kind: 'python:3.11' }),
                       (error) => error.statusCode === 409 && /resource already exists/.test(error.message));
  const updated = await ow.actions.update({ name: 'hello', action: code, kind: 'python:3.11',
                                             limits: { memory: 512, timeout: 10000 } });
  assert.equal(updated.version, '0.0.2');
  assert.equal(updated.limits.memory, 512);
  const got = await ow.actions.get({ name: 'hello' });
  assert.equal(got.exec.kind, 'python:3.11');
  const listed = await ow.actions.list();
  assert.deepEqual(listed.map((a) => a.name), ['hello']);
});

test('invoke blocking with result, and the activation it left', async () => {
  const ow = client();
  const result = await ow.actions.invoke({ name: 'hello', params: { name: 'Bob' }, blocking: true, result: true });
  assert.equal(result.greeting, 'Hello Bob!');
  const record = await ow.activations.get({ name: result.activation });
  assert.equal(record.response.success, true);
  assert.ok(record.annotations.some((a) => a.key === 'limits' && a.value.memory === 512));
  const logs = await ow.activations.logs({ name: result.activation });
  assert.ok(logs.logs.some((line) => line.includes(`stdout: hello from /${NAMESPACE}/hello`)));
  const response = await ow.activations.result({ name: result.activation });
  assert.equal(response.result.greeting, 'Hello Bob!');
});

test('an application error is a 502 with the error', async () => {
  const ow = client();
  await assert.rejects(ow.actions.invoke({ name: 'hello', params: { fail: true }, blocking: true, result: true }),
                       (error) => error.statusCode === 502 && /failed on purpose/.test(error.message));
});

test('non-blocking invoke, then the activation by id', async () => {
  const ow = client();
  const { activationId } = await ow.actions.invoke({ name: 'hello', params: { name: 'Ann' } });
  assert.match(activationId, /^[0-9a-f]{32}$/);
  const record = await activation(ow, activationId);
  assert.equal(record.response.result.greeting, 'Hello Ann!');
});

test('a wrong key is 401; delete, then 404', async () => {
  await assert.rejects(client(`${AUTH.split(':')[0]}:wrong`).actions.list(), (error) => error.statusCode === 401);
  const ow = client();
  const deleted = await ow.actions.delete({ name: 'hello' });
  assert.equal(deleted.name, 'hello');
  await assert.rejects(ow.actions.get({ name: 'hello' }),
                       (error) => error.statusCode === 404 && /does not exist/.test(error.message));
});
