// The faaset kernel in a real browser: Debian's Chromium (through
// playwright-core) opens notebooks/quickstart.ipynb in the classic notebook
// UI, runs every cell with Cell > Run All and reads what the page rendered.
// Leaves screenshots in tests/artifacts: notebook.png (the whole notebook)
// and experiment-charts.png (an experiment's summary and charts as the
// classic notebook draws them, from their SVG form).
//
//   cd tests/clients && FAASET_BINARY=../../build/faaset node --test browser.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

import { NotebookServer, ROOT } from './notebook_server.mjs';

const NOTEBOOK = path.join(ROOT, 'notebooks', 'quickstart.ipynb');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STEP_MS = 30_000;

describe('classic notebook UI in Chromium', { timeout: 240_000 }, () => {
  const server = new NotebookServer({ notebooks: [NOTEBOOK] });
  let userDataDir;
  let context;
  let page;
  const pageErrors = [];

  before(async () => {
    await server.start();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faaset-chromium-'));
    // launchPersistentContext is Playwright's way to pass --user-data-dir
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 900 },
      timeout: STEP_MS,
    });
    // waits name their own timeouts; reading the page should not take long
    context.setDefaultTimeout(10_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  });

  after(async () => {
    try {
      await context?.close();
    } finally {
      if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
      const log = await server.stop();
      assert.deepEqual(server.sanitizerReports(), [], `sanitizer report in the server log:\n${log}`);
    }
  });

  /** Waits until the notebook page has loaded and its kernel is connected and idle. */
  async function waitForKernelIdle() {
    await page.waitForFunction(
      () => {
        const nb = window.Jupyter && window.Jupyter.notebook;
        return Boolean(nb && nb._fully_loaded && nb.kernel && nb.kernel.is_connected());
      },
      null,
      { timeout: STEP_MS },
    );
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });
  }

  const cellOutput = (index) => page.locator('#notebook-container .cell.code_cell').nth(index).locator('.output_area');

  it('runs quickstart.ipynb with Cell > Run All and renders every output', async () => {
    await page.goto(`${server.url}/notebooks/quickstart.ipynb?token=${server.token}`, { waitUntil: 'load' });
    await waitForKernelIdle();

    assert.equal((await page.locator('#kernel_indicator .kernel_indicator_name').innerText()).trim(), 'FaaSET',
      'the kernel indicator does not name FaaSET');
    const kernelName = await page.evaluate(() => window.Jupyter.notebook.kernel.name);
    assert.equal(kernelName, 'faaset');

    const codeCells = page.locator('#notebook-container .cell.code_cell');
    const count = await codeCells.count();
    assert.equal(count, 11, `quickstart.ipynb has ${count} code cells, the test expects 11`);
    assert.equal(await page.locator('#notebook-container .output_area').count(), 0, 'quickstart.ipynb is saved with outputs');

    await page.click('#celllink');
    await page.click('#run_all_cells > a');

    // every code cell has an execution count and the kernel went back to idle
    await page.waitForFunction(
      () => {
        const prompts = [...document.querySelectorAll('#notebook-container .code_cell .input_prompt')];
        return prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p.textContent));
      },
      null,
      { timeout: STEP_MS },
    ).catch(async (err) => {
      const prompts = await page.locator('#notebook-container .code_cell .input_prompt').allInnerTexts();
      throw new Error(`cells did not all finish: prompts ${JSON.stringify(prompts)} (${err.message})`);
    });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });

    // the notebook scrolls inside #site, so make the window tall enough to show it all
    const height = await page.evaluate(() => document.querySelector('#notebook').scrollHeight + 150);
    await page.setViewportSize({ width: 1200, height: Math.min(Math.max(height, 900), 8000) });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'notebook.png'), fullPage: true });

    const errors = await page.locator('#notebook-container .output_error').allInnerTexts();
    assert.deepEqual(errors, [], 'a cell shows an error');
    const prompts = await page.locator('#notebook-container .code_cell .input_prompt').allInnerTexts();
    assert.deepEqual(prompts.map((p) => p.replace(/\s+/g, '')), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => `In[${n}]:`));

    // 1: print
    assert.equal((await cellOutput(0).locator('.output_stdout').innerText()).trim(), 'Hello from FaaSET!');
    // 2: the value of the last expression, as Out[2]
    assert.equal((await cellOutput(1).locator('.output_text.output_result').innerText()).trim(), '55');
    assert.match(await cellOutput(1).locator('.output_prompt').innerText(), /Out\[2\]/);
    // 3: rich HTML from _repr_html_, rendered as a table (not as text)
    const table = cellOutput(2).locator('.output_html table.faaset-demo');
    assert.equal(await table.count(), 1, `no rendered HTML table; cell 3 shows: ${await cellOutput(2).innerText()}`);
    assert.equal(await table.locator('tr').count(), 3);
    assert.match(await table.innerText(), /resize\s+48 ms/);
    // 4: a display updated in place: one output, now 'step 2'
    const display = await cellOutput(3).locator('.output_subarea').allInnerTexts();
    assert.deepEqual(display.map((t) => t.trim()), ["'step 2'"], 'the display_id output was not updated in place');
    // 5: SVG from _repr_svg_, five bars
    const svg = cellOutput(4).locator('.output_svg svg');
    assert.equal(await svg.count(), 1, `no SVG element; cell 5 shows: ${await cellOutput(4).innerText()}`);
    assert.equal(await svg.locator('rect').count(), 5);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 50, `the SVG is not drawn at its size: ${JSON.stringify(box)}`);
    // 6: stderr, styled as such
    assert.equal((await cellOutput(5).locator('.output_stderr').innerText()).trim(), 'this line goes to stderr');
    assert.equal(await cellOutput(5).locator('.output_stdout').count(), 0);
    // 7-11: a cloud function deployed to the local platform, called, changed, invoked and listed
    assert.match((await cellOutput(6).locator('.output_stdout').innerText()).trim(), /^local: deployed hello \([0-9a-f]{8}\) in [0-9.]+ ms$/);
    assert.equal((await cellOutput(7).locator('.output_stdout').innerText()).trim(),
      'Hello Bob! ran on FaaSET Local with 256 MB\nnew container: 1 then 0');
    assert.match((await cellOutput(8).locator('.output_stdout').innerText()).trim(), /^local: updated code of hello /);
    assert.match(await cellOutput(9).innerText(), /"message": "Hi Eve!"/);
    assert.equal(await cellOutput(10).locator('.output_html table').count(), 1, 'no %functions table');

    assert.ok(await page.locator('#kernel_indicator_icon.kernel_idle_icon').isVisible(), 'kernel indicator is not idle');
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });

  it('saves the outputs into the notebook file', async () => {
    await page.click('#filelink');
    await page.click('#save_checkpoint > a');
    await page.waitForFunction(() => window.Jupyter.notebook.dirty === false, null, { timeout: STEP_MS });
    const saved = await server.api('GET', '/api/contents/quickstart.ipynb?content=1');
    const cells = saved.content.cells.filter((c) => c.cell_type === 'code');
    const outputs = cells.map((c) => c.outputs);
    const text = (value) => (Array.isArray(value) ? value.join('') : value);
    assert.equal(text(outputs[0][0].text), 'Hello from FaaSET!\n');
    assert.equal(outputs[1][0].output_type, 'execute_result');
    assert.equal(text(outputs[1][0].data['text/plain']), '55');
    assert.match(text(outputs[2][0].data['text/html']), /<table class="faaset-demo">/);
    assert.equal(outputs[3].length, 1, JSON.stringify(outputs[3]));
    assert.equal(text(outputs[3][0].data['text/plain']), "'step 2'");
    assert.match(text(outputs[4][0].data['image/svg+xml']), /^<svg/);
    assert.equal(outputs[5][0].name, 'stderr');
    assert.ok(outputs.flat().every((o) => o.output_type !== 'error'), 'an error output was saved');
  });

  it('draws the charts of an experiment with two memory settings', async () => {
    await page.evaluate(() => {
      const nb = window.Jupyter.notebook;
      const cell = nb.insert_cell_at_bottom('code');
      cell.set_text('%%experiment hello\n{"runs": 6, "threads": 3, "memorySettings": [256, 512], ' +
        '"payloads": [{"name": "Ada"}], "experimentName": "browser-charts"}');
      nb.select(nb.find_cell_index(cell));
      cell.execute();
    });
    const last = page.locator('#notebook-container .cell.code_cell').last();
    const svgs = last.locator('.output_svg svg');
    await page.waitForFunction(
      () => {
        const cells = document.querySelectorAll('#notebook-container .cell.code_cell');
        return cells[cells.length - 1].querySelectorAll('.output_svg svg').length === 3;
      },
      null,
      { timeout: STEP_MS },
    ).catch(async (err) => {
      throw new Error(`the experiment cell did not show three charts: ${await last.innerText()} (${err.message})`);
    });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });
    // SVG elements have no innerText: their text content is what they show
    const titles = await svgs.locator('text[font-weight="bold"]').allTextContents();
    assert.ok(titles.some((t) => t.startsWith('Runs in flight over time')), JSON.stringify(titles));
    const drawn = (await last.locator('.output_svg').allTextContents()).join('\n');
    assert.match(drawn, /hello on local · 12 runs · 3 threads · memory 256, 512 MB/);
    assert.match(drawn, /256 MB[\s\S]*512 MB/, 'the legend does not name both memory settings');
    assert.doesNotMatch(drawn, /\de[+-]\d/, 'a tick label in scientific notation');
    for (let i = 0; i < 3; i += 1) {
      const box = await svgs.nth(i).boundingBox();
      assert.ok(box && box.width > 300 && box.height > 150, `chart ${i} is not drawn at its size: ${JSON.stringify(box)}`);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await last.scrollIntoViewIfNeeded();
    await last.screenshot({ path: path.join(ARTIFACTS, 'experiment-charts.png') });
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });

  it('answers input() in the box the notebook shows', async () => {
    await page.evaluate(() => {
      const nb = window.Jupyter.notebook;
      const cell = nb.insert_cell_at_bottom('code');
      cell.set_text("name = input('Your name: ')\nprint('hi', name)");
      nb.select(nb.find_cell_index(cell));
      cell.execute();
    });
    const box = page.locator('input.raw_input');
    await box.waitFor({ state: 'visible', timeout: STEP_MS });
    assert.match(await page.locator('.raw_input_prompt').innerText(), /Your name:/);
    await box.fill('Ada');
    await box.press('Enter');
    const last = page.locator('#notebook-container .cell.code_cell').last();
    await last.locator('.output_stdout', { hasText: 'hi Ada' }).waitFor({ timeout: STEP_MS });
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: STEP_MS });
    assert.match(await last.locator('.output_area').innerText(), /Your name: Ada[\s\S]*hi Ada/);
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });
});
