// ssh2's own modules that ssh2-cpu.ts patches; imported by path so the bundle holds one copy of each
declare module 'ssh2/lib/protocol/handlers.js' {
  const handlers: unknown;
  export default handlers;
}
declare module 'ssh2/lib/protocol/utils.js' {
  const utils: unknown;
  export default utils;
}
