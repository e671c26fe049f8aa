// Starts Debian's classic Jupyter Notebook server (6.4.x) for the node tests,
// in a private sandbox where the faaset kernelspec is installed, and stops it
// again. Used by browser.test.mjs, lab_services.test.mjs and colab.test.mjs.
//
// The sandbox comes from tests/support/faaset_testing.py (the same Sandbox the
// Python tests use): a small /usr/bin/python3 program creates it and prints
// its folder and environment as JSON. The server then runs headless on
// 127.0.0.1 with a random free port and a known token, its notebook folder
// being a temp folder inside the sandbox, and is stopped through
// /api/shutdown, then SIGTERM, then SIGKILL of its process group, so a failing
// test never leaves a server or a kernel behind.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const PYTHON = '/usr/bin/python3';
export const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];

const SANDBOX_PROGRAM = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'tests', 'support'))})
from faaset_testing import Sandbox
sandbox = Sandbox()
print(json.dumps({"dir": str(sandbox.dir), "env": sandbox.env}))
`;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Creates a Sandbox (kernelspec `faaset` installed in a temp folder). */
export function createSandbox() {
  let out;
  try {
    out = execFileSync(PYTHON, ['-c', SANDBOX_PROGRAM], {
      encoding: 'utf-8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(`could not create the faaset sandbox (is the binary built? set FAASET_BINARY): ${err.stderr || err.message}`);
  }
  return JSON.parse(out);
}

/** Process ids whose command line mentions TEXT (a unique sandbox path). */
function processesMentioning(text) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf-8');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export class NotebookServer {
  /**
   * @param {object} options
   * @param {string[]} [options.notebooks] notebook files copied into the server's notebook folder
   * @param {string[]} [options.args] more command-line options for the server (Colab's, say)
   */
  constructor({ notebooks = [], args = [] } = {}) {
    this.notebooks = notebooks;
    this.args = args;
    this.token = randomBytes(24).toString('hex');
    this.log = '';
    this.process = null;
    this.exited = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Starts the server; resolves once GET /api answers with its version.
   * Tries another port if the chosen one was taken meanwhile.
   */
  async start({ timeoutMs = 60_000 } = {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce({ timeoutMs });
      } catch (err) {
        if (!(attempt < 3 && err.portInUse)) throw err;
        await this.stop();
        this.stopped = false;
        this.log = '';
      }
    }
  }

  async startOnce({ timeoutMs }) {
    this.sandbox = createSandbox();
    this.notebookDir = path.join(this.sandbox.dir, 'notebooks');
    fs.mkdirSync(this.notebookDir);
    for (const file of this.notebooks) {
      fs.copyFileSync(file, path.join(this.notebookDir, path.basename(file)));
    }
    const configDir = path.join(this.sandbox.dir, 'config');
    fs.mkdirSync(configDir);
    this.port = await freePort();
    const env = {
      ...this.sandbox.env,
      JUPYTER_CONFIG_DIR: configDir, // no user config or extensions from ~/.jupyter
      JUPYTER_DATA_DIR: path.join(this.sandbox.dir, 'data'),
      IPYTHONDIR: path.join(this.sandbox.dir, 'ipython'),
      PYTHONUNBUFFERED: '1',
    };
    const argv = [
      '--no-browser',
      '--allow-root',
      '--ip=127.0.0.1',
      `--port=${this.port}`,
      '--NotebookApp.port_retries=0',
      `--NotebookApp.token=${this.token}`,
      '--NotebookApp.password=',
      `--notebook-dir=${this.notebookDir}`,
      ...this.args,
    ];
    this.process = spawn('/usr/bin/jupyter-notebook', argv, {
      env,
      cwd: this.notebookDir,
      detached: true, // its own process group, which stop() can signal as a whole
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => resolve({ code, signal }));
    });
    const collect = (chunk) => {
      this.log += chunk.toString('utf-8');
    };
    this.process.stdout.on('data', collect);
    this.process.stderr.on('data', collect);

    const deadline = Date.now() + timeoutMs;
    let lastError = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        const err = new Error(`jupyter-notebook exited early (${this.process.exitCode ?? this.process.signalCode}):\n${this.log}`);
        err.portInUse = /already in use|Address already in use/i.test(this.log);
        throw err;
      }
      try {
        const response = await fetch(`${this.url}/api`, {
          headers: { Authorization: `token ${this.token}` },
          signal: AbortSignal.timeout(2_000),
        });
        if (response.ok) {
          const body = await response.json();
          if (typeof body.version === 'string') {
            this.version = body.version;
            return this;
          }
          lastError = `unexpected /api body ${JSON.stringify(body)}`;
        } else {
          lastError = `HTTP ${response.status}`;
        }
      } catch (err) {
        lastError = err.message;
      }
      await sleep(200);
    }
    await this.stop();
    throw new Error(`jupyter-notebook did not answer ${this.url}/api within ${timeoutMs} ms (${lastError}):\n${this.log}`);
  }

  /** An authenticated request to the server's REST API. */
  async api(method, route, body) {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { Authorization: `token ${this.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async waitExit(ms) {
    if (!this.process) return true;
    if (this.process.exitCode !== null || this.process.signalCode !== null) return true;
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
    try {
      return await Promise.race([this.exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the server (it shuts its kernels down), then makes sure nothing it
   * started is left. Safe to call more than once and after a failed start.
   * Returns the server's log (its own and its kernels' stderr).
   */
  async stop() {
    if (this.process && !this.stopped) {
      this.stopped = true;
      const group = -this.process.pid;
      try {
        await this.api('POST', '/api/shutdown');
      } catch {
        // not up, or already going down
      }
      if (!(await this.waitExit(10_000))) {
        try { process.kill(group, 'SIGTERM'); } catch { /* gone */ }
        if (!(await this.waitExit(5_000))) {
          try { process.kill(group, 'SIGKILL'); } catch { /* gone */ }
          await this.waitExit(5_000);
        }
      }
      try { process.kill(group, 'SIGKILL'); } catch { /* nothing left in the group */ }
    }
    if (this.sandbox) {
      // jupyter_client starts kernels in sessions of their own; their
      // connection files are in the sandbox, so this finds any left over
      for (const pid of processesMentioning(this.sandbox.dir)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      fs.rmSync(this.sandbox.dir, { recursive: true, force: true });
      this.sandbox = null;
    }
    return this.log;
  }

  /** Sanitizer reports that kernels wrote to the server's stderr. */
  sanitizerReports() {
    return SANITIZER_MARKERS.filter((marker) => this.log.includes(marker));
  }
}
