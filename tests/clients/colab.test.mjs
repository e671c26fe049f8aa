// Colab's local runtime, as the browser drives it: the classic notebook
// server started with Colab's flags (the README's "Colab" steps:
// --NotebookApp.allow_origin=https://colab.research.google.com,
// --NotebookApp.port_retries=0), every REST call and the kernel's websocket
// opened with Colab's Origin header and the token, and a whole notebook run
// through it: a cloud function deployed on the local platform and called,
// an experiment, input(), an interrupt and a restart. The flag is what lets
// Colab's page call the server at all (CORS): another origin gets no
// permission.
//
// (Colab proper reaches the server through the jupyter_http_over_ws
// extension, which tunnels these same REST calls over a websocket; the
// requests the kernel sees are the same.)
//
//   cd tests/clients && FAASET_BINARY=../../build/faaset node --test colab.test.mjs
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { NotebookServer } from './notebook_server.mjs';

const COLAB = 'https://colab.research.google.com';
const STEP_MS = 60_000;

/** A kernel's websocket opened as Colab opens it, with request/reply helpers. */
class ColabChannel {
  constructor(server, kernelId, origin = COLAB) {
    this.session = randomUUID();
    this.url = `ws://127.0.0.1:${server.port}/api/kernels/${kernelId}/channels?session_id=${this.session}&token=${server.token}`;
    this.origin = origin;
    this.messages = [];
    this.waiters = [];
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url, { headers: { Origin: this.origin } });
      this.ws.on('open', () => resolve(this));
      this.ws.on('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      this.ws.on('error', reject);
      this.ws.on('message', (data) => {
        const message = JSON.parse(data.toString('utf-8'));
        this.messages.push(message);
        for (const waiter of [...this.waiters]) waiter();
      });
    });
  }

  close() {
    this.ws?.close();
  }

  send(channel, msgType, content, parent = {}) {
    const header = { msg_id: randomUUID(), msg_type: msgType, session: this.session, username: 'colab',
                     date: new Date().toISOString(), version: '5.3' };
    this.ws.send(JSON.stringify({ channel, header, parent_header: parent, metadata: {}, content, buffers: [] }));
    return header;
  }

  /** Waits for a message matching PREDICATE (looking at those already in too). */
  waitFor(predicate, what, ms = STEP_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${what}`)); }, ms);
      const check = () => {
        const found = this.messages.find(predicate);
        if (found) { cleanup(); resolve(found); }
      };
      const cleanup = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  /** Runs CODE; returns {reply, outputs, stdout}. ON_INPUT answers input requests. */
  async execute(code, { onInput } = {}) {
    const header = this.send('shell', 'execute_request', { code, silent: false, store_history: true,
                                                           user_expressions: {}, allow_stdin: Boolean(onInput),
                                                           stop_on_error: true });
    const mine = (m) => m.parent_header?.msg_id === header.msg_id;
    if (onInput) {
      const request = await this.waitFor((m) => mine(m) && m.header.msg_type === 'input_request', 'input_request');
      this.send('stdin', 'input_reply', { value: onInput(request.content.prompt) }, request.header);
    }
    const reply = await this.waitFor((m) => mine(m) && m.header.msg_type === 'execute_reply', `reply to ${code}`);
    await this.waitFor((m) => mine(m) && m.header.msg_type === 'status' && m.content.execution_state === 'idle',
                       `idle after ${code}`);
    const outputs = this.messages.filter((m) => mine(m) && m.channel === 'iopub' &&
                                              !['status', 'execute_input'].includes(m.header.msg_type));
    const stdout = outputs.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout')
      .map((m) => m.content.text).join('');
    return { reply: reply.content, outputs, stdout, header };
  }
}

/** A REST call with Colab's Origin; returns {status, headers, body}. */
async function colabFetch(server, method, route, body, origin = COLAB) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { Authorization: `token ${server.token}`, 'Content-Type': 'application/json', Origin: origin },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('a notebook through Colab\'s local runtime connection', { timeout: 300_000 }, () => {
  const server = new NotebookServer({ args: [`--NotebookApp.allow_origin=${COLAB}`] });
  let kernelId;
  let channel;

  before(async () => {
    await server.start();
  });

  after(async () => {
    channel?.close();
    const log = await server.stop();
    assert.deepEqual(server.sanitizerReports(), [], `sanitizer reports in the server's log:\n${log.slice(-4000)}`);
  });

  it('answers Colab\'s REST calls with its CORS header and starts a faaset session', async () => {
    const specs = await colabFetch(server, 'GET', '/api/kernelspecs');
    assert.equal(specs.status, 200);
    assert.equal(specs.headers.get('access-control-allow-origin'), COLAB);
    assert.ok('faaset' in specs.body.kernelspecs, JSON.stringify(Object.keys(specs.body.kernelspecs)));
    const session = await colabFetch(server, 'POST', '/api/sessions',
                                     { path: 'colab.ipynb', type: 'notebook', name: '', kernel: { name: 'faaset' } });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    kernelId = session.body.kernel.id;
    channel = await new ColabChannel(server, kernelId).open();
    const info = channel.send('shell', 'kernel_info_request', {});
    const reply = await channel.waitFor((m) => m.parent_header?.msg_id === info.msg_id &&
                                               m.header.msg_type === 'kernel_info_reply', 'kernel_info_reply');
    assert.equal(reply.content.implementation, 'faaset');
  });

  it('grants Colab\'s origin only: another site\'s page gets no CORS permission', async () => {
    const stranger = await colabFetch(server, 'GET', '/api/kernelspecs', undefined, 'https://evil.example');
    assert.notEqual(stranger.headers.get('access-control-allow-origin'), 'https://evil.example');
    const preflight = await fetch(`${server.url}/api/sessions`, {
      method: 'OPTIONS',
      headers: { Origin: COLAB, 'Access-Control-Request-Method': 'POST',
                 'Access-Control-Request-Headers': 'authorization,content-type' },
      signal: AbortSignal.timeout(30_000),
    });
    assert.ok(preflight.status < 300, `preflight: HTTP ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), COLAB);
  });

  it('deploys and calls a cloud function and runs an experiment', async () => {
    const defined = await channel.execute('%%cloud_function platforms=local\n' +
                                          'def colab_double(request, context):\n    return {"n": request["n"] * 2}');
    assert.equal(defined.reply.status, 'ok', JSON.stringify(defined.outputs));
    const called = await channel.execute('print(colab_double({"n": 21})["n"])');
    assert.equal(called.reply.status, 'ok', JSON.stringify(called.outputs));
    assert.equal(called.stdout.trim(), '42');
    const experiment = await channel.execute('%%experiment colab_double\n' +
                                             '{"experimentName": "colab", "runs": 8, "threads": 2, "payloads": [{"n": 1}]}');
    assert.equal(experiment.reply.status, 'ok', JSON.stringify(experiment.outputs));
    assert.ok(experiment.outputs.some((m) => ['display_data', 'update_display_data'].includes(m.header.msg_type)),
              'the experiment showed nothing');
  });

  it('asks for input and takes the answer', async () => {
    const asked = await channel.execute('name = input("who? ")\nprint("hello", name)', { onInput: () => 'colab' });
    assert.equal(asked.reply.status, 'ok');
    assert.equal(asked.stdout.trim(), 'hello colab');
  });

  it('interrupts a running cell through the REST API', async () => {
    const running = channel.execute('import time\ntime.sleep(60)');
    await channel.waitFor((m) => m.header.msg_type === 'status' && m.content.execution_state === 'busy' &&
                                 m.parent_header?.msg_type === 'execute_request' &&
                                 channel.messages.filter((x) => x.header.msg_type === 'execute_input' &&
                                                              x.content.code.includes('time.sleep(60)')).length > 0,
                          'the sleeping cell to start');
    const started = Date.now();
    const interrupted = await colabFetch(server, 'POST', `/api/kernels/${kernelId}/interrupt`);
    assert.equal(interrupted.status, 204);
    const { reply } = await running;
    assert.equal(reply.status, 'error');
    assert.equal(reply.ename, 'KeyboardInterrupt');
    assert.ok(Date.now() - started < 30_000, 'the interrupt took more than 30 s');
  });

  it('restarts with a fresh namespace and keeps working', async () => {
    await channel.execute('before_restart = 1');
    const restarted = await colabFetch(server, 'POST', `/api/kernels/${kernelId}/restart`);
    assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
    channel.close();
    channel = await new ColabChannel(server, kernelId).open();
    const after = await channel.execute("print('before_restart' in globals(), colab_double.__name__ if 'colab_double' in globals() else None)");
    assert.equal(after.reply.status, 'ok', JSON.stringify(after.outputs));
    assert.equal(after.stdout.trim(), 'False None');
  });
});
