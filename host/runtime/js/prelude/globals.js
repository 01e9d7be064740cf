// PLACEHOLDER (being written): installs the Web APIs as globals.
export function installGlobals(g) {}
