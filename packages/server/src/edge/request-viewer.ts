import { credentialsFromHeaders, resolveViewer, type Services, type Viewer } from '../context.ts';

/**
 * The viewer of an HTTP request, resolved once per request: the context factory and the checks
 * that run before the context exists (introspection and suggestions before validation) share it.
 */
const memo = new WeakMap<Request, Promise<Viewer>>();

export function viewerOfRequest(services: Services, request: Request): Promise<Viewer> {
  let v = memo.get(request);
  if (!v) {
    v = resolveViewer(
      services,
      credentialsFromHeaders((h) => request.headers.get(h)),
    );
    memo.set(request, v);
  }
  return v;
}
