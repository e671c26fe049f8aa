// The faaset kernel as VS Code's Jupyter extension drives a local ("raw")
// kernel: no Jupyter server, the extension itself launches the kernelspec's
// argv and speaks ZeroMQ to it (here with the npm `zeromq` package, as the
// extension does). At start it sends kernel_info_request until answered,
// comm_info_request for jupyter.widget, its ipywidgets version probe, its
// hidden start-up code and kernel_info_request again; then a completion
// with the cursor at the end, a cell, and interrupts: in message mode an
// interrupt_request on shell and on control, in signal mode (the
// kernelspec's interrupt_mode) SIGINT to the kernel process.
//
//   cd tests/clients && FAASET_BINARY=../../build/faaset node --test vscode.test.mjs
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import zmq from 'zeromq';

import { createSandbox, freePort, SANITIZER_MARKERS } from './notebook_server.mjs';

const STEP_MS = 60_000;
const DELIMITER = '<IDS|MSG>';
const WIDGET_VERSION_PREFIX = 'e976ee50-99ed-4aba-9b6b-9dcd5634d07d:IPyWidgets:';

// What the extension sends silently once the kernel is up (kernel.ts:
// the notebook's path, CodeSnippets.DisableJedi, then the matplotlib set-up
// wrapped in try/except).
const STARTUP_CODE = [
  '__vsc_ipynb_file__ = "/tmp/faaset-vscode/notebook.ipynb"',
  '%config Completer.use_jedi = False',
  'try:',
  '    import matplotlib',
  '    %matplotlib inline',
  "    matplotlib.rcParams.update({'figure.facecolor': 'white'})",
  'except:',
  "    print('Failed to initialize matplotlib startup code. Matplotlib might be missing.')",
].join('\n');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A kernel launched from a kernelspec and spoken to over raw ZeroMQ sockets. */
class RawKernel {
  constructor(sandbox, kernelName) {
    this.sandbox = sandbox;
    this.spec = JSON.parse(fs.readFileSync(
      path.join(sandbox.dir, 'share', 'jupyter', 'kernels', kernelName, 'kernel.json'), 'utf-8'));
    this.key = crypto.randomBytes(16).toString('hex');
    this.session = crypto.randomUUID();
    this.counter = 0;
    this.iopub = [];
    this.replies = [];
    this.waiters = [];
    this.stderr = '';
  }

