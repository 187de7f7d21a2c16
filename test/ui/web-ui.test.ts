/**
 * The Temporal Web UI as an operator uses it (docs/operations.md, docs/local-mode.md): bring up the
 * local stack with `npm run dev`'s own functions (free ports), register the demo account and a
 * second one, open the workflow list filtered by `CronofyAccountId = "demo"` in headless Chromium,
 * find the demo account's workflow (and only it), then its search attributes.
 * Screenshots: test-artifacts/web-ui.png, test-artifacts/web-ui-search-attributes.png.
 *
 * Needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`), driven by
 * playwright-core; skipped with a message when it is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevStack, startDevStack } from '../../scripts/dev.js';
import { repoRoot } from '../deploy/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `[web-ui.test] skipped: no Chromium at ${CHROMIUM} (install it with: apt-get install -y chromium)`,
  );
}
const artifacts = path.join(repoRoot, 'test-artifacts');

/** The text as rendered (Playwright's `innerText`: laid out like the screen, hidden parts left out). */
// biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator, not a DOM node.
const visibleText = (locator: Locator): Promise<string> => locator.innerText();

describe.skipIf(!haveChromium)(`Temporal Web UI (headless ${CHROMIUM})`, () => {
  let stack: DevStack;
  let browser: BrowserContext;
  let page: Page;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cronofy-sync-webui-'));

  beforeAll(async () => {
    stack = await startDevStack({
      dataDir: path.join(tmp, 'dev'),
      freePorts: true,
      progress: () => undefined,
    });
    // A second account, so that the filter has something to leave out.
    const other = stack.sim.createAccount({ accountId: 'other', calendarIds: ['cal_other'] });
    const res = await fetch(`${stack.serviceUrl}/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.secrets.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        accountId: 'other',
        accessToken: other.accessToken,
        refreshToken: other.refreshToken,
      }),
    });
    expect(res.status).toBe(201);

    browser = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1440, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    mkdirSync(artifacts, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the demo account workflow when filtered by CronofyAccountId, with its search attributes', async () => {
    const listUrl = stack.workflowListUrl('demo');
    expect(listUrl).toBe(
      `${stack.temporal.uiUrl}/namespaces/default/workflows?query=CronofyAccountId%3D%22demo%22`,
    );
    const demoLink = page.getByRole('link', { name: 'cronofy-account:demo', exact: true });
    // Visibility is eventually consistent, and the UI renders slowly on a busy machine: wait for
    // the row, reloading now and then.
    await page.goto(listUrl);
    const deadline = Date.now() + 90_000;
    while (!(await demoLink.isVisible())) {
      if (Date.now() > deadline) {
        await page.screenshot({ path: path.join(artifacts, 'web-ui-failure.png'), fullPage: true });
        throw new Error(`no cronofy-account:demo row at ${listUrl} (see test-artifacts/web-ui-failure.png)`);
      }
      await demoLink.waitFor({ timeout: 10_000 }).catch(() => page.reload());
    }
    // The filter is applied (shown as a chip) and leaves the other account's workflow out.
    await expect.poll(() => visibleText(page.locator('body'))).toContain('CronofyAccountId = "demo"');
    expect(await page.getByRole('link', { name: 'cronofy-account:other', exact: true }).count()).toBe(0);
    const row = page.getByRole('row').filter({ has: demoLink });
    expect(await visibleText(row)).toMatch(/running/i);
    expect(await visibleText(row)).toContain('accountSync');
    await page.screenshot({ path: path.join(artifacts, 'web-ui.png'), fullPage: true });

    // The workflow's own page, "Search Attributes" tab: what the workflow set.
    await demoLink.click();
    await page.waitForURL(/\/workflows\/cronofy-account%3Ademo\/[0-9a-f-]+\//);
    await page.getByText('Search Attributes', { exact: true }).first().click();
    await expect
      .poll(() => visibleText(page.locator('body')), { timeout: 30_000 })
      .toContain('"CronofyAccountId": "demo"');
    const text = await visibleText(page.locator('body'));
    expect(text).toContain('"CronofySyncState": "active"');
    expect(text).toMatch(/"CronofyLastSyncAt": "\d{4}-\d\d-\d\dT/);
    await page.screenshot({ path: path.join(artifacts, 'web-ui-search-attributes.png'), fullPage: true });

    // The unfiltered list has both accounts: the filter did the work above.
    await page.goto(`${stack.temporal.uiUrl}/namespaces/default/workflows`);
    await page.getByRole('link', { name: 'cronofy-account:other', exact: true }).waitFor();
  }, 180_000);
});
