// The faaset kernel driven by @jupyterlab/services (the client library of
// JupyterLab) through the classic notebook server's REST and WebSocket API.
//
//   cd tests/clients && FAASET_BINARY=../../build/faaset node --test lab_services.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import services from '@jupyterlab/services';
import WebSocket from 'ws';

import { NotebookServer } from './notebook_server.mjs';

const { KernelManager, KernelSpecManager, ServerConnection } = services;

const STEP_MS = 30_000;

/** PROMISE, or a clear failure after MS milliseconds. */
async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs CODE; returns {reply, iopub} where iopub lists the request's iopub
 * messages (status included) in arrival order. ON_STDIN answers input requests.
 */
async function execute(kernel, code, { onStdin, ms = STEP_MS, ...options } = {}) {
  const future = kernel.requestExecute({ code, allow_stdin: Boolean(onStdin), ...options });
  const iopub = [];
  future.onIOPub = (msg) => {
    iopub.push(msg);
  };
  if (onStdin) future.onStdin = (msg) => onStdin(msg, future);
  const reply = await within(ms, `execute ${JSON.stringify(code)}`, future.done);
  return { reply, iopub };
}

const outputs = (iopub) => iopub.filter((m) => m.header.msg_type !== 'status' && m.header.msg_type !== 'execute_input');
const stdout = (iopub) =>
  iopub.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout').map((m) => m.content.text).join('');
const describeMessages = (iopub) =>
  JSON.stringify(iopub.map((m) => ({ type: m.header.msg_type, content: m.content })), null, 1);