  async start() {
    const ports = {};
    for (const name of ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port']) ports[name] = await freePort();
    const info = { ...ports, ip: '127.0.0.1', transport: 'tcp', key: this.key, signature_scheme: 'hmac-sha256', kernel_name: 'faaset' };
    this.connectionFile = path.join(this.sandbox.dir, `vscode-${crypto.randomBytes(4).toString('hex')}.json`);
    fs.writeFileSync(this.connectionFile, JSON.stringify(info));
    const argv = this.spec.argv.map((arg) => arg.replace('{connection_file}', this.connectionFile));
    this.process = spawn(argv[0], argv.slice(1), {
      cwd: this.sandbox.dir, env: { ...this.sandbox.env, ...(this.spec.env ?? {}) }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
    this.process.stderr.on('data', (chunk) => { this.stderr += chunk.toString(); });

    const url = (port) => `tcp://127.0.0.1:${port}`;
    this.shell = new zmq.Dealer({ routingId: `shell-${this.session}` });
    this.control = new zmq.Dealer({ routingId: `control-${this.session}` });
    this.stdin = new zmq.Dealer({ routingId: `stdin-${this.session}` });
    this.iopubSocket = new zmq.Subscriber();
    this.shell.connect(url(ports.shell_port));
    this.control.connect(url(ports.control_port));
    this.stdin.connect(url(ports.stdin_port));
    this.iopubSocket.connect(url(ports.iopub_port));
    this.iopubSocket.subscribe();
    this.readLoop(this.shell, 'shell', this.replies);
    this.readLoop(this.control, 'control', this.replies);
    this.readLoop(this.iopubSocket, 'iopub', this.iopub);
  }

  async readLoop(socket, channel, into) {
    try {
      for await (const frames of socket) {
        const msg = this.decode(frames);
        if (!msg) continue;
        msg.channel = channel;
        into.push(msg);
        for (const waiter of [...this.waiters]) waiter();
      }
    } catch {
      // the socket was closed
    }
  }

  sign(parts) {
    const hmac = crypto.createHmac('sha256', this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }

  decode(frames) {
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    if (at < 0) return null;
    const [signature, ...parts] = frames.slice(at + 1, at + 6);
    assert.equal(signature.toString(), this.sign(parts), 'a message from the kernel has a bad signature');
    const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
    return { header, parent_header, metadata, content };
  }

  async send(socketName, msgType, content) {
    const header = {
      msg_id: `${this.session}_${++this.counter}`, session: this.session, username: 'vscode',
      date: new Date().toISOString(), msg_type: msgType, version: '5.3',
    };
    const parts = [header, {}, {}, content].map((p) => JSON.stringify(p));
    await this[socketName].send([DELIMITER, this.sign(parts), ...parts]);
    return header.msg_id;
  }

  /** Resolves with what PREDICATE returns once it returns something, or fails after MS. */
  async until(what, predicate, ms = STEP_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = predicate();
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; kernel stderr:\n${this.stderr}`);
      await new Promise((resolve) => {
        const waiter = () => { this.waiters = this.waiters.filter((w) => w !== waiter); resolve(); };
        this.waiters.push(waiter);
        setTimeout(waiter, 200);
      });
    }
  }

  reply(msgId, ms) {
    return this.until(`the reply to ${msgId}`, () => this.replies.find((m) => m.parent_header.msg_id === msgId), ms);
  }

  /** The request's IOPub messages once it is idle (status left out). */
  async outputs(msgId, ms) {
    await this.until(`idle after ${msgId}`, () => this.iopub.some((m) => m.parent_header.msg_id === msgId &&
      m.header.msg_type === 'status' && m.content.execution_state === 'idle'), ms);
    return this.iopub.filter((m) => m.parent_header.msg_id === msgId && m.header.msg_type !== 'status');
  }

  /** As the extension starts a raw kernel: kernel_info_request until a reply and IOPub both arrived. */
  async waitForReady() {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const msgId = await this.send('shell', 'kernel_info_request', {});
      try {
        const reply = await this.reply(msgId, 2000);
        await this.until('IOPub', () => this.iopub.find((m) => m.parent_header.msg_id === msgId), 2000);
        return reply;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  async execute(code, options = {}) {
    return this.send('shell', 'execute_request', {
      code, silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true, ...options,
    });
  }

  async stop() {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      await this.send('control', 'shutdown_request', { restart: false });
      const exited = await Promise.race([this.exited, sleep(15_000).then(() => null)]);
      if (!exited) this.process.kill('SIGKILL');
    }
    for (const socket of [this.shell, this.control, this.stdin, this.iopubSocket]) socket.close();
    for (const marker of SANITIZER_MARKERS) assert.ok(!this.stderr.includes(marker), `sanitizer report:\n${this.stderr}`);
  }
}

const stdoutOf = (outputs) =>
  outputs.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout').map((m) => m.content.text).join('');

/** Starts `time.sleep(60)`, waits until it runs, calls INTERRUPT, expects KeyboardInterrupt soon. */
async function interruptSleep(kernel, interrupt) {
  const msgId = await kernel.execute('import time\nprint("sleeping", flush=True)\ntime.sleep(60)');
  await kernel.until('the cell to run', () => kernel.iopub.find((m) => m.parent_header.msg_id === msgId &&
    m.header.msg_type === 'stream'));
  const start = Date.now();
  await interrupt();
  const reply = await kernel.reply(msgId, 30_000);
  assert.equal(reply.content.status, 'error');
  assert.equal(reply.content.ename, 'KeyboardInterrupt');
  assert.ok(Date.now() - start < 20_000, `the interrupt took ${Date.now() - start} ms`);
  await kernel.outputs(msgId);
}

describe('VS Code raw kernel, interrupt_mode message', { timeout: 300_000 }, () => {
  let sandbox;
  let kernel;

  before(async () => {
    sandbox = createSandbox();
    kernel = new RawKernel(sandbox, 'faaset');
    assert.equal(kernel.spec.interrupt_mode, 'message');
    await kernel.start();
  });

  after(async () => {
    try {
      await kernel?.stop();
    } finally {
      if (sandbox) fs.rmSync(sandbox.dir, { recursive: true, force: true });
    }
  });

  it('answers kernel_info, comm_info and the ipywidgets probe as the extension sends them at start', async () => {
    const info = await kernel.waitForReady();
    assert.equal(info.content.status, 'ok');
    assert.equal(info.content.language_info.name, 'python');

    const commInfo = await kernel.reply(await kernel.send('shell', 'comm_info_request', { target_name: 'jupyter.widget' }));
    assert.deepEqual(commInfo.content, { status: 'ok', comms: {} });

    const probe = await kernel.execute([
      'try:',
      '    import ipywidgets as _VSCODE_ipywidgets',
      `    print("${WIDGET_VERSION_PREFIX}" + _VSCODE_ipywidgets.__version__)`,
      '    del _VSCODE_ipywidgets',
      'except:',
      '    pass',
    ].join('\n'), { store_history: false, stop_on_error: false });
    assert.equal((await kernel.reply(probe)).content.status, 'ok');
    assert.match(stdoutOf(await kernel.outputs(probe)), new RegExp(`^${WIDGET_VERSION_PREFIX}\\d+\\.`));
  });

  it('runs the hidden start-up code (%config after Python lines)', async () => {
    const startup = await kernel.execute(STARTUP_CODE, { store_history: false, stop_on_error: false });
    const reply = await kernel.reply(startup);
    await kernel.outputs(startup);
    assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
  });

  it('answers kernel_info again, runs a cell and completes at the end of the code', async () => {
    const info = await kernel.reply(await kernel.send('shell', 'kernel_info_request', {}));
    assert.equal(info.content.status, 'ok');

    const cell = await kernel.execute('import os\nprint("hello from VS Code")');
    const reply = await kernel.reply(cell);
    assert.equal(reply.content.status, 'ok');
    assert.equal(stdoutOf(await kernel.outputs(cell)), 'hello from VS Code\n');

    const code = 'x = 1\nos.pa';
    const complete = await kernel.reply(await kernel.send('shell', 'complete_request', { code, cursor_pos: code.length }));
    assert.equal(complete.content.status, 'ok');
    assert.ok(complete.content.matches.some((m) => m.endsWith('path')), JSON.stringify(complete.content));
    assert.equal(complete.content.cursor_end, code.length);
  });

  it('interrupts a running cell with interrupt_request on shell (ahead of the queue)', async () => {
    await interruptSleep(kernel, async () => {
      const reply = await kernel.reply(await kernel.send('shell', 'interrupt_request', {}), 10_000);
      assert.equal(reply.content.status, 'ok');
    });
  });

  it('interrupts a running cell with interrupt_request on control', async () => {
    await interruptSleep(kernel, async () => {
      const reply = await kernel.reply(await kernel.send('control', 'interrupt_request', {}), 10_000);
      assert.equal(reply.channel, 'control');
      assert.equal(reply.content.status, 'ok');
    });
    const after = await kernel.execute('print("still here")');
    assert.equal(stdoutOf(await kernel.outputs(after)), 'still here\n');
  });
});

describe('VS Code raw kernel, interrupt_mode signal', { timeout: 300_000 }, () => {
  let sandbox;
  let kernel;

  before(async () => {
    sandbox = createSandbox();
    // a second kernelspec, installed as a user would with --interrupt-mode signal
    const message = JSON.parse(fs.readFileSync(path.join(sandbox.dir, 'share', 'jupyter', 'kernels', 'faaset', 'kernel.json'), 'utf-8'));
    const python = message.argv[message.argv.indexOf('--python') + 1];
    execFileSync(process.env.FAASET_BINARY, ['install', '--prefix', sandbox.dir, '--name', 'faaset-signal',
      '--python', python, '--interrupt-mode', 'signal'], { env: sandbox.env, stdio: 'ignore' });
    kernel = new RawKernel(sandbox, 'faaset-signal');
    assert.equal(kernel.spec.interrupt_mode, 'signal');
    await kernel.start();
    await kernel.waitForReady();
  });

  after(async () => {
    try {
      await kernel?.stop();
    } finally {
      if (sandbox) fs.rmSync(sandbox.dir, { recursive: true, force: true });
    }
  });

  it('interrupts a running cell with SIGINT to the kernel process', async () => {
    await interruptSleep(kernel, async () => {
      kernel.process.kill('SIGINT');
    });
  });

  it('survives SIGINT while idle', async () => {
    kernel.process.kill('SIGINT');
    await sleep(500);
    const cell = await kernel.execute('print(6 * 7)');
    assert.equal((await kernel.reply(cell)).content.status, 'ok');
    assert.equal(stdoutOf(await kernel.outputs(cell)), '42\n');
  });
});
