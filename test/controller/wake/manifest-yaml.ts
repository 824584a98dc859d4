// YAML builders shared by the wake tests: one Package and one Deployment document.

export function packageYaml(name: string, version: string, artifact: string, lifecycle: string[]): string {
  return `apiVersion: ferry/v1
kind: Package
metadata: {name: ${name}}
spec:
  version: "${version}"
  artifact: {${artifact}}
${lifecycle.map((line) => `  ${line}\n`).join('')}`;
}

export function deploymentYaml(name: string, pkg: string, version: string, hosts: string[], extra: string): string {
  return `apiVersion: ferry/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  packages: [{name: ${pkg}, version: "${version}", state: present}]
  targets: {hosts: [${hosts.join(', ')}]}
  ${extra}
`;
}
