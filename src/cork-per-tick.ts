/**
 * Writes made in one tick go out together: the stream is corked on the tick's first write and
 * uncorked once the tick's work is done, before any timer or I/O runs. Call the returned function
 * before each write. Same bytes, same order, no waiting for anything but the current tick.
 */
export function corkPerTick(stream: { cork(): void; uncork(): void }): () => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    stream.cork();
    process.nextTick(uncork);
  };
}
