/**
 * The user's modules loaded with `--import` (file: URLs, in load order). Worker threads
 * import them too, so envs the user registered can be made there.
 */
const modules: string[] = [];

export function recordUserModule(url: string): void {
  if (!modules.includes(url)) modules.push(url);
}

export function userModules(): string[] {
  return [...modules];
}
