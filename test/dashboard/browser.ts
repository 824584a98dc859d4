/**
 * Debian's chromium driven by playwright-core. Missing chromium: skipped with a message, or a
 * failure when `CI=true` (CI installs it; a skipped browser suite there would hide a broken dashboard).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Launches chromium, or skips the suite (fails it under CI=true) when it is not installed. */
export async function launchOrSkip(ctx: Mocha.Context): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    if (process.env['CI'] === 'true') throw new Error(`${chromiumPath} is missing and CI=true: install it (apt-get install -y chromium); .ci/run does`);
    console.log(`      skipping the browser tests: ${chromiumPath} is missing (apt-get install -y chromium)`);
    ctx.skip();
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that fails the test on any script error or console error of the dashboard. */
export async function newPage(browser: Browser, viewport = { width: 1360, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Asia/Tokyo', reducedMotion: 'reduce' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A refused token is answered 401 on purpose; chromium logs every failed fetch as an error.
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return { page, errors };
}

/** Saves a screenshot under `test-output/` (or another folder of the checkout). */
export async function screenshot(page: Page, file: string, fullPage = true): Promise<void> {
  const path = join(repoRoot, file);
  await mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage });
}

/** Signs in through the form with `token`. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
}

/**
 * Waits until `expression` (evaluated in the page) is truthy. Polls with `evaluate` rather than
 * `waitForFunction`, which needs `eval` and so is refused by the dashboard's CSP.
 */
export async function until(page: Page, expression: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(expression)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Evaluates a JavaScript expression in the page (a string: this project compiles without the DOM types). */
export async function js<T = unknown>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}
