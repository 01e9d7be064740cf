// Streams a large generated body without holding it in memory: one 64 KiB chunk per pull.
export function streamBytes(megabytes) {
  const chunk = new TextEncoder().encode('0123456789abcdef'.repeat(4096));
  const total = megabytes * 16;
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      controller.enqueue(chunk);
      sent++;
    },
  });
}