describe('@jupyterlab/services against faaset on the classic notebook server', { timeout: 240_000 }, () => {
  const server = new NotebookServer();
  let manager;
  let kernel;

  before(async () => {
    await server.start();
    const settings = ServerConnection.makeSettings({
      baseUrl: `${server.url}/`,
      wsUrl: `ws://127.0.0.1:${server.port}/`,
      token: server.token,
      appendToken: true,
      WebSocket,
    });
    manager = new KernelManager({ serverSettings: settings });
    await within(STEP_MS, 'KernelManager ready', manager.ready);
    kernel = await within(STEP_MS, 'start a faaset kernel', manager.startNew({ name: 'faaset' }));
    await within(STEP_MS, 'kernel info on connect', kernel.info);
    // the first kernel_info round trip may finish before the kernel reports idle
    const deadline = Date.now() + STEP_MS;
    while (kernel.status !== 'idle' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(kernel.status, 'idle', `kernel status after start is ${kernel.status}`);
  });

  after(async () => {
    try {
      if (kernel && !kernel.isDisposed) await within(10_000, 'kernel shutdown in after()', kernel.shutdown()).catch(() => {});
      manager?.dispose();
    } finally {
      const log = await server.stop();
      const reports = server.sanitizerReports();
      assert.deepEqual(reports, [], `sanitizer report in the server log:\n${log}`);
    }
  });

  it('lists the faaset kernelspec with its display name', async () => {
    const specs = new KernelSpecManager({ serverSettings: manager.serverSettings });
    try {
      await within(STEP_MS, 'kernelspecs', specs.ready);
      const spec = specs.specs?.kernelspecs?.faaset;
      assert.ok(spec, `no faaset kernelspec in ${JSON.stringify(Object.keys(specs.specs?.kernelspecs ?? {}))}`);
      assert.equal(spec.display_name, 'FaaSET');
      assert.equal(spec.language, 'python');
    } finally {
      specs.dispose();
    }
  });

  it('answers kernel_info_request', async () => {
    const reply = await within(STEP_MS, 'kernel_info', kernel.requestKernelInfo());
    assert.ok(reply, 'no kernel_info_reply');
    assert.equal(reply.content.status, 'ok');
    assert.equal(reply.content.language_info.name, 'python');
    assert.match(reply.content.protocol_version, /^5\.\d+/);
    assert.equal(reply.content.implementation, 'faaset', `implementation is ${reply.content.implementation}`);
  });

  it('executes a cell that prints and returns a value', async () => {
    const { reply, iopub } = await execute(kernel, "print('hello from services')\n6 * 7");
    assert.equal(reply.content.status, 'ok', `execute_reply: ${JSON.stringify(reply.content)}`);
    assert.equal(typeof reply.content.execution_count, 'number');
    const types = iopub.map((m) => m.header.msg_type);
    assert.equal(types[0], 'status', `first iopub message is ${types[0]}: ${describeMessages(iopub)}`);
    assert.equal(iopub[0].content.execution_state, 'busy');
    assert.equal(types.at(-1), 'status');
    assert.equal(iopub.at(-1).content.execution_state, 'idle');
    assert.ok(types.includes('execute_input'), `no execute_input: ${describeMessages(iopub)}`);
    const body = outputs(iopub);
    assert.deepEqual(body.map((m) => m.header.msg_type), ['stream', 'execute_result'], describeMessages(iopub));
    assert.equal(stdout(iopub), 'hello from services\n');
    const result = body[1].content;
    assert.equal(result.data['text/plain'], '42');
    assert.equal(result.execution_count, reply.content.execution_count);
  });

  it('reports an error with ename, evalue and traceback', async () => {
    const { reply, iopub } = await execute(kernel, "raise KeyError('missing')");
    assert.equal(reply.content.status, 'error');
    assert.equal(reply.content.ename, 'KeyError');
    const errors = iopub.filter((m) => m.header.msg_type === 'error');
    assert.equal(errors.length, 1, describeMessages(iopub));
    assert.equal(errors[0].content.ename, 'KeyError');
    assert.match(errors[0].content.evalue, /missing/);
    assert.ok(Array.isArray(errors[0].content.traceback) && errors[0].content.traceback.length > 0);
  });

  it('completes os.pa after import os', async () => {
    const { reply } = await execute(kernel, 'import os');
    assert.equal(reply.content.status, 'ok');
    const code = 'import os\nos.pa';
    const complete = await within(STEP_MS, 'complete_request', kernel.requestComplete({ code, cursor_pos: code.length }));
    assert.equal(complete.content.status, 'ok');
    const { matches, cursor_start, cursor_end } = complete.content;
    assert.ok(matches.some((m) => m.includes('path')), `matches: ${JSON.stringify(matches)}`);
    assert.equal(cursor_end, code.length);
    assert.ok(cursor_start >= 0 && cursor_start <= cursor_end, `cursor_start ${cursor_start}`);
    // applying a match over [cursor_start, cursor_end) gives code that names os.path
    const match = matches.find((m) => m.endsWith('path'));
    assert.ok(match, `no match ending in "path": ${JSON.stringify(matches)}`);
    assert.equal(code.slice(0, cursor_start) + match, 'import os\nos.path');
  });

  it('inspects len', async () => {
    const reply = await within(STEP_MS, 'inspect_request', kernel.requestInspect({ code: 'len', cursor_pos: 3, detail_level: 0 }));
    assert.equal(reply.content.status, 'ok');
    assert.equal(reply.content.found, true);
    assert.match(reply.content.data['text/plain'], /Return the number/);
  });

  it('answers input() through the stdin channel', async () => {
    const prompts = [];
    const { reply } = await execute(kernel, "name = input('Your name: ')", {
      onStdin: (msg, future) => {
        if (msg.header.msg_type !== 'input_request') return;
        prompts.push(msg.content.prompt);
        future.sendInputReply({ status: 'ok', value: 'Ada' }, msg.header);
      },
    });
    assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
    assert.deepEqual(prompts, ['Your name: ']);
    const { iopub } = await execute(kernel, "print('hi', name)");
    assert.equal(stdout(iopub), 'hi Ada\n');
  });

  it('sends display_data with a display_id, then update_display_data for it', async () => {
    const { reply, iopub } = await execute(kernel, "h = display('step 1', display_id=True)\nh.update('step 2')");
    assert.equal(reply.content.status, 'ok');
    const body = outputs(iopub);
    assert.deepEqual(body.map((m) => m.header.msg_type), ['display_data', 'update_display_data'], describeMessages(iopub));
    const [shown, updated] = body.map((m) => m.content);
    assert.equal(shown.data['text/plain'], "'step 1'");
    assert.equal(updated.data['text/plain'], "'step 2'");
    assert.equal(typeof shown.transient?.display_id, 'string', `display_data transient: ${JSON.stringify(shown.transient)}`);
    assert.equal(updated.transient?.display_id, shown.transient.display_id);
  });

  it('interrupts a running cell', async () => {
    const future = kernel.requestExecute({ code: 'import time\ntime.sleep(60)' });
    const iopub = [];
    future.onIOPub = (msg) => iopub.push(msg);
    // wait until the cell runs (busy), then interrupt through the server's REST API
    const deadline = Date.now() + STEP_MS;
    while (!iopub.some((m) => m.header.msg_type === 'execute_input') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await within(STEP_MS, 'interrupt', kernel.interrupt());
    const reply = await within(15_000, 'the interrupted cell to finish', future.done);
    assert.ok(Date.now() - started < 10_000, 'the interrupt took more than 10 s');
    assert.equal(reply.content.status, 'error', JSON.stringify(reply.content));
    assert.equal(reply.content.ename, 'KeyboardInterrupt');
    const after = await execute(kernel, "print('still alive')");
    assert.equal(stdout(after.iopub), 'still alive\n');
  });

  it('restarts with a fresh namespace', async () => {
    await execute(kernel, 'before_restart = 1');
    await within(STEP_MS, 'restart', kernel.restart());
    const deadline = Date.now() + STEP_MS;
    while (kernel.status !== 'idle' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(kernel.status, 'idle', `status after restart: ${kernel.status}`);
    const { reply, iopub } = await execute(kernel, "print('before_restart' in globals())");
    assert.equal(reply.content.status, 'ok');
    assert.equal(stdout(iopub), 'False\n');
  });

  it('shuts down', async () => {
    const id = kernel.id;
    await within(STEP_MS, 'kernel shutdown', kernel.shutdown());
    const running = await server.api('GET', '/api/kernels');
    assert.ok(!running.some((k) => k.id === id), `kernel ${id} still listed: ${JSON.stringify(running)}`);
  });
});
