/**
 * Finds the Chromium the HTML report's browser test drives (Debian's `chromium` package:
 * playwright's own browser download is not available here). ensure-chromium.mjs looks in the
 * same places, in the same order, and installs it when it finds none.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT =
  'install it with `node packages/scenario-runner/test/browser/ensure-chromium.mjs` (as root; it runs apt-get install -y chromium), or set CHROMIUM_PATH to a Chromium executable';

const FIXED = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const NAMES = ['chromium', 'chromium-browser'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH, else /usr/bin/chromium, /usr/bin/chromium-browser, else the first `chromium` or `chromium-browser` on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env, fixed: readonly string[] = FIXED): string | undefined {
  const explicit = env['CHROMIUM_PATH'];
  if (explicit !== undefined && explicit !== '') {
    if (!executable(explicit)) throw new Error(`CHROMIUM_PATH is ${explicit}, which is not an executable file; ${INSTALL_HINT}`);
    return explicit;
  }
  for (const path of fixed) if (executable(path)) return path;
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The Chromium to launch, or an error that says how to install one. */
export function requireChromium(env: NodeJS.ProcessEnv = process.env, fixed: readonly string[] = FIXED): string {
  const found = findChromium(env, fixed);
  if (found === undefined) {
    throw new Error(
      `expected Chromium for the HTML report's browser test, found none (CHROMIUM_PATH unset, no ${fixed.join(' or ')}, no ${NAMES.join(' or ')} on PATH): ${INSTALL_HINT}`,
    );
  }
  return found;
}
