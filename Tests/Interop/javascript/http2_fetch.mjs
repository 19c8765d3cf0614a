// A `fetch` for Node over node:http2, enough for the gRPC-Web runtime: Node's own fetch speaks HTTP/1.1 only,
// and the node serves gRPC-Web on its HTTP/2 listener as browsers reach it. Requests are POSTs with a body;
// the response body streams as DATA frames arrive.
import http2 from "node:http2";

/**
 * A fetch-compatible function whose requests go to `origin` over one HTTP/2 connection.
 * @param {string} origin e.g. "https://127.0.0.1:8443"
 * @param {import("node:http2").SecureClientSessionOptions} [options] e.g. { ca, servername }
 */
export function http2Fetch(origin, options = {}) {
  let session;
  const connect = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(origin, options);
      session.on("error", () => {});
    }
    return session;
  };

  const fetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const headers = { ":method": init.method ?? "GET", ":path": target.pathname + target.search };
      for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
      let stream;
      try {
        stream = connect().request(headers);
      } catch (error) {
        reject(error);
        return;
      }
      const abortError = () => new DOMException("the request was aborted", "AbortError");
      let bodyController;
      const onAbort = () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        bodyController?.error(abortError());
        reject(abortError());
      };
      if (init.signal?.aborted) return onAbort();
      init.signal?.addEventListener("abort", onAbort, { once: true });

      stream.on("response", (responseHeaders) => {
        const status = Number(responseHeaders[":status"]);
        const plain = new Headers();
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (name.startsWith(":")) continue;
          for (const item of Array.isArray(value) ? value : [value]) plain.append(name, String(item));
        }
        const body = new ReadableStream({
          start(controller) {
            bodyController = controller;
            stream.on("data", (chunk) => {
              try {
                controller.enqueue(new Uint8Array(chunk));
              } catch {
                // The reader cancelled the body; the stream is being closed.
              }
            });
            stream.on("end", () => {
              init.signal?.removeEventListener("abort", onAbort);
              try {
                controller.close();
              } catch {}
            });
            stream.on("error", (error) => {
              try {
                controller.error(error);
              } catch {}
            });
          },
          cancel() {
            stream.close(http2.constants.NGHTTP2_CANCEL);
          },
        });
        resolve(new Response(status === 204 || status === 304 ? null : body, { status, headers: plain }));
      });
      stream.on("error", reject);
      if (init.body === undefined || init.body === null) stream.end();
      else stream.end(typeof init.body === "string" ? init.body : Buffer.from(init.body));
    });

  fetch.close = () => session?.close();
  return fetch;
}
