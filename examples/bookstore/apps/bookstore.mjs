// The bookstore: lists books and sells them, asking the warehouse to restock.
// VERSION (v1 or v2) is in every answer, so callers can see which version served them.
import { call, serve } from './mesh-http.mjs';

const version = process.env.VERSION ?? 'v1';
const books = [{ id: 1, title: 'The Mesh Handbook' }, { id: 2, title: 'Sidecars at Sea' }, { id: 3, title: 'Splitting Traffic' }];
let sold = 0;

serve(async (req, _body, reply) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/healthz') return reply(200, { ok: true });
  if (req.method === 'GET' && url.startsWith('/books')) return reply(200, { version, books });
  const buy = /^\/books\/(\d+)\/buy$/.exec(url);
  if (req.method === 'POST' && buy) {
    sold++;
    const restock = await call('POST', `http://warehouse.bookstore/restock/${buy[1]}`, { version });
    return reply(200, { version, bought: Number(buy[1]), sold, restocked: restock.status === 200 });
  }
  return reply(404, { version, error: 'no such page' });
});
