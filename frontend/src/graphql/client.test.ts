import { describe, expect, it, vi } from 'vitest';
import { GraphQLRequestError, request, type TypedDocument } from './client';

const doc = 'query Q($code: String!) { exam(code: $code) { title } }' as unknown as TypedDocument<
  { exam: { title: string } | null },
  { code: string }
>;

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

async function failure(promise: Promise<unknown>): Promise<GraphQLRequestError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphQLRequestError);
  return err as GraphQLRequestError;
}

describe('request', () => {
  it('posts JSON with the session cookie and returns data', async () => {
    const fetch = vi.fn(async () => jsonResponse({ data: { exam: { title: 'Demo' } } }));
    await expect(request(doc, { code: 'DEMO-101' }, { fetch })).resolves.toEqual({ exam: { title: 'Demo' } });

    expect(fetch).toHaveBeenCalledOnce();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/graphql');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ query: String(doc), variables: { code: 'DEMO-101' } });
  });

  it('throws the server message and codes, keeping partial data', async () => {
    const fetch = vi.fn(async () =>
      jsonResponse({
        data: { me: null },
        errors: [{ message: 'Your session has ended.', path: ['exam'], extensions: { code: 'UNAUTHENTICATED' } }],
      }),
    );
    const err = await failure(request(doc, { code: 'X' }, { fetch }));
    expect(err.kind).toBe('graphql');
    expect(err.message).toBe('Your session has ended.');
    expect(err.codes).toEqual(['UNAUTHENTICATED']);
    expect(err.hasCode('UNAUTHENTICATED')).toBe(true);
    expect(err.hasCode('NOT_FOUND')).toBe(false);
    expect(err.data).toEqual({ me: null });
  });

  it('reads GraphQL errors from a non-2xx response', async () => {
    const fetch = vi.fn(async () =>
      jsonResponse({ errors: [{ message: 'That exam code is not valid.', extensions: { code: 'INVALID' } }] }, 422),
    );
    const err = await failure(request(doc, { code: '' }, { fetch }));
    expect(err.kind).toBe('graphql');
    expect(err.status).toBe(422);
    expect(err.message).toBe('That exam code is not valid.');
    expect(err.codes).toEqual(['INVALID']);
  });

  it('reports an HTTP failure without a GraphQL body generically', async () => {
    const fetch = vi.fn(async () => new Response('<h1>Bad Gateway</h1>', { status: 502 }));
    const err = await failure(request(doc, { code: 'X' }, { fetch }));
    expect(err.kind).toBe('http');
    expect(err.status).toBe(502);
    expect(err.codes).toEqual([]);
    expect(err.message).toMatch(/try again/i);
  });

  it('treats a 200 without data as a failure', async () => {
    const fetch = vi.fn(async () => jsonResponse({}));
    expect((await failure(request(doc, { code: 'X' }, { fetch }))).kind).toBe('http');
  });

  it('uses a generic message when the server sends an empty one', async () => {
    const fetch = vi.fn(async () => jsonResponse({ errors: [{ message: '', extensions: { code: 'INTERNAL' } }] }));
    const err = await failure(request(doc, { code: 'X' }, { fetch }));
    expect(err.message).toMatch(/try again/i);
    expect(err.codes).toEqual(['INTERNAL']);
  });

  it('turns a network failure into a connection message', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const err = await failure(request(doc, { code: 'X' }, { fetch }));
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/connection/i);
  });

  it('lets an abort through untouched', async () => {
    const controller = new AbortController();
    controller.abort();
    const fetch = vi.fn(async () => {
      throw new DOMException('The operation was aborted.', 'AbortError');
    });
    await expect(request(doc, { code: 'X' }, { fetch, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
