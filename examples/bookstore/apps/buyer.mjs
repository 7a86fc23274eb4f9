// The buyer: browses and buys all the time, and says which version served it.
import { call, every } from './mesh-http.mjs';

const seen = { v1: 0, v2: 0, other: 0 };
every(50, async () => {
  const res = await call('GET', 'http://bookstore.bookstore/books');
  const version = res.status === 200 ? JSON.parse(res.body).version : 'other';
  seen[version in seen ? version : 'other']++;
  if (Math.random() < 0.2) await call('POST', `http://bookstore.bookstore/books/${1 + Math.floor(Math.random() * 3)}/buy`);
});
setInterval(() => {
  const total = seen.v1 + seen.v2 + seen.other;
  console.log(`buyer: last 10s ${total} requests, v1 ${seen.v1}, v2 ${seen.v2}, failed ${seen.other}`);
  seen.v1 = seen.v2 = seen.other = 0;
}, 10_000);
