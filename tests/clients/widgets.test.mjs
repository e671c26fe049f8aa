// ipywidgets in a real browser: Debian's Chromium (through playwright-core)
// opens a notebook in the classic notebook UI (with Debian's
// jupyter-js-widgets extension), runs a cell that shows an IntSlider and a
// Button, then moves the slider with the keyboard and clicks the button: the
// callbacks run in the kernel's Python runtime and their output appears
// under the cell; then shows FaaSETUI's panel of a function on the local
// platform, types a payload and clicks Test: the answer appears in the
// panel's Output widget. Leaves screenshots in tests/artifacts/widgets.png
// and faasetui.png.
//
//   cd tests/clients && FAASET_BINARY=../../build/faaset node --test widgets.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

import { NotebookServer, ROOT } from './notebook_server.mjs';

const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const STEP_MS = 60_000;

const CELL = [
  'import ipywidgets as widgets',
  'slider = widgets.IntSlider(value=3, min=0, max=10, description="n")',
  'slider.observe(lambda change: print("slider", change["new"]), "value")',
  'button = widgets.Button(description="Go")',
  'button.on_click(lambda b: print("clicked with", slider.value))',
  'display(slider)',
  'button',
].join('\n');

const PANEL_CELL = [
  '%%cloud_function platforms=local memory=256',
  'def greet(request, context):',
  '    return {"message": "Hello " + request["name"]}',
  '',
  'import FaaSETUI',
  'FaaSETUI.UI(greet)',
].join('\n');

/** A notebook with no cells, written to a temp folder (the server copies it). */
function emptyNotebook() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faaset-widgets-'));
  const file = path.join(dir, 'widgets.ipynb');
  fs.writeFileSync(file, JSON.stringify({
    cells: [],
    metadata: { kernelspec: { name: 'faaset', display_name: 'FaaSET', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  }));
  return { dir, file };
}

describe('ipywidgets in the classic notebook in Chromium', { timeout: 300_000 }, () => {
  const notebook = emptyNotebook();
  const server = new NotebookServer({ notebooks: [notebook.file] });
  let userDataDir;
  let context;
  let page;
  const pageErrors = [];

  before(async () => {
    await server.start();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faaset-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 700 }, timeout: STEP_MS,
    });
    context.setDefaultTimeout(20_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  });

  after(async () => {
    try {
      await context?.close();
    } finally {
      if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
      fs.rmSync(notebook.dir, { recursive: true, force: true });
      const log = await server.stop();
      assert.deepEqual(server.sanitizerReports(), [], `sanitizer report in the server log:\n${log}`);
    }
  });

  it('shows a slider and a button whose callbacks run in the kernel', async () => {
    await page.goto(`${server.url}/notebooks/widgets.ipynb?token=${server.token}`, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const nb = window.Jupyter && window.Jupyter.notebook;
      return Boolean(nb && nb._fully_loaded && nb.kernel && nb.kernel.is_connected());
    }, null, { timeout: STEP_MS });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });

    // The widget manager checks the kernel's ipywidgets version as it connects
    // (a comm to jupyter.widget.version); a widget shown before its answer
    // arrived would warn "Widget Javascript not detected", as with ipykernel.
    await page.waitForFunction(() => new Promise((resolve) => {
      window.Jupyter.notebook.kernel.execute(
        'import ipywidgets; print(ipywidgets.Widget._version_validated)',
        { iopub: { output: (msg) => resolve(msg.content.text === 'True\n') } },
        { silent: false, store_history: false });
    }), null, { timeout: STEP_MS, polling: 500 });

    await page.evaluate((code) => {
      const nb = window.Jupyter.notebook;
      const cell = nb.get_cell(0);
      cell.set_text(code);
      nb.select(0);
      cell.execute();
    }, CELL);
    const cell = page.locator('#notebook-container .cell.code_cell').first();
    const handle = cell.locator('.ui-slider-handle');
    const button = cell.locator('button', { hasText: 'Go' });
    await handle.waitFor({ state: 'visible', timeout: STEP_MS });
    await button.waitFor({ state: 'visible', timeout: STEP_MS });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });
    assert.deepEqual(await cell.locator('.output_stderr').allInnerTexts(), [], 'the cell wrote to stderr');

    // two steps to the right with the keyboard: 3 -> 5, each change runs the observer
    await handle.focus();
    await page.keyboard.press('ArrowRight');
    await cell.locator('.output_stdout', { hasText: 'slider 4' }).waitFor({ timeout: STEP_MS });
    await page.keyboard.press('ArrowRight');
    await cell.locator('.output_stdout', { hasText: 'slider 5' }).waitFor({ timeout: STEP_MS });

    await button.click();
    await cell.locator('.output_stdout', { hasText: 'clicked with 5' }).waitFor({ timeout: STEP_MS });

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'widgets.png'), fullPage: true });

    // the kernel's side agrees with what the page shows
    await page.evaluate(() => {
      const nb = window.Jupyter.notebook;
      const next = nb.insert_cell_at_bottom('code');
      next.set_text('print("value is", slider.value)');
      next.execute();
    });
    const second = page.locator('#notebook-container .cell.code_cell').nth(1);
    await second.locator('.output_stdout', { hasText: 'value is 5' }).waitFor({ timeout: STEP_MS });
    assert.equal(await page.locator('#notebook-container .output_error').count(), 0, 'a cell shows an error');
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });

  it("shows FaaSETUI's panel, whose Test button calls the function", async () => {
    await page.evaluate((code) => {
      const nb = window.Jupyter.notebook;
      const cell = nb.insert_cell_at_bottom('code');
      cell.set_text(code);
      cell.execute();
    }, PANEL_CELL);
    const cell = page.locator('#notebook-container .cell.code_cell').nth(2);
    const test = cell.locator('button', { hasText: 'Test' });
    await test.waitFor({ state: 'visible', timeout: STEP_MS });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });
    assert.match(await cell.locator('.output_stdout').first().innerText(), /^local: deployed greet /);
    // typed: the textarea sends its value on keyup
    await cell.locator('.widget-textarea', { hasText: 'payload' }).locator('textarea').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{"name": "Chromium"}');
    await test.click();
    // the answer shows in the panel's Output widget (it claimed the click's messages), not after the panel
    const panel = cell.locator('.widget-area');
    await panel.locator('.output_stdout', { hasText: '"message": "Hello Chromium"' }).waitFor({ timeout: STEP_MS });
    assert.match(await cell.locator(':scope > .output_wrapper').innerText(), /^local: deployed greet [^\n]*\n?$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'faasetui.png'), fullPage: true });
    assert.equal(await page.locator('#notebook-container .output_error').count(), 0, 'a cell shows an error');
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });
});
