// PLACEHOLDER (being written): the entry trampoline between host and guest.
export function createRuntime(options) { return function entry(cmd) {}; }
