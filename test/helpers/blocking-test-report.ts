/**
 * Preloaded (`node --import`) by test/run-all.sh into the test runner's processes. In a test
 * file's own process, stdout is the pipe its results reach the runner through; it becomes
 * blocking, so --test-force-exit's exit cannot drop results still buffered in it. Without this,
 * the runner counted fewer tests than ran, with exit 0, and a failed test's name and error could be
 * lost with them (nodejs/node#64833): two of our CI logs were 6 and 11 tests short. Other
 * processes (the runner itself, anything a test starts) are left as they are.
 */
const testFile = process.env.NODE_TEST_CONTEXT?.startsWith('child') && /\.test\.js$/.test(process.argv[1] ?? '');
const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle;
if (testFile) handle?.setBlocking?.(true);
