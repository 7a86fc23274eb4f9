// The warehouse: restocks books when the bookstore sells them.
import { serve } from './mesh-http.mjs';

let restocked = 0;
serve((req, _body, reply) => {
  if (req.method === 'POST' && /^\/restock\/\d+$/.test(req.url ?? '')) return reply(200, { restocked: ++restocked });
  return reply(404, { error: 'no such page' });
});
