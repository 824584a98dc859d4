/** Action ids (`DEPLOYMENT/PACKAGE@VERSION/OP`, DESIGN §2) split into their parts. */

export interface ActionIdParts {
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly op: 'install' | 'uninstall';
}

const shape = /^([^/@]+)\/([^/@]+)@([^/]+)\/(install|uninstall)$/;

/** The parts of an action id, or undefined when it has another shape. */
export function parseActionId(actionId: string): ActionIdParts | undefined {
  const m = shape.exec(actionId);
  if (!m) return undefined;
  return { deployment: m[1]!, package: m[2]!, version: m[3]!, op: m[4] as 'install' | 'uninstall' };
}
