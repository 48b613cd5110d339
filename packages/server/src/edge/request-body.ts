import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The request body limit of /graphql (MAX_REQUEST_BYTES): HTTP 413 PAYLOAD_TOO_LARGE above it,
 * HTTP 400 for a Content-Length that is not one non-negative integer; nothing is read or run.
 *
 * Yoga's own limit (maxRequestBodySize, switched off in server/yoga.ts for this one) pipes every
 * body through a counting TransformStream, even when Content-Length already bounds it: Node's
 * HTTP parser delivers no more than Content-Length bytes, and refuses a request that sends both
 * Content-Length and Transfer-Encoding. That stream, its pipeline and the AbortError it
 * constructs when the pipeline closes were about 6 % of a small compiled read's CPU
 * (bench/README.md, "Compiled reads"). So the count runs only for bodies without a
 * Content-Length (chunked); with one, the header alone is checked. Hand-written because Yoga
 * exports no way to keep its check without its stream.
 */
export function requestBodyLimitPlugin(maxBytes: number): Plugin {
  const tooLarge = () =>
    new GraphQLError(`The request body is larger than ${maxBytes} bytes (MAX_REQUEST_BYTES)`, {
      extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes, http: { status: 413 } },
    });
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length != null) {
        if (!/^\d+$/.test(length)) {
          throw new GraphQLError('The Content-Length header is not a byte count', {
            extensions: { code: 'VALIDATION_FAILED', http: { status: 400 } },
          });
        }
        if (Number(length) > maxBytes) throw tooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        let read = 0;
        // Node's own ReadableStream pipes only into Node's TransformStream, the ponyfill's into the ponyfill's.
        const Transform = req.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
        const body = req.body?.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > maxBytes) controller.error(tooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body,
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}
